"""The rule engine: plain functions over a condition, a state and a clock. No database, no mail.

`on_value` handles a new value of one subject (a sensor reading, a feature's property, a road
segment's hours without clearing); `on_tick` handles the passing of time (for-at-least-N-minutes
confirmed without a new value, no data for N minutes, repeat interval, mails owed after quiet
hours). Both change the state in place and return the transitions; the caller records them as
events and queues mail for those with `mail=True`.

Policy:
- hysteresis: an alert fires when `value op threshold` holds (for at least `for_minutes`) and
  clears only when the value is back beyond `clear_threshold` (default: the threshold);
- quiet hours (JST, may wrap midnight): no new-alert, repeat or no-data mail is sent; an alert
  that fired during quiet hours and is still active when they end is mailed then ("delayed");
  a recovery mail is sent only for an alert whose mail went out, and is never held back;
- no data for N minutes is a state of its own, beside ok/pending/firing: entering it and leaving
  it (data back) are events of their own;
- a value observed more than `late_after` before `now` updates the state but mails nobody
  (a feed catching up after an outage should not send a day of stale alerts).
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from timezones import JST

OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
OP_ALIASES = {"≥": ">=", "≤": "<=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
LATE_AFTER = timedelta(minutes=60)


def normalize_op(op: str) -> str:
    op = OP_ALIASES.get(str(op).strip(), str(op).strip())
    if op not in OPS:
        raise ValueError(f"unknown comparison {op!r}")
    return op


@dataclass
class Condition:
    op: str
    threshold: float
    clear_threshold: float | None = None
    for_minutes: float = 0
    repeat_minutes: float = 0
    no_data_minutes: float = 0
    quiet_start: str = ""  # "HH:MM" JST
    quiet_end: str = ""

    @classmethod
    def of(cls, rule) -> Condition:
        """From anything with the rule's attributes (store.alerts.AlertRule, a namespace…)."""
        return cls(op=normalize_op(rule.op), threshold=float(rule.threshold),
                   clear_threshold=None if rule.clear_threshold is None else float(rule.clear_threshold),
                   for_minutes=float(rule.for_minutes or 0), repeat_minutes=float(rule.repeat_minutes or 0),
                   no_data_minutes=float(rule.no_data_minutes or 0),
                   quiet_start=rule.quiet_start or "", quiet_end=rule.quiet_end or "")


@dataclass
class State:
    """Mirrors store.alerts.AlertState (the service copies fields in and out)."""
    status: str = "ok"  # ok | pending | firing
    pending_since: datetime | None = None
    fired_at: datetime | None = None
    peak: float | None = None
    last_value: float | None = None
    last_observed_at: datetime | None = None
    last_notified_at: datetime | None = None
    notified: bool = False
    notify_owed: bool = False
    nodata_since: datetime | None = None


STATE_FIELDS = tuple(State.__dataclass_fields__)


@dataclass
class Transition:
    kind: str  # fired | cleared | repeat | delayed | nodata | data_back
    at: datetime
    value: float | None = None
    observed_at: datetime | None = None
    duration: timedelta | None = None
    mail: bool = True
    note: str = ""  # why no mail: quiet_hours, late_data, not_notified
    extra: dict = field(default_factory=dict)


def breaches(op: str, value: float, threshold: float) -> bool:
    return OPS[op](value, threshold)


def clears(cond: Condition, value: float) -> bool:
    """True when the value is back on the safe side of the clear threshold."""
    if cond.clear_threshold is None:
        return not breaches(cond.op, value, cond.threshold)
    if cond.op in (">", ">="):
        return value < cond.clear_threshold
    return value > cond.clear_threshold


def _hhmm(text: str) -> time | None:
    try:
        h, m = text.strip().split(":")
        return time(int(h), int(m))
    except (ValueError, AttributeError):
        return None


def in_quiet_hours(cond: Condition, at: datetime) -> bool:
    start, end = _hhmm(cond.quiet_start), _hhmm(cond.quiet_end)
    if start is None or end is None or start == end:
        return False
    try:
        local = at.astimezone(JST).time()
    except OverflowError:  # the last hours of 9999-12-31 (UTC) have no JST
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end  # wraps midnight, e.g. 22:00–06:00


def _fire(cond: Condition, st: State, at: datetime, value: float, observed_at: datetime | None,
          now: datetime, late: bool) -> Transition:
    st.status, st.fired_at, st.pending_since, st.peak = "firing", at, None, value
    quiet = in_quiet_hours(cond, now)
    mail = not quiet and not late
    st.notified, st.notify_owed = mail, quiet and not late
    if mail:
        st.last_notified_at = now
    return Transition("fired", at, value, observed_at, mail=mail,
                      note="quiet_hours" if quiet else ("late_data" if late else ""))


def _reminders(cond: Condition, st: State, now: datetime) -> list[Transition]:
    """Mails owed while an alert stays active: after quiet hours end, and at the repeat interval."""
    if st.status != "firing" or in_quiet_hours(cond, now) or st.nodata_since is not None:
        return []
    if st.notify_owed:
        st.notify_owed, st.notified, st.last_notified_at = False, True, now
        return [Transition("delayed", now, st.last_value, st.last_observed_at,
                           duration=now - st.fired_at if st.fired_at else None)]
    if (cond.repeat_minutes > 0 and st.notified and st.last_notified_at is not None
            and now - st.last_notified_at >= timedelta(minutes=cond.repeat_minutes)):
        st.last_notified_at = now
        return [Transition("repeat", now, st.last_value, st.last_observed_at,
                           duration=now - st.fired_at if st.fired_at else None)]
    return []


def on_value(cond: Condition, st: State, value: float, observed_at: datetime, now: datetime,
             late_after: timedelta = LATE_AFTER) -> list[Transition]:
    """A new value observed at `observed_at`, processed at `now`. Older/duplicate values are ignored."""
    if st.last_observed_at is not None and observed_at <= st.last_observed_at:
        return []
    late = now - observed_at > late_after
    out: list[Transition] = []
    if st.nodata_since is not None:
        out.append(Transition("data_back", observed_at, value, observed_at,
                              duration=observed_at - st.nodata_since, mail=not late,
                              note="late_data" if late else ""))
        st.nodata_since = None
    st.last_value, st.last_observed_at = value, observed_at
    if st.status in ("ok", "pending"):
        if breaches(cond.op, value, cond.threshold):
            if st.status == "ok":
                st.status, st.pending_since = "pending", observed_at
            if observed_at - st.pending_since >= timedelta(minutes=cond.for_minutes):
                out.append(_fire(cond, st, observed_at, value, observed_at, now, late))
        else:
            st.status, st.pending_since = "ok", None
    else:  # firing
        if clears(cond, value):
            mail = st.notified
            out.append(Transition("cleared", observed_at, value, observed_at,
                                  duration=observed_at - st.fired_at if st.fired_at else None,
                                  mail=mail, note="" if mail else "not_notified",
                                  extra={"peak": st.peak}))
            st.status, st.fired_at, st.pending_since = "ok", None, None
            st.notified = st.notify_owed = False
            st.peak = None
        else:
            if st.peak is None or (value > st.peak if cond.op in (">", ">=") else value < st.peak):
                st.peak = value
            out.extend(_reminders(cond, st, now))
    return out


def on_tick(cond: Condition, st: State, now: datetime, watched_since: datetime | None = None) -> list[Transition]:
    """The passing of time. `watched_since`: when the rule started watching (for no-data before
    any value arrived)."""
    out: list[Transition] = []
    if cond.no_data_minutes > 0 and st.nodata_since is None:
        ref = st.last_observed_at or watched_since
        if ref is not None and now - ref >= timedelta(minutes=cond.no_data_minutes):
            st.nodata_since = now
            quiet = in_quiet_hours(cond, now)
            out.append(Transition("nodata", now, st.last_value, st.last_observed_at,
                                  duration=now - ref, mail=not quiet, note="quiet_hours" if quiet else ""))
    if (st.status == "pending" and st.nodata_since is None and st.last_value is not None
            and breaches(cond.op, st.last_value, cond.threshold)
            and now - st.pending_since >= timedelta(minutes=cond.for_minutes)):
        out.append(_fire(cond, st, now, st.last_value, st.last_observed_at, now, late=False))
    out.extend(_reminders(cond, st, now))
    return out


def needs_tick(cond: Condition, st: State) -> bool:
    """Whether the passing of time can change anything for this state (saves work in the worker)."""
    return (cond.no_data_minutes > 0 and st.nodata_since is None) or st.status == "pending" \
        or (st.status == "firing" and (st.notify_owed or cond.repeat_minutes > 0))


# --- targets: which subjects a rule watches -----------------------------------------------------

def in_area(area, lon: float, lat: float) -> bool:
    if not area or len(area) != 4:
        return False
    minx, miny, maxx, maxy = (float(v) for v in area)
    return minx <= lon <= maxx and miny <= lat <= maxy


def numeric(value) -> float | None:
    """A property value as a number, or None (text like '12 cm' or '１２' counts)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value) if value == value else None
    text = str(value).strip().translate(str.maketrans("０１２３４５６７８９．－", "0123456789.-"))
    num = ""
    for ch in text:
        if ch.isdigit() or ch in ".-" and (ch != "-" or not num):
            num += ch
        elif num:
            break
    try:
        return float(num)
    except ValueError:
        return None


def feature_values(features: list[dict], prop: str) -> list[tuple[str, float, dict]]:
    """(subject, value, place) for every GeoJSON feature dict with a numeric `prop`."""
    out = []
    for i, feat in enumerate(features):
        props = feat.get("properties") or {}
        value = numeric(props.get(prop))
        if value is None:
            continue
        fid = str(feat.get("id") if feat.get("id") not in (None, "") else i + 1)
        lon, lat = representative_point(feat.get("geometry"))
        name = next((str(props[k]) for k in ("name", "名称", "施設名", "施設・場所名", "title") if props.get(k)), fid)
        out.append((f"feature:{fid}", value, {"name_ja": name, "name_en": name, "lon": lon, "lat": lat}))
    return out


def representative_point(geometry) -> tuple[float | None, float | None]:
    """A point for the map link: the point itself, else the first coordinate's ring centre."""
    if not geometry:
        return None, None
    coords = geometry.get("coordinates")
    while isinstance(coords, list) and coords and isinstance(coords[0], list) and isinstance(coords[0][0], list):
        coords = coords[0]
    if isinstance(coords, list) and coords and isinstance(coords[0], (int, float)):
        return round(float(coords[0]), 6), round(float(coords[1]), 6)
    if isinstance(coords, list) and coords:
        xs = [c[0] for c in coords]
        ys = [c[1] for c in coords]
        return round(sum(xs) / len(xs), 6), round(sum(ys) / len(ys), 6)
    return None, None


def road_value(hours_since_cleared: float | None, nearby_depth: float | None, depth_over: float) -> float:
    """Road rule input: hours a segment has gone uncleared, counted only while a nearby sensor reads
    more than `depth_over` cm (0 otherwise), compared by the rule with `>= N hours`."""
    if hours_since_cleared is None or nearby_depth is None or nearby_depth <= depth_over:
        return 0.0
    return float(hours_since_cleared)
