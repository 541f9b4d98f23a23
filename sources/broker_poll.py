"""Polling brokers on a schedule, and the one-broker configuration from the environment.

A poll fetches every page first (outside any transaction), then writes everything in one
transaction. A broker that is down, slow, answers 4xx/5xx or invalid JSON leaves the stored data
as it was; the source's feed is marked in error (so /healthz and the map show it stale with its
age) and the next attempt waits longer each time (interval × 2ⁿ, at most MAX_BACKOFF_S).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from settings import Settings
from sources.broker_ingest import forward_fixes, map_entities, note_rejected, store_items, usable
from sources.ngsi import NgsiClient, NgsiError
from sources.observed import sift
from sources.smart_models import UNDERSTOOD_TYPES
from sources.source_schedule import (  # noqa: F401  (client_for, interval_s, backoff_s: also used from here)
    MAX_BACKOFF_S,
    backoff_s,
    client_for,
    interval_s,
    record_failure,
)
from store.brokers import Source, due_sources, sources
from store.db import Database, utcnow
from store.feeds import feed_ok
from store.usage import count_requests

log = logging.getLogger(__name__)
FEED_JOB = "broker-poll"
JOB_TICK_S = 5.0


def poll_source(db: Database, source_id: int, now: datetime | None = None,
                make_client: Callable[[Source], NgsiClient] = client_for) -> dict:
    """Poll one source now. Returns counts, or {"error": text} when the broker failed."""
    now = now or utcnow()
    with db.session() as s:
        source = s.get(Source, source_id)
        if source is None:
            return {"error": "no such source"}
        s.expunge(source)
    if source.kind == "ckan":
        from sources.ckan import poll_ckan_source

        return poll_ckan_source(db, source, now)
    try:
        with make_client(source) as client:
            count_requests(db, client, source)  # usage per organisation: requests made to its brokers
            entities = client.list_entities(source.entity_type or None, q=source.q, georel=source.georel,
                                            geometry=source.geometry, coords=source.coords,
                                            attrs=source.attrs or None, key_values=source.key_values)
            unread = list(getattr(client, "rejected", []) or [])
    except (NgsiError, ValueError) as exc:
        return record_failure(db, source_id, now, str(exc))
    # broken entities are skipped one by one, never the whole poll
    total = len(entities) + len(unread)
    entities, bad_location = usable(entities)
    items, unreadable = map_entities(entities, source.target, source.attrs or None)
    items, rejected = sift(items, now)  # implausible times and non-finite values stay out
    rejected = unread + bad_location + unreadable + rejected
    if rejected:
        log.warning("source %s: %d items refused (%s)", source_id, len(rejected),
                    ", ".join(sorted({r["reason"] for r in rejected})))
    try:
        with db.session() as s:
            src = s.get(Source, source_id)
            counts = store_items(s, src, items, now, full=True)
            src.failures = 0
            src.next_poll_at = now + timedelta(seconds=interval_s(src))
            feed_ok(s, src.feed_name, interval_s=interval_s(src), at=now)
            note_rejected(s, src, rejected)
    except Exception as exc:  # bad data from the broker: nothing written, reported like an outage
        log.exception("source %s: could not store the poll", source_id)
        return record_failure(db, source_id, now, f"{type(exc).__name__}: {exc}")
    fixes = counts.pop("_fixes", [])
    try:
        forwarded = forward_fixes(db, fixes, now)
    except Exception as exc:  # the readings and points are stored; report the fixes' trouble
        log.exception("source %s: snow-removal fix ingest failed", source_id)
        forwarded = {"error": f"{type(exc).__name__}: {exc}"}
    if forwarded is not None:
        counts["snow_fixes"] = forwarded
    counts["entities"] = total
    if rejected:
        counts["rejected"] = rejected[:100]
        counts["rejected_count"] = len(rejected)
    return counts


def poll_due(db: Database, now: datetime | None = None, make_client=client_for) -> dict[int, dict]:
    """Poll every due source; one that fails in any way never stops the others."""
    now = now or utcnow()
    with db.session() as s:
        ids = [src.id for src in due_sources(s, now)]
    out = {}
    for sid in ids:
        try:
            out[sid] = poll_source(db, sid, now, make_client)
        except Exception as exc:
            log.exception("source %s: poll failed", sid)
            try:
                out[sid] = record_failure(db, sid, now, f"{type(exc).__name__}: {exc}")
            except Exception:
                log.exception("source %s: could not record the failure", sid)
                out[sid] = {"error": f"{type(exc).__name__}"}
    return out


class BackgroundPoller:
    """The job runner's hook: polls due sources in a thread of their own, so a slow broker
    (timeouts × retries) never holds up the other jobs (alert checks, mail, demo feed)."""

    def __init__(self, db: Database):
        self.db = db
        self._thread: threading.Thread | None = None

    def __call__(self) -> bool:
        if self._thread is not None and self._thread.is_alive():
            return False  # the previous round is still waiting on a broker
        self._thread = threading.Thread(target=self._run, name="broker-poll", daemon=True)
        self._thread.start()
        return True

    def _run(self) -> None:
        try:
            poll_due(self.db, utcnow())
        except Exception:
            log.exception("broker poll round failed")

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


def ensure_env_sources(db: Database, settings: Settings) -> list[int]:
    """With ORION_URL set: one source per Smart Data Model type we understand (idempotent)."""
    if not settings.orion_url:
        return []
    ids = []
    with db.session() as s:
        existing = {src.entity_type: src for src in sources(s) if src.from_env}
        for entity_type in UNDERSTOOD_TYPES:
            src = existing.get(entity_type)
            if src is None:
                src = Source(name=f"Orion {entity_type}", kind="orion", entity_type=entity_type, from_env=True,
                             target="auto", layer_prefix="orion")
                s.add(src)
            src.base_url = settings.orion_url
            src.service = settings.fiware_service
            src.servicepath = settings.fiware_servicepath or "/"
            src.token = settings.orion_token
            src.interval_s = settings.orion_interval_s
            src.enabled = True
            s.flush()
            ids.append(src.id)
    return ids
