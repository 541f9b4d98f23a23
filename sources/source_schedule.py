"""When and how a registered source (broker or CKAN site) is asked: its client, its interval within
the bounds staff may set, the back-off after failures, and recording a failed attempt.

Shared by the poller (broker_poll.py), the CKAN reader (ckan.py) and the staff service
(source_config.py), none of which import each other for it."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sources.ngsi import NgsiClient
from store.brokers import Source
from store.db import Database
from store.feeds import feed_error

log = logging.getLogger("sources.broker_poll")
MIN_INTERVAL_S = 10.0
MAX_INTERVAL_S = 7 * 24 * 3600.0  # a week: "inf" or 1e308 would stop the schedule
MAX_BACKOFF_S = 15 * 60


def client_for(source: Source, **kw) -> NgsiClient:
    return NgsiClient(source.base_url, service=source.service, servicepath=source.servicepath,
                      token=source.token, token_header=source.token_header, guarded=not source.from_env, **kw)


def interval_s(source: Source) -> float:
    """The source's interval within the bounds staff may set (a row stored before they were checked
    may hold inf or 1e308, which no schedule can add to a time)."""
    try:
        v = float(source.interval_s)
    except (TypeError, ValueError, OverflowError):
        return 60.0
    return min(max(v, MIN_INTERVAL_S), MAX_INTERVAL_S) if v == v else 60.0


def backoff_s(source: Source) -> float:
    every = interval_s(source)
    return min(every * (2 ** min(max((source.failures or 0) - 1, 0), 30)), max(MAX_BACKOFF_S, every))


def record_failure(db: Database, source_id: int, now: datetime, message: str) -> dict:
    """A failed attempt: counted, the next one waits longer, the feed shows the error."""
    log.warning("source %s: %s", source_id, message)
    with db.session() as s:
        src = s.get(Source, source_id)
        src.failures = (src.failures or 0) + 1
        src.next_poll_at = now + timedelta(seconds=backoff_s(src))
        feed_error(s, src.feed_name, message, interval_s=interval_s(src))
    return {"error": message}
