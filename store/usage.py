"""Use of the platform per organisation and month (JST), for sharing its costs.

Two kinds of figures, both kept in one table (`usage_counts`, one row per month, organisation,
metric and key):

- counted (`COUNTED`): public map and API requests served per layer, dashboard views, page
  views of each organisation's portal (`/o/<code>`, keyed by the code), requests made to brokers
  and CKAN sites. They are added up in memory (`count(db, …)`: a dict increment
  under a lock, no database work on the request) and written every `FLUSH_S` seconds by a thread
  of each process (`flush(db)`): one `UPDATE … SET value = value + n` per key, so any number of
  web workers add up correctly. At most `FLUSH_S` seconds of counts are lost when a process dies.
- measured (`MEASURED`): layers and features held, storage bytes, readings ingested in the month,
  alert mails sent in the month, active staff accounts. `snapshot(s)` measures them for the
  current month (the `usage` job, and the first look at a month that has none yet); a past month
  keeps the last values measured in it.

Organisation 0 stands for data of no organisation (the shipped layers and demo feeds).
"""
from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint, cast, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.db import Base, UTCDateTime, utcnow
from timezones import JST

log = logging.getLogger(__name__)

COUNTED = ("map_requests", "api_requests", "dashboard_views", "portal_views", "source_requests")
MEASURED = ("layers", "features", "storage_bytes", "readings", "alert_mails", "staff_accounts")
METRICS = ("layers", "features", "storage_bytes", "readings", "source_requests", "map_requests", "api_requests",
           "dashboard_views", "portal_views", "alert_mails", "staff_accounts")
NO_ORG = 0
FLUSH_S = 60.0
MAX_KEYS = 20000  # distinct keys held between flushes (a flood of made-up ids cannot fill memory)
READING_BYTES = 64  # a stored reading with its index entries, roughly
MEASURE_AGE_S = 60  # a report measures the current month again when its figures are older (seconds)


class UsageCount(Base):
    __tablename__ = "usage_counts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    month: Mapped[str] = mapped_column(String(7))  # "2026-12", JST
    organisation_id: Mapped[int] = mapped_column(Integer, default=NO_ORG)
    metric: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(120), default="")  # layer id, dashboard slug, source id; "" = total
    value: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("month", "organisation_id", "metric", "key"),
                      Index("ix_usage_month", "month", "organisation_id"))


def month_of(moment: datetime | None = None) -> str:
    return (moment or utcnow()).astimezone(JST).strftime("%Y-%m")


def valid_month(text: str | None) -> bool:
    import re

    return bool(text) and re.fullmatch(r"20\d\d-(0[1-9]|1[0-2])", text) is not None


# --- counting (hot path) ---

class Counters:
    """Counts of one database, held in memory until the next flush."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts: dict[tuple, int] = {}

    def add(self, metric: str, key: str, organisation_id: int | None, n: int = 1) -> None:
        k = (metric, key, organisation_id)
        with self._lock:
            if k in self._counts:
                self._counts[k] += n
            elif len(self._counts) < MAX_KEYS:
                self._counts[k] = n

    def drain(self) -> dict[tuple, int]:
        with self._lock:
            out, self._counts = self._counts, {}
        return out

    def put_back(self, counts: dict[tuple, int]) -> None:
        for (metric, key, org), n in counts.items():
            self.add(metric, key, org, n)


_registry: weakref.WeakSet = weakref.WeakSet()
_registry_lock = threading.Lock()
_flusher: threading.Thread | None = None


def counters_of(db) -> Counters:
    c = db.__dict__.get("usage_counters")
    if c is None:
        with _registry_lock:
            c = db.__dict__.get("usage_counters")
            if c is None:
                c = db.__dict__["usage_counters"] = Counters()
                _registry.add(db)
                _start_flusher()
    return c


def count(db, metric: str, key: str, organisation_id: int | None = None, n: int = 1) -> None:
    """Count `n` of `metric` for `key` (a layer id, dashboard slug or source id). Without an
    organisation, the flush finds it from the key (the layer's or dashboard's owner)."""
    c = db.__dict__.get("usage_counters") or counters_of(db)
    c.add(metric, str(key)[:120], organisation_id, n)


def _start_flusher() -> None:
    global _flusher
    if _flusher is not None and _flusher.is_alive():
        return
    _flusher = threading.Thread(target=_flush_loop, name="ishikawa-usage-flush", daemon=True)
    _flusher.start()


def _flush_loop() -> None:
    while True:
        time.sleep(FLUSH_S)
        flush_all()


@atexit.register
def flush_all() -> None:
    for db in list(_registry):
        try:
            flush(db)
        except Exception:  # counting never takes a process down; the counts wait for the next flush
            log.exception("usage counts could not be written")


def flush(db, now: datetime | None = None) -> int:
    """Write the counts held in memory (added to the stored ones); returns how many keys."""
    c = db.__dict__.get("usage_counters")
    if c is None:
        return 0
    counts = c.drain()
    if not counts:
        return 0
    month = month_of(now)
    try:
        with db.session() as s:
            owners = _owners(s, counts)
            merged: dict[tuple, int] = {}
            for (metric, key, org), n in counts.items():
                if org is None:
                    org = owners.get((metric, key), -1)
                    if org == -1:
                        continue  # a layer or dashboard that does not exist (any more): not counted
                k = (metric, key, org if org is not None else NO_ORG)
                merged[k] = merged.get(k, 0) + n
            for (metric, key, org), n in merged.items():
                _add(s, month, org, metric, key, n)
    except Exception:
        c.put_back(counts)
        raise
    return len(counts)


def _owners(s: Session, counts: dict) -> dict[tuple, int | None]:
    """(metric, key) -> organisation id (None: no organisation) of the layers and dashboards counted."""
    from store.dashboards import Dashboard
    from store.models import Layer

    layer_ids = {key for (metric, key, org) in counts if org is None and metric in ("map_requests", "api_requests")}
    slugs = {key for (metric, key, org) in counts if org is None and metric == "dashboard_views"}
    codes = {key for (metric, key, org) in counts if org is None and metric == "portal_views"}
    out: dict[tuple, int | None] = {}
    ids = list(layer_ids)
    for i in range(0, len(ids), 500):
        for lid, org in s.execute(select(Layer.id, Layer.organisation_id).where(Layer.id.in_(ids[i:i + 500]))):
            out[("map_requests", lid)] = out[("api_requests", lid)] = org
    slug_list = list(slugs)
    for i in range(0, len(slug_list), 500):
        for slug, org in s.execute(select(Dashboard.slug, Dashboard.organisation_id)
                                   .where(Dashboard.slug.in_(slug_list[i:i + 500]))):
            out[("dashboard_views", slug)] = org
    if codes:
        from store.models import Organisation

        for code, org in s.execute(select(Organisation.code, Organisation.id)
                                   .where(Organisation.code.in_(sorted(codes)[:500]))):
            out[("portal_views", code)] = org
    return out


def _match(month: str, org: int, metric: str, key: str):
    return (UsageCount.month == month, UsageCount.organisation_id == org, UsageCount.metric == metric,
            UsageCount.key == key)


def _write(s: Session, month: str, org: int, metric: str, key: str, n: int, add: bool) -> None:
    value = UsageCount.value + n if add else n
    done = s.execute(update(UsageCount).where(*_match(month, org, metric, key))
                     .values(value=value, updated_at=utcnow())).rowcount
    if done:
        return
    try:
        with s.begin_nested():  # another process may insert the same key at the same moment
            s.add(UsageCount(month=month, organisation_id=org, metric=metric, key=key, value=n))
    except IntegrityError:
        s.execute(update(UsageCount).where(*_match(month, org, metric, key)).values(value=value, updated_at=utcnow()))


def _add(s: Session, month: str, org: int, metric: str, key: str, n: int) -> None:
    _write(s, month, org, metric, key, n, add=True)


def _set(s: Session, month: str, org: int, metric: str, key: str, n: int) -> None:
    _write(s, month, org, metric, key, n, add=False)


def count_requests(db, client, source) -> None:
    """Count every HTTP request `client` (an NGSI or CKAN client with an httpx `http`) sends for
    `source` from now on: an httpx request hook."""
    hooks = getattr(getattr(client, "http", None), "event_hooks", None)
    if not isinstance(hooks, dict):
        return
    org = source.organisation_id if source.organisation_id is not None else NO_ORG

    def hook(_request) -> None:
        count(db, "source_requests", str(source.id), org)

    hooks.setdefault("request", []).append(hook)


# --- measuring (the usage job) ---

def _month_bounds(month: str) -> tuple[datetime, datetime]:
    year, mon = int(month[:4]), int(month[5:7])
    start = datetime(year, mon, 1, tzinfo=JST)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=JST)
    return start, end


def measure(s: Session, now: datetime | None = None) -> dict[int, dict[str, int]]:
    """{organisation id: {metric: value}} of the measured figures, now."""
    from store.alerts import OutboxMail
    from store.cameras import Camera, CameraImage
    from store.models import Feature, Layer, Reading, Sensor
    from store.users import User

    month = month_of(now)
    start, end = _month_bounds(month)
    out: dict[int, dict[str, int]] = {}

    def put(metric, rows):
        for org, value in rows:
            bucket = out.setdefault(org if org is not None else NO_ORG, {})
            bucket[metric] = bucket.get(metric, 0) + int(value or 0)

    org_col = Layer.organisation_id
    put("layers", s.execute(select(org_col, func.count()).group_by(org_col)))
    put("features", s.execute(select(org_col, func.sum(Layer.feature_count)).group_by(org_col)))
    feature_bytes = func.sum(func.length(Feature.geometry) + func.length(cast(Feature.properties, Text)))
    put("storage_bytes", s.execute(select(org_col, feature_bytes).join(Layer, Layer.id == Feature.layer_id)
                                   .group_by(org_col)))
    put("storage_bytes", ((org, n * READING_BYTES) for org, n in s.execute(
        select(org_col, func.count()).select_from(Reading).join(Sensor, Sensor.id == Reading.sensor_id)
        .join(Layer, Layer.id == Sensor.layer_id).group_by(org_col))))
    put("storage_bytes", s.execute(select(Camera.organisation_id, func.sum(CameraImage.bytes))
                                   .join(Camera, Camera.id == CameraImage.camera_id).group_by(Camera.organisation_id)))
    put("readings", s.execute(
        select(org_col, func.count()).select_from(Reading).join(Sensor, Sensor.id == Reading.sensor_id)
        .join(Layer, Layer.id == Sensor.layer_id)
        .where(Reading.observed_at >= start, Reading.observed_at < end).group_by(org_col)))
    put("alert_mails", s.execute(select(OutboxMail.organisation_id, func.count())
                                 .where(OutboxMail.status == "sent", OutboxMail.sent_at >= start,
                                        OutboxMail.sent_at < end).group_by(OutboxMail.organisation_id)))
    put("staff_accounts", s.execute(select(User.organisation_id, func.count()).where(User.active.is_(True))
                                    .group_by(User.organisation_id)))
    return out


def snapshot(s: Session, now: datetime | None = None) -> str:
    """Store the measured figures of the current month (replacing the earlier ones of that month)."""
    month = month_of(now)
    figures = measure(s, now)
    stored = {(org, metric) for org, metric in s.execute(
        select(UsageCount.organisation_id, UsageCount.metric)
        .where(UsageCount.month == month, UsageCount.metric.in_(MEASURED), UsageCount.key == ""))}
    for org, metrics in figures.items():
        for metric in MEASURED:
            if metric in metrics or (org, metric) in stored:
                _set(s, month, org, metric, "", metrics.get(metric, 0))
    return month


def refresh(db, now: datetime | None = None) -> None:
    """The usage job: write the counts in memory, measure the current month."""
    flush(db, now)
    with db.session() as s:
        snapshot(s, now)


# --- reading ---

def months(s: Session) -> list[str]:
    return sorted(set(s.scalars(select(UsageCount.month).distinct())) | {month_of()}, reverse=True)


def report(s: Session, month: str, organisation_id: int | None = None) -> dict:
    """{"totals": {org: {metric: value}}, "layers": {org: {layer id: {"map_requests", "api_requests"}}},
    "dashboards": {org: {slug: views}}} of a month; one organisation's only when organisation_id is given."""
    if month == month_of():
        measured = s.scalar(select(func.max(UsageCount.updated_at)).where(UsageCount.month == month,
                                                                          UsageCount.metric == "layers"))
        if measured is None or utcnow() - measured > timedelta(seconds=MEASURE_AGE_S):
            snapshot(s)  # nothing measured this month yet, or a while ago: measure now
    q = select(UsageCount.organisation_id, UsageCount.metric, UsageCount.key, UsageCount.value) \
        .where(UsageCount.month == month)
    if organisation_id is not None:
        q = q.where(UsageCount.organisation_id == organisation_id)
    totals: dict[int, dict[str, int]] = {}
    layers: dict[int, dict[str, dict[str, int]]] = {}
    dashboards: dict[int, dict[str, int]] = {}
    for org, metric, key, value in s.execute(q):
        row = totals.setdefault(org, dict.fromkeys(METRICS, 0))
        row[metric] = row.get(metric, 0) + int(value)
        if metric in ("map_requests", "api_requests") and key:
            layers.setdefault(org, {}).setdefault(key, {"map_requests": 0, "api_requests": 0})[metric] += int(value)
        if metric == "dashboard_views" and key:
            dashboards.setdefault(org, {})[key] = dashboards.get(org, {}).get(key, 0) + int(value)
    return {"month": month, "totals": totals, "layers": layers, "dashboards": dashboards}
