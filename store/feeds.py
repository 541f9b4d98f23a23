"""Health of the data feeds (demo feed, brokers…), for /healthz and stale badges."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.db import utcnow
from store.models import Feed


def _feed(s: Session, name: str, interval_s: float | None) -> Feed:
    feed = s.get(Feed, name)
    if feed is None:
        feed = Feed(name=name, interval_s=interval_s or 60.0)
        s.add(feed)
    elif interval_s:
        feed.interval_s = interval_s
    return feed


def feed_ok(s: Session, name: str, interval_s: float | None = None, at: datetime | None = None) -> None:
    feed = _feed(s, name, interval_s)
    feed.status, feed.last_error = "ok", ""
    feed.last_ok_at = feed.last_attempt_at = at or utcnow()


def feed_error(s: Session, name: str, error: str, interval_s: float | None = None) -> None:
    feed = _feed(s, name, interval_s)
    feed.status, feed.last_error = "error", error[:2000]
    feed.last_attempt_at = utcnow()


def feed_states(s: Session, now: datetime | None = None) -> dict[str, dict]:
    """name -> state; a feed is stale when nothing good arrived for 3 intervals."""
    now = now or utcnow()
    out = {}
    for feed in s.scalars(select(Feed).order_by(Feed.name)):
        age = (now - feed.last_ok_at).total_seconds() if feed.last_ok_at else None
        stale = age is None or age > 3 * max(feed.interval_s, 1.0)
        out[feed.name] = {
            "status": "stale" if (stale and feed.status == "ok") else feed.status,
            "last_ok_at": feed.last_ok_at.isoformat() if feed.last_ok_at else None,
            "age_seconds": round(age, 1) if age is not None else None,
            "interval_seconds": feed.interval_s,
            "last_error": feed.last_error or None,
        }
    return out
