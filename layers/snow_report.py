"""Storm report: how a night (or any stretch of time) of snow removal went.

For a window [start, end) (stored UTC, chosen and shown in JST):

* per area, per route and in total: the share of road length cleared (first plowing or spreading
  pass) within 3 / 6 / 12 hours of the start, the share cleared at all in the window, and the time
  from the start to the first pass over the segments that got one (median and maximum, hours);
* per vehicle: road km plowed and km spread (the length of the segments it passed while
  plowing / spreading), and hours working (moving at ≥ 3 km/h while plowing or spreading), travelling
  (moving otherwise) and idle (standing) — counted between consecutive fixes; a gap longer than
  the offline limit (5 minutes) counts as neither.

`compute` is a plain function over plain values (tested with hand-made passes and fixes);
`report` fetches those values with SQL (store/snow.py) and calls it. No Dash, no Flask.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from refusal import Refused
from timezones import JST

WITHIN_H = (3, 6, 12)
OFFLINE_S = 300  # same limit as the live page: longer gaps are not counted
IDLE_KMH = 3.0
MAX_DAYS = 31
NIGHT_START_H, NIGHT_END_H = 18, 8


@dataclass(frozen=True)
class Seg:
    id: str
    route: str
    area: str
    length_m: float


# --- the window -----------------------------------------------------------------------------------

def default_window(now: datetime) -> tuple[datetime, datetime]:
    """Last night: 18:00 JST of the day before today (JST) until 08:00 JST today."""
    day = now.astimezone(JST).date()
    start = datetime(day.year, day.month, day.day, NIGHT_START_H, tzinfo=JST) - timedelta(days=1)
    end = datetime(day.year, day.month, day.day, NIGHT_END_H, tzinfo=JST)
    return start.astimezone(UTC), end.astimezone(UTC)


def _parse(text: str, end: bool) -> datetime:
    text = text.strip().replace(" ", "T") if "T" not in text else text.strip()
    if len(text) == 10:  # a date: its whole day (an end date includes that day)
        d = datetime.fromisoformat(text).replace(tzinfo=JST)
        return d + timedelta(days=1) if end else d
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (dt if dt.tzinfo else dt.replace(tzinfo=JST)).astimezone(UTC)  # bare times are JST


def parse_window(start: str | None, end: str | None, now: datetime) -> tuple[datetime, datetime]:
    """The window asked for (ISO date-times or dates; bare ones are JST), default last night.

    Raises Refused(400) for unreadable times, an end not after the start, or more than 31 days."""
    d_start, d_end = default_window(now)
    try:
        s = _parse(start, False).astimezone(UTC) if start else d_start
        e = _parse(end, True).astimezone(UTC) if end else (s + (d_end - d_start) if start else d_end)
    except ValueError:
        raise Refused(400, "bad_time", "snow.report.bad_time", [{"start": start, "end": end}]) from None
    if e <= s:
        raise Refused(400, "bad_window", "snow.report.bad_window", [{"start": s.isoformat(), "end": e.isoformat()}])
    if e - s > timedelta(days=MAX_DAYS):
        raise Refused(400, "bad_window", "snow.report.too_long", [{"max_days": MAX_DAYS}], days=MAX_DAYS)
    return s, e


# --- the computation ------------------------------------------------------------------------------

def _road_row(name: str, segs: list[Seg], first: dict[str, float], start: float, end: float) -> dict:
    total = sum(g.length_m for g in segs)
    within = {}
    for h in WITHIN_H:
        limit = min(start + h * 3600, end)
        within[h] = sum(g.length_m for g in segs if g.id in first and first[g.id] <= limit)
    delays = sorted((first[g.id] - start) / 3600 for g in segs if g.id in first)
    cleared = sum(g.length_m for g in segs if g.id in first)
    return {"name": name, "segments": len(segs), "segments_cleared": len(delays),
            "total_km": round(total / 1000, 3), "cleared_km": round(cleared / 1000, 3),
            "share": round(cleared / total, 4) if total else 0.0,
            **{f"share_{h}h": round(within[h] / total, 4) if total else 0.0 for h in WITHIN_H},
            "first_median_h": round(statistics.median(delays), 2) if delays else None,
            "first_max_h": round(delays[-1], 2) if delays else None}


def compute(segs: list[Seg], first_pass: dict[str, datetime], lengths: list[tuple[str, str, float]],
            fixes: list[tuple[str, datetime, float | None, str]], start: datetime, end: datetime) -> dict:
    """The report.

    segs: the network; first_pass: segment id -> time of its first plowing/spreading pass in the
    window; lengths: (vehicle id, work, metres of road passed with that work) in the window;
    fixes: (vehicle id, time, speed km/h, work) in the window, ordered by vehicle then time.
    """
    t0, t1 = start.timestamp(), end.timestamp()
    first = {sid: when.timestamp() for sid, when in first_pass.items() if t0 <= when.timestamp() < t1}
    groups: dict[str, dict[str, list[Seg]]] = {"area": {}, "route": {}}
    for g in segs:
        groups["area"].setdefault(g.area or "-", []).append(g)
        groups["route"].setdefault(g.route or "-", []).append(g)
    out = {"start": start, "end": end, "within_h": list(WITHIN_H),
           "total": _road_row("", segs, first, t0, t1),
           "area": [_road_row(k, v, first, t0, t1) for k, v in sorted(groups["area"].items())],
           "route": [_road_row(k, v, first, t0, t1) for k, v in sorted(groups["route"].items())]}
    vehicles: dict[str, dict] = {}

    def vrow(vid):
        return vehicles.setdefault(vid, {"id": vid, "plowed_km": 0.0, "spread_km": 0.0, "travel_km": 0.0,
                                         "working_h": 0.0, "travel_h": 0.0, "idle_h": 0.0, "offline_h": 0.0})

    for vid, work, metres in lengths:
        key = {"plowing": "plowed_km", "spreading": "spread_km"}.get(work, "travel_km")
        vrow(vid)[key] += (metres or 0.0) / 1000
    prev = None
    for vid, when, speed, work in fixes:
        row = vrow(vid)
        if prev is not None and prev[0] == vid:
            a, b = max(prev[1].timestamp(), t0), min(when.timestamp(), t1)
            if b > a:
                hours = (b - a) / 3600
                if when.timestamp() - prev[1].timestamp() > OFFLINE_S:
                    row["offline_h"] += hours
                elif (prev[2] or 0.0) < IDLE_KMH:
                    row["idle_h"] += hours
                elif prev[3] in ("plowing", "spreading"):
                    row["working_h"] += hours
                else:
                    row["travel_h"] += hours
        prev = (vid, when, speed, work)
    for row in vehicles.values():
        for k in ("plowed_km", "spread_km", "travel_km"):
            row[k] = round(row[k], 3)
        for k in ("working_h", "travel_h", "idle_h", "offline_h"):
            row[k] = round(row[k], 3)
    out["vehicles"] = [vehicles[k] for k in sorted(vehicles)]
    return out


def report(s, start: datetime, end: datetime) -> dict:
    """The report over the stored passes and fixes (the sums and minima are done in SQL)."""
    from store.snow import first_working_passes, pass_lengths_by_vehicle, report_fixes, segments

    segs = [Seg(g.id, g.route, g.area, g.length_m or 0.0) for g in segments(s)]
    return compute(segs, first_working_passes(s, start, end), pass_lengths_by_vehicle(s, start, end),
                   report_fixes(s, start, end), start, end)


def fmt_window(start: datetime, end: datetime) -> str:
    a, b = start.astimezone(JST), end.astimezone(JST)
    return f"{a:%Y-%m-%d %H:%M} – {b:%Y-%m-%d %H:%M} JST"


def hours_text(h: float | None) -> str:
    """1.5 -> '1:30' (h:mm); None -> '–'."""
    if h is None:
        return "–"
    minutes = int(round(h * 60))
    return f"{minutes // 60}:{minutes % 60:02d}"


# --- the CSV (plain rows; the API writes them with csvcell) ---------------------------------------

def csv_rows(rep: dict, part: str, label) -> list[list]:
    """Rows of the CSV: part 'roads' (total, areas, routes) or 'vehicles'; label(key) gives headers."""
    jst = lambda d: d.astimezone(JST).strftime("%Y-%m-%d %H:%M")  # noqa: E731
    if part == "vehicles":
        head = [label("col.vehicle"), label("col.start"), label("col.end"), label("col.plowed_km"),
                label("col.spread_km"), label("col.working_h"), label("col.travel_h"), label("col.idle_h"),
                label("col.offline_h")]
        rows = [head]
        for v in rep["vehicles"]:
            rows.append([v["id"], jst(rep["start"]), jst(rep["end"]), v["plowed_km"], v["spread_km"],
                         v["working_h"], v["travel_h"], v["idle_h"], v["offline_h"]])
        return rows
    head = [label("col.kind"), label("col.name"), label("col.start"), label("col.end"), label("col.total_km"),
            *[label(f"col.share_{h}h") for h in WITHIN_H], label("col.share"),
            label("col.first_median_h"), label("col.first_max_h"), label("col.segments"),
            label("col.segments_cleared")]
    rows = [head]
    for kind, items in (("total", [rep["total"]]), ("area", rep["area"]), ("route", rep["route"])):
        for r in items:
            rows.append([label(f"kind.{kind}"), r["name"] if kind != "total" else label("kind.total"),
                         jst(rep["start"]), jst(rep["end"]), r["total_km"],
                         *[r[f"share_{h}h"] for h in WITHIN_H], r["share"], r["first_median_h"], r["first_max_h"],
                         r["segments"], r["segments_cleared"]])
    return rows
