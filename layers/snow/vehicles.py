"""The fleet: positions, 30-minute trails, states, and the compact rows the browser gets."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from store.db import utcnow

OFFLINE_S = 300  # no fix for 5 minutes: offline
IDLE_KMH = 3.0
TRAIL_S = 1800
TRAIL_STEP_S = 20  # trails keep a point every 20 s at most (~150 m at plowing speed)
POS_DECIMALS = 5  # ~1 m: plenty for a marker, and fewer bytes per refresh
STATE_CODES = {"active": 0, "idle": 1, "offline": 2}
WORK_ROW_CODES = {"plowing": 0, "spreading": 1, "travel": 2}


def vehicle_state(last_t: float | None, speed: float | None, at: float) -> str:
    if last_t is None or at - last_t > OFFLINE_S:
        return "offline"
    return "idle" if (speed or 0.0) < IDLE_KMH else "active"


def _thin(points: list[list], step: float = TRAIL_STEP_S) -> list[list]:
    out: list[list] = []
    for p in points:
        if not out or p[2] - out[-1][2] >= step:
            out.append(p)
    return out


def vehicles_at(s, at: datetime | None = None, live: bool = False) -> dict[str, dict]:
    """vehicle id -> {lon, lat, heading, speed, work, t (epoch s), state, trail [[lon, lat, t]…]}.

    The picture at `at` (default now). live: fixes stamped up to 2 minutes ahead count, and
    vehicles silent for longer than the trail window still belong in the table."""
    from store.snow import fixes_between, vehicles

    at = at or utcnow()
    now = at.timestamp()
    until = at + timedelta(minutes=2) if live else at
    fixes = fixes_between(s, at - timedelta(seconds=TRAIL_S), until)
    out: dict[str, dict] = {}
    for f in fixes:
        v = out.setdefault(f.vehicle_id, {"trail": []})
        v["trail"].append([round(f.lon, POS_DECIMALS), round(f.lat, POS_DECIMALS), int(f.time.timestamp())])
        v.update(lon=round(f.lon, POS_DECIMALS), lat=round(f.lat, POS_DECIMALS), heading=f.heading, speed=f.speed,
                 work=f.work, t=int(f.time.timestamp()))
    if live:
        for vid, veh in vehicles(s).items():
            if vid not in out and veh.last_time is not None and veh.last_time <= until:
                out[vid] = {"trail": [],
                            "lon": round(veh.last_lon, POS_DECIMALS), "lat": round(veh.last_lat, POS_DECIMALS),
                            "heading": veh.last_heading, "speed": veh.last_speed, "work": veh.last_work,
                            "t": int(veh.last_time.timestamp())}
    for v in out.values():
        v["trail"] = _thin(v["trail"])
        v["state"] = vehicle_state(v.get("t"), v.get("speed"), now)
    return out


def advance_vehicles(prev: dict[str, dict], new_fixes: list, at: float) -> dict[str, dict]:
    """The live vehicle picture one refresh later: prev + fixes that arrived since (no trail query)."""
    out = {vid: {**v, "trail": list(v["trail"])} for vid, v in prev.items()}
    for f in new_fixes:
        ts = int(f.time.timestamp())
        v = out.setdefault(f.vehicle_id, {"trail": []})
        if v.get("t") is not None and ts < v["t"]:
            continue
        if not v["trail"] or ts - v["trail"][-1][2] >= TRAIL_STEP_S:
            v["trail"].append([round(f.lon, POS_DECIMALS), round(f.lat, POS_DECIMALS), ts])
        v.update(lon=round(f.lon, POS_DECIMALS), lat=round(f.lat, POS_DECIMALS), heading=f.heading, speed=f.speed,
                 work=f.work, t=ts)
    for v in out.values():
        v["trail"] = [p for p in v["trail"] if p[2] > at - TRAIL_S]
        v["state"] = vehicle_state(v.get("t"), v.get("speed"), at)
    return out


def vehicle_row(v: dict, add: list) -> list:
    """A vehicle as the browser gets it: [lon, lat, heading, speed, work, t, state, trail points to add,
    bad fixes dropped (live only)]
    (work: 0 plowing 1 spreading 2 travel; state: 0 active 1 idle 2 offline) — short, as 300 travel each refresh."""
    return [v.get("lon"), v.get("lat"), None if v.get("heading") is None else round(v["heading"]),
            None if v.get("speed") is None else round(v["speed"]), WORK_ROW_CODES.get(v.get("work"), 2), v.get("t"),
            STATE_CODES.get(v.get("state"), 2), add, v.get("rej")]


def vehicle_delta(old: dict[str, dict], new: dict[str, dict]) -> dict[str, list]:
    """Vehicles that moved or changed state, with only the trail points the browser lacks."""
    out = {}
    for vid, v in new.items():
        o = old.get(vid)
        if o is not None and all(o.get(k) == v.get(k) for k in ("t", "state", "rej")):
            continue
        since = o.get("t", -1) if o else -1
        out[vid] = vehicle_row(v, [p for p in v["trail"] if p[2] > since] if o else v["trail"])
    return out


def ingest_fixes(db, items: list, now: datetime, data_path: Path):
    """The one ingest path (API, demo feed, FIWARE Vehicle entities): see sources/fixes.py."""
    from sources.fixes import ingest

    return ingest(db, items, now, data_path / "boundaries/ishikawa_municipalities.geojson")
