"""What `/sensors` opens on: every sensor the visitor may see with its latest value, how serious
that value is, and its last 24 hours as a sparkline — plain functions, no Dash.

Severity: a sensor watched by alert rules the visitor may see (public rules; staff also their own
organisation's, admins all) is judged against the nearest of those thresholds — `alert` when its
latest value crosses one, `watch` from 80 % of the way there (for a "<" rule: within 20 % above
it), else `normal`. A sensor without such a rule is judged against its own normal range, the lowest
and highest values of the 7 days before the last 24 hours: `high` when the latest value lies above
that range, else `normal`. Sensors without a value come last (`nodata`). Within a level, the larger share of the
threshold (or the higher place in the own range) comes first.

Queries: the sensors (one), the rules (one), the 7-day ranges (one GROUP BY over the hourly
rollups) and the sparklines (one bucketed GROUP BY per attribute, in SQL by store.series) — the
same number whatever the number of sensors.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from layers.sensor_history import addresses
from store import series
from store.alerts import AlertRule
from store.layers import visible_clause
from store.models import PRIVATE, Layer, Sensor
from store.permissions import visible_sql
from store.series import ReadingRollup

LEVELS = ("alert", "watch", "high", "normal", "unjudged", "nodata")  # most serious first; unjudged: no
# visible rule and no week of its own readings to compare with
WATCH_SHARE = 0.8  # "watch" from this share of an upper threshold
SPARK_HOURS = 24
NORMAL_DAYS = 7
STALE = timedelta(hours=3)  # a latest value older than this is said to be old
MAX_ROWS = 500  # beyond this, the most serious rows (a broker may bring thousands of sensors)


@dataclass
class OverviewRow:
    id: str
    name_ja: str
    name_en: str
    attribute: str
    unit: str
    value: float | None
    observed_at: datetime | None
    level: str = "normal"
    score: float = 0.0  # share of the threshold, or place in the own range
    basis: str = ""  # "rule" | "range" | ""
    threshold: float | None = None
    op: str = ""
    rule_name: str = ""
    low: float | None = None  # the own range of the 7 days before the last 24 h
    high: float | None = None
    private: bool = False
    stale: bool = False
    spark: list[float] = field(default_factory=list)
    address: str = ""  # how links name it: the id its organisation posted (layers.sensor_history.addresses)

    def name(self, lang: str) -> str:
        return (self.name_en if lang == "en" and self.name_en else self.name_ja) or self.address or self.id


def visible_sensors(s: Session, staff=None) -> list[tuple[Sensor, bool]]:
    """The sensors of the layers `staff` (None: a visitor) may see, with whether their layer is private."""
    q = (select(Sensor, Layer.visibility).join(Layer, Layer.id == Sensor.layer_id)
         .where(visible_clause(staff)).order_by(Sensor.id))
    return [(sensor, vis == PRIVATE) for sensor, vis in s.execute(q)]


def visible_rules(s: Session, sensors: list[Sensor], staff=None) -> dict[str, list[AlertRule]]:
    """sensor id -> the unpaused threshold rules on it (or on its layer) that `staff` may see, on the
    sensor's own attribute."""
    if not sensors:
        return {}
    ids = [x.id for x in sensors]
    layers = {x.layer_id for x in sensors}
    q = select(AlertRule).where(AlertRule.paused.is_(False), AlertRule.op.in_((">", ">=", "<", "<=")),
                                ((AlertRule.target == "sensor") & AlertRule.sensor_id.in_(ids))
                                | ((AlertRule.target == "layer") & AlertRule.layer_id.in_(layers)))
    q = q.where(visible_sql(staff, AlertRule.organisation_id, AlertRule.public.is_(True)))
    by_sensor: dict[str, list[AlertRule]] = {x.id: [] for x in sensors}
    by_layer: dict[str, list[AlertRule]] = {}
    for rule in s.scalars(q.order_by(AlertRule.id)):
        if rule.target == "sensor":
            by_sensor.setdefault(rule.sensor_id, []).append(rule)
        else:
            by_layer.setdefault(rule.layer_id, []).append(rule)
    return {x.id: [r for r in by_sensor[x.id] + by_layer.get(x.layer_id, []) if r.attribute == x.attribute]
            for x in sensors}


MIN_RANGE_HOURS = 24  # a day of hourly readings before a sensor's own range is used to judge it


def normal_ranges(s: Session, sensors: list[Sensor], since: datetime,
                  until: datetime) -> dict[str, tuple[float, float]]:
    """sensor id -> (lowest, highest) value of the hours in [since, until), from the hourly rollups
    (one query). Only a range worth comparing with: at least MIN_RANGE_HOURS hours with readings, and
    not a single value (a sensor that has just started, or reads the same all week, has none)."""
    if not sensors:
        return {}
    own = {x.id: x.attribute for x in sensors}
    q = (select(ReadingRollup.sensor_id, ReadingRollup.attribute, func.min(ReadingRollup.min_value),
                func.max(ReadingRollup.max_value), func.count())
         .where(ReadingRollup.sensor_id.in_(list(own)), ReadingRollup.hour_start >= since,
                ReadingRollup.hour_start < until)
         .group_by(ReadingRollup.sensor_id, ReadingRollup.attribute))
    return {sid: (float(lo), float(hi)) for sid, attr, lo, hi, hours in s.execute(q)
            if own.get(sid) == attr and lo is not None and hi is not None and hours >= MIN_RANGE_HOURS
            and hi > lo}


def sparklines(s: Session, sensors: list[Sensor], since: datetime, until: datetime) -> dict[str, list[float]]:
    """sensor id -> hourly means of its own attribute in [since, until], oldest first: one GROUP BY
    per attribute (store.series, from the hourly rollups), never one query per sensor."""
    by_attr: dict[str, list[str]] = {}
    for x in sensors:
        by_attr.setdefault(x.attribute, []).append(x.id)
    out: dict[str, list[float]] = {}
    for attr, ids in by_attr.items():
        for sid, pts in series.bucketed(s, ids, attr, since, until, "hour", "avg").items():
            out[sid] = [v for _t, v in pts]
    return out


def judge(row: OverviewRow, rules: list[AlertRule]) -> None:
    """Level and score of a row from its visible rules, else from its own normal range."""
    v = row.value
    if v is None:
        row.level, row.score = "nodata", 0.0
        return
    best = None  # (share, rule): how far along to each threshold, the nearest one wins
    for rule in rules:
        t = float(rule.threshold)
        if rule.op in (">", ">="):
            crossed = v > t if rule.op == ">" else v >= t
            share = v / t if t > 0 else (1.0 if crossed else 0.0)
        else:
            crossed = v < t if rule.op == "<" else v <= t
            share = t / v if v > 0 else (1.0 if crossed else 0.0)
        share = max(share, 1.0) if crossed else min(share, 0.999)
        if best is None or share > best[0]:
            best = (share, rule)
    if best is not None:
        share, rule = best
        row.basis, row.threshold, row.op, row.rule_name = "rule", float(rule.threshold), rule.op, rule.name
        row.score = share
        row.level = "alert" if share >= 1.0 else "watch" if share >= WATCH_SHARE else "normal"
        return
    if row.low is not None and row.high is not None:
        row.basis = "range"
        span = row.high - row.low
        row.score = (v - row.low) / span if span > 0 else 0.5
        row.level = "high" if v > row.high else "normal"
        return
    row.level, row.score = "unjudged", 0.0


def sort_key(row: OverviewRow):
    return LEVELS.index(row.level), -row.score, row.id


def overview(s: Session, now: datetime, staff=None) -> list[OverviewRow]:
    """Every sensor `staff` (None: a visitor) may see, most serious first."""
    found = visible_sensors(s, staff)
    sensors = [x for x, _p in found]
    rules = visible_rules(s, sensors, staff)
    day = now - timedelta(hours=SPARK_HOURS)
    ranges = normal_ranges(s, sensors, day - timedelta(days=NORMAL_DAYS), day)
    sparks = sparklines(s, sensors, day, now)
    address_of = {key: address for address, key in addresses(sensors).items()}
    rows = []
    for x, private in found:
        lo_hi = ranges.get(x.id)
        row = OverviewRow(id=x.id, name_ja=x.name_ja, name_en=x.name_en, attribute=x.attribute, unit=x.unit,
                          value=x.last_value, observed_at=x.last_observed_at, private=private,
                          low=lo_hi[0] if lo_hi else None, high=lo_hi[1] if lo_hi else None,
                          spark=sparks.get(x.id, []), address=address_of.get(x.id, x.id))
        row.stale = row.observed_at is not None and now - row.observed_at > STALE
        judge(row, rules.get(x.id, []))
        rows.append(row)
    rows.sort(key=sort_key)
    return rows[:MAX_ROWS]


def spark_svg(values: list[float], width: int = 120, height: int = 28, color: str = "#1d70b8") -> str:
    """A sparkline as a small SVG document (for an <img src="data:…">): no script, only numbers."""
    pad = 2
    if len(values) < 2:
        path = ""
    else:
        lo, hi = min(values), max(values)
        span = (hi - lo) or 1.0
        step = (width - 2 * pad) / (len(values) - 1)
        pts = [f"{pad + i * step:.1f},{height - pad - (v - lo) / span * (height - 2 * pad):.1f}"
               for i, v in enumerate(values)]
        path = f'<polyline fill="none" stroke="{color}" stroke-width="1.6" points="{" ".join(pts)}"/>'
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}">{path}</svg>')
