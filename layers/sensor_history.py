"""What the /sensors dashboard shows, as plain functions (no Dash): the selection as it travels in
the URL, time windows in JST, series from the store (or QuantumLeap), aggregation per
10 min / hour / day (in SQL by store.series; in Python only for QuantumLeap's points), threshold
lines, table rows and CSV.
"""
from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from csvcell import row as csv_row
from store import series
from store.alerts import threshold_lines
from store.models import PUBLIC, Layer, Reading, Sensor
from store.sensors import shown_id
from timezones import JST

log = logging.getLogger(__name__)

RANGES = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7),
          "30d": timedelta(days=30)}
RANGE_KEYS = [*RANGES, "custom"]
AGGS = {"raw": None, "10min": timedelta(minutes=10), "hour": timedelta(hours=1), "day": timedelta(days=1)}
MAX_SENSORS = 8
MAX_POINTS = 50000  # per sensor: 30 days of one-minute readings fit
MAX_TABLE_ROWS = 5000  # the page's table shows the newest rows; the CSV has them all


@dataclass
class Selection:
    sensors: list[str] = field(default_factory=list)
    attribute: str = ""
    range: str = "24h"
    start: str = ""  # custom range, JST "YYYY-MM-DDTHH:MM"
    end: str = ""
    agg: str = "raw"
    refresh: bool = False
    lang: str = "ja"
    # the id each sensor is shown and addressed by in URLs → its store key (`addresses`)
    addresses: dict[str, str] = field(default_factory=dict)


def addresses(sensors: list[Sensor]) -> dict[str, str]:
    """Address → store key of these sensors: the id its organisation posted (store.sensors.shown_id),
    or the store key when another of them is shown by the same id and holds it as its key."""
    counts = Counter(shown_id(x) for x in sensors)
    return {(shown_id(x) if counts[shown_id(x)] == 1 or x.id == shown_id(x) else x.id): x.id for x in sensors}


def shown_ids(sel: Selection) -> list[str]:
    """The selected sensors by their addresses (for URLs and CSVs)."""
    back = {key: address for address, key in sel.addresses.items()}
    return [back.get(x, x) for x in sel.sensors]


def parse_selection(query: dict, known: set[str] | dict[str, str]) -> Selection:
    """From the URL (`?sensor=` of the map's popup, or `?sensors=a,b`); unknown values fall back.
    `known`: the store keys that may be chosen, or `addresses(...)` (then an address or a key)."""
    from i18n import normalize_lang

    lookup = known if isinstance(known, dict) else {k: k for k in known}
    keys = set(lookup.values())
    ids: list[str] = []
    for key in ("sensors", "sensor"):
        for x in str(query.get(key) or "").split(","):
            x = lookup.get(x) or (x if x in keys else "")
            if x and x not in ids:
                ids.append(x)
    sel = Selection(sensors=ids[:MAX_SENSORS], lang=normalize_lang(query.get("lang")),
                    addresses=dict(known) if isinstance(known, dict) else {})
    sel.attribute = str(query.get("attr") or "")[:60]
    rng = str(query.get("range") or "24h")
    sel.range = rng if rng in RANGE_KEYS else "24h"
    sel.start, sel.end = str(query.get("start") or "")[:16], str(query.get("end") or "")[:16]
    agg = str(query.get("agg") or "raw")
    sel.agg = agg if agg in AGGS else "raw"
    sel.refresh = str(query.get("refresh") or "") in ("1", "true", "on")
    return sel


def to_query(sel: Selection) -> str:
    params = {"sensors": ",".join(shown_ids(sel)), "range": sel.range, "lang": sel.lang}
    if sel.attribute:
        params["attr"] = sel.attribute
    if sel.range == "custom":
        params.update(start=sel.start, end=sel.end)
    if sel.agg != "raw":
        params["agg"] = sel.agg
    if sel.refresh:
        params["refresh"] = "1"
    return "?" + urlencode(params, safe=",:")


def parse_jst(text: str) -> datetime | None:
    """'2026-01-15T09:30' (a datetime-local field, read as JST) → aware UTC."""
    from sources.observed import parse_time

    return parse_time(text, bare=JST) if text else None


def time_window(sel: Selection, now: datetime) -> tuple[datetime, datetime]:
    if sel.range == "custom":
        start, end = parse_jst(sel.start), parse_jst(sel.end)
        end = end or now
        start = start or end - RANGES["24h"]
        if start > end:
            start, end = end, start
        return start, min(end, start + timedelta(days=366))
    return now - RANGES[sel.range], now


def public_sensors(s: Session) -> list[Sensor]:
    return list(s.scalars(select(Sensor).join(Layer, Layer.id == Sensor.layer_id)
                          .where(Layer.visibility == PUBLIC).order_by(Sensor.id)))


def attributes_of(s: Session, sensor_ids: list[str]) -> list[str]:
    if not sensor_ids:
        return []
    found = set(s.scalars(select(Reading.attribute).where(Reading.sensor_id.in_(sensor_ids)).distinct()))
    found |= {x.attribute for x in s.scalars(select(Sensor).where(Sensor.id.in_(sensor_ids)))}
    return sorted(found)


Series = dict[str, list[tuple[datetime, float]]]


def store_series(s: Session, sensor_ids: list[str], attribute: str, since: datetime, until: datetime) -> Series:
    """Raw readings from the store: the newest MAX_POINTS of each sensor, oldest first."""
    return series.raw(s, sensor_ids, attribute, since, until, limit_per_sensor=MAX_POINTS)


def quantumleap_points(s: Session, ql_url: str, service: str, servicepath: str, sensor_ids: list[str],
                       attribute: str, since: datetime, until: datetime, client_factory=None) -> Series:
    """The history of the sensors that stand for a broker entity, from QuantumLeap; only those it
    answered (a QuantumLeap failure leaves the sensor out, so it is read from our store)."""
    from sources.ngsi import NgsiError
    from sources.quantumleap import QuantumLeapClient
    from store.brokers import SensorOrigin

    out: Series = {}
    factory = client_factory or (lambda: QuantumLeapClient(ql_url, service, servicepath))
    client = None
    try:
        for sid in sensor_ids:
            origin = s.get(SensorOrigin, sid)
            sensor = s.get(Sensor, sid)
            if origin is None or sensor is None or attribute != sensor.attribute:
                continue
            client = client or factory()
            try:
                out[sid] = client.attr_history(origin.entity_id, origin.attribute, since, until,
                                               entity_type=origin.entity_type)
            except NgsiError as exc:
                log.warning("QuantumLeap history of %s failed (%s); using the store", sid, exc)
    finally:
        if client is not None:
            client.close()
    return out


def quantumleap_series(s: Session, ql_url: str, service: str, servicepath: str, sensor_ids: list[str],
                       attribute: str, since: datetime, until: datetime, client_factory=None) -> Series:
    """Raw series: broker sensors from QuantumLeap, the others (and any QuantumLeap failure) from our store."""
    from_ql = quantumleap_points(s, ql_url, service, servicepath, sensor_ids, attribute, since, until,
                                 client_factory)
    rest = store_series(s, [sid for sid in sensor_ids if sid not in from_ql], attribute, since, until)
    return {sid: from_ql[sid] if sid in from_ql else rest.get(sid, []) for sid in sensor_ids}


@dataclass
class Bucket:
    start: datetime  # UTC
    min: float
    max: float
    mean: float
    count: int


def bucket_start(t: datetime, step: timedelta) -> datetime:
    """Buckets aligned in JST (a day runs from 00:00 JST)."""
    local = t.astimezone(JST)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    n = int((local - midnight) / step)
    return (midnight + step * n).astimezone(UTC)


def aggregate(points: list[tuple[datetime, float]], step: timedelta) -> list[Bucket]:
    groups: dict[datetime, list[float]] = {}
    for t, v in points:
        groups.setdefault(bucket_start(t, step), []).append(v)
    return [Bucket(k, min(vs), max(vs), round(sum(vs) / len(vs), 3), len(vs)) for k, vs in sorted(groups.items())]


Buckets = dict[str, list[Bucket]]


def store_buckets(s: Session, sensor_ids: list[str], attribute: str, since: datetime, until: datetime,
                  agg: str) -> Buckets:
    """min, max, mean and count per `agg` bucket (aligned in JST), aggregated in SQL by store.series."""
    got = {fn: series.bucketed(s, sensor_ids, attribute, since, until, agg, fn)
           for fn in ("min", "max", "avg", "count")}
    out: Buckets = {}
    for sid, pts in got["count"].items():
        lo, hi, mean = (dict(got[fn].get(sid, [])) for fn in ("min", "max", "avg"))
        out[sid] = [Bucket(start, lo[start], hi[start], mean[start], int(n)) for start, n in pts if n]
    return out


def history(s: Session, sensor_ids: list[str], attribute: str, since: datetime, until: datetime, agg: str,
            quantumleap: tuple[str, str, str] | None = None, client_factory=None) -> dict[str, list]:
    """What the dashboard shows per sensor (in the order asked): raw points [(utc time, value)] when
    `agg` is "raw", else [Bucket]. The store's are read (and aggregated) in SQL; with `quantumleap`
    (url, service, servicepath) the broker sensors' points come from QuantumLeap and are aggregated here."""
    step = AGGS.get(agg)
    from_ql = quantumleap_points(s, *quantumleap, sensor_ids, attribute, since, until, client_factory) \
        if quantumleap else {}
    rest = [sid for sid in sensor_ids if sid not in from_ql]
    if step is None:
        stored: dict[str, list] = store_series(s, rest, attribute, since, until)
    else:
        stored = store_buckets(s, rest, attribute, since, until, agg)
        from_ql = {sid: aggregate(pts, step) for sid, pts in from_ql.items()}
    return {sid: from_ql[sid] if sid in from_ql else stored.get(sid, []) for sid in sensor_ids}


def identity_buckets(buckets: list[Bucket], _step) -> list[Bucket]:
    """The chart's `aggregate` for series that `history` already aggregated."""
    return buckets


def thresholds(s: Session, sensor_ids: list[str], attribute: str) -> list[dict]:
    """The chart's threshold lines: the alert rules on these sensors that the viewer may see."""
    staff = None
    try:
        from auth import current_staff

        staff = current_staff()
    except Exception:  # outside a request (tests, scripts): a visitor
        staff = None
    return threshold_lines(s, sensor_ids, attribute, staff)


def table_rows(data: dict[str, list], names: dict[str, str], agg: str,
               shown: dict[str, str] | None = None) -> list[dict]:
    """data: `history`'s answer (raw points, or buckets when agg is not "raw"); `shown`: store key →
    the id shown in the `sensor_id` column."""
    rows = []
    for key, pts in data.items():
        sid = (shown or {}).get(key, key)
        if AGGS.get(agg) is None:
            rows.extend({"sensor": names.get(key, key), "sensor_id": sid,
                         "time": t.astimezone(JST).strftime("%Y-%m-%d %H:%M"), "value": v} for t, v in pts)
        else:
            rows.extend({"sensor": names.get(key, key), "sensor_id": sid,
                         "time": b.start.astimezone(JST).strftime("%Y-%m-%d %H:%M"),
                         "min": b.min, "max": b.max, "mean": b.mean, "count": b.count}
                        for b in pts)
    rows.sort(key=lambda r: (r["time"], r["sensor_id"]))
    return rows


def rows_csv(rows: list[dict], agg: str) -> str:
    cols = ["sensor_id", "sensor", "time"] + (["value"] if agg == "raw" else ["min", "max", "mean", "count"])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([c if c != "time" else "time_jst" for c in cols])
    for r in rows:
        w.writerow(csv_row(r[c] for c in cols))  # csvcell: no formula runs in a spreadsheet
    return buf.getvalue()
