"""Snow removal: road status coloured by time since a plow cleared it.

The layer kind (public layer 除雪状況: road colours only, no vehicle details) and the plain
functions the /snow page and the API use: road states, vehicle snapshots, deltas between two
moments, progress per route and area. No Dash here.

Road states go to the browser as {segment id: [minutes since epoch, work code]}; the browser's
style function turns them into colours with the current (or replayed) time, so a refresh only
has to carry the segments that changed.
"""
from __future__ import annotations

import hashlib
import logging
import time as _time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from i18n import t
from keylock import key_lock
from layers.base import LayerKind, LegendItem, MapSpec, layer_attribution
from store.db import utcnow
from timezones import JST

log = logging.getLogger(__name__)

NETWORK_FILE = "roads/demo_roads_hakui.geojson"
BUILTIN_SOURCE = "builtin:" + NETWORK_FILE
BANDS_H = [1, 3, 6, 12, 24]  # upper bounds (hours) of the age classes; older: not cleared
# a viridis-like sequence, dark (just cleared) to light (long ago): each step differs in lightness as
# well as hue, so it reads with every kind of colour-vision deficiency; "not cleared" is Okabe–Ito
# vermillion and drawn thinner
BAND_COLORS = ["#440154", "#3b528b", "#21918c", "#58b550", "#e6d11c"]
NOT_CLEARED_COLOR = "#d55e00"
TRAIL_COLORS = {"plowing": "#e7298a", "spreading": "#7b3294", "travel": "#555"}  # as assets/snow.js draws them
PLOW_COLORS = {"plowing": "#111111", "spreading": "#7b3294", "travel": "#666666", "idle": "#b08900",
               "offline": "#bbbbbb"}  # as the arrows are drawn (assets/style.css)
WORK_CODES = {"plowing": 1, "spreading": 2}
WORK_NAMES = {v: k for k, v in WORK_CODES.items()}
REFRESH_S = 5  # /snow refresh period = cache bucket
OFFLINE_S = 300  # no fix for 5 minutes: offline
IDLE_KMH = 3.0
TRAIL_S = 1800
TRAIL_STEP_S = 20  # trails keep a point every 20 s at most (~150 m at plowing speed)
POS_DECIMALS = 5  # ~1 m: plenty for a marker, and fewer bytes per refresh
FEED_STALE_S = 120


# --- the network ---------------------------------------------------------------------------------

def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def ensure_network(s, data_path: Path) -> bool:
    """Load the shipped demo network at first start (and when its file changed); a network a road
    manager loaded with `load-roads` is never replaced. True when something was loaded."""
    from sources.geojson_file import read_features
    from store.snow import network, replace_network

    path = data_path / NETWORK_FILE
    net = network(s)
    if net is not None and not net.source.startswith("builtin:"):
        return False
    digest = _digest(path)
    if net is not None and net.digest == digest:
        return False
    count = replace_network(s, read_features(path), BUILTIN_SOURCE, digest)
    _bump_layer(s)
    log.info("snow removal: %d road segments loaded from %s", count, NETWORK_FILE)
    if net is not None:  # a new version of the shipped network: the fixes we have give its passes
        from sources.fixes import rematch_in

        s.flush()
        rematch_in(s, str(s.get_bind().url), utcnow() - timedelta(hours=26))
    return True


def load_network_file(db, path: Path, data_path: Path) -> int:
    """Replace the network by a road manager's own file (GeoJSON, GeoPackage…); see README."""
    from sources.fixes import rematch
    from sources.roads import municipality_areas, read_network_file
    from store.snow import replace_network

    feats = read_network_file(Path(path), municipality_areas(data_path / "boundaries/ishikawa_municipalities.geojson"))
    with db.session() as s:
        count = replace_network(s, feats, f"file:{Path(path).name}", _digest(Path(path)))
        _bump_layer(s)
    rematch(db, utcnow() - timedelta(hours=26))  # the last day's passes, on the new network
    return count


def _bump_layer(s) -> None:
    from store.layers import touch_layer
    from store.models import Layer

    layer = s.get(Layer, "snow-removal")
    if layer is not None:
        from store.snow import network

        net = network(s)
        touch_layer(s, layer, feature_count=net.segment_count if net else 0)


# --- the layer kind ------------------------------------------------------------------------------

def legend_items(lang: str, win: float | None = None) -> list[LegendItem]:
    """The road colours; with a window of `win` hours (the /snow progress window) only the classes
    within it, and "not cleared in the last win hours" for the rest, as the map draws them."""
    labels = ["legend.plow.lt1", "legend.plow.1_3", "legend.plow.3_6", "legend.plow.6_12", "legend.plow.12_24"]
    items = [LegendItem(t(k, lang), c, "road") for k, c, bound in zip(labels, BAND_COLORS, BANDS_H)
             if win is None or bound <= win]
    none = (t("legend.plow.none", lang) if win is None or win >= BANDS_H[-1]
            else t("snow.legend.none_in", lang, hours=f"{win:g}"))
    return items + [LegendItem(none, NOT_CLEARED_COLOR, "road"),
                    LegendItem(t("legend.plow.spreading", lang), "#555", "dash")]


def style_hideout(lang: str, states: dict | None = None, at: float | None = None, win: float | None = None) -> dict:
    """What the road style function needs; win: hours of the chosen window (older clearings are drawn
    as not cleared), None: the full 24 hours."""
    return {"bands": BANDS_H, "colors": BAND_COLORS, "none": NOT_CLEARED_COLOR, "win": win,
            "s": states or {}, "t": at if at is not None else _time.time(),
            "labels": {"name": t("snow.segment", lang), "route": t("snow.route", lang), "area": t("snow.area", lang),
                       "cleared": t("snow.cleared_at", lang), "never": t("snow.not_cleared_24h", lang),
                       "plowing": t("snow.work.plowing", lang), "spreading": t("snow.work.spreading", lang)}}


class SnowplowKind(LayerKind):
    """Road segments; the browser colours them from /api/snow/status (only changes after the first)."""

    kind = "snowplow"

    def features(self, s, layer, bbox=None, at=None, zoom=None):
        from store.snow import segments_collection_bytes

        return segments_collection_bytes(s)

    def map_spec(self, layer, lang, zoom=None):
        hideout = style_hideout(lang)
        hideout["poll"] = {"url": "/api/snow/status?geometry=false", "every": 30}
        return MapSpec(type="geojson", url=f"/api/layers/{layer.id}/features?v={layer.version}",
                       attribution=layer_attribution(layer, lang), props={
                           "style": {"variable": "ishikawaMap.snowRoadStyle"},
                           "onEachFeature": {"variable": "ishikawaMap.snowRoadLive"},
                           "hideout": hideout,
                       })

    def legend(self, layer, lang):
        return legend_items(lang)


# --- road states ---------------------------------------------------------------------------------

def road_states(s, at: datetime | None = None) -> dict[str, list]:
    """segment id -> [minutes since epoch of the last clearing, work code] (last 24 h before `at`)."""
    from store.snow import last_cleared

    return {sid: [int(when.timestamp() // 60), WORK_CODES.get(work, 1)]
            for sid, (when, work) in last_cleared(s, at).items()}


def diff_states(old: dict, new: dict) -> tuple[dict, list]:
    """(changed or added entries, removed ids) turning old into new."""
    changed = {k: v for k, v in new.items() if old.get(k) != v}
    removed = [k for k in old if k not in new]
    return changed, removed


def band_of(minute: int | None, at: float) -> int:
    """0..4 = the age class of a clearing at `minute`, seen at `at` (epoch s); 5 = not cleared."""
    if minute is None:
        return len(BANDS_H)
    age_h = (at - minute * 60) / 3600.0
    for i, bound in enumerate(BANDS_H):
        if age_h < bound:
            return i
    return len(BANDS_H)


# --- progress ------------------------------------------------------------------------------------

def progress(segs: list, states: dict, at: float, hours: float = 3.0) -> dict:
    """Share of road length cleared within `hours` before `at`, per route and per area.

    segs: objects with id, route, area, length_m. Returns {"route": [...], "area": [...], "total": {...}}
    with rows {"name", "cleared_m", "total_m", "share"} sorted by name.
    """
    limit = at - hours * 3600
    acc: dict[str, dict[str, list[float]]] = {"route": {}, "area": {}}
    total = [0.0, 0.0]
    for seg in segs:
        st = states.get(seg.id)
        done = st is not None and st[0] * 60 >= limit and st[0] * 60 <= at + 120
        for key, name in (("route", seg.route), ("area", seg.area)):
            row = acc[key].setdefault(name or "-", [0.0, 0.0])
            row[1] += seg.length_m
            if done:
                row[0] += seg.length_m
        total[1] += seg.length_m
        if done:
            total[0] += seg.length_m

    def rows(d):
        return [{"name": k, "cleared_m": round(v[0], 1), "total_m": round(v[1], 1),
                 "share": round(v[0] / v[1], 4) if v[1] else 0.0} for k, v in sorted(d.items())]

    return {"route": rows(acc["route"]), "area": rows(acc["area"]), "hours": hours,
            "total": {"cleared_m": round(total[0], 1), "total_m": round(total[1], 1),
                      "share": round(total[0] / total[1], 4) if total[1] else 0.0}}


# --- vehicles ------------------------------------------------------------------------------------

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


STATE_CODES = {"active": 0, "idle": 1, "offline": 2}
WORK_ROW_CODES = {"plowing": 0, "spreading": 1, "travel": 2}


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


# --- snapshots: one computation per refresh interval, shared by every viewer --------------------

COMPUTE_COUNT = {"live": 0, "replay": 0}
def live_key(now: float) -> str:
    return f"L{int(now // REFRESH_S) * REFRESH_S}"


def replay_key(at: float) -> str:
    return f"R{int(at // 60) * 60}"


def _compute(db, key: str, cache) -> dict:
    from store.snow import fixes_after_id, max_ids, newest_fix, segments

    kind, stamp = key[0], int(key[1:])
    with db.session() as s:
        fix_id, pass_id = max_ids(s)
        if kind == "L":
            COMPUTE_COUNT["live"] += 1
            prev = cache.get(f"snow:snap:{live_key(stamp - REFRESH_S)}") if cache is not None else None
            if prev is not None and prev.get("fix_id", 0) <= fix_id:
                vehs = advance_vehicles(prev["vehicles"], fixes_after_id(s, prev["fix_id"], fix_id), stamp)
            else:
                vehs = vehicles_at(s, datetime.fromtimestamp(stamp, tz=UTC), live=True)
            roads = road_states(s, datetime.fromtimestamp(stamp + 120, tz=UTC))
            newest, received = newest_fix(s)
            from store.snow import vehicles as vehicle_rows

            for vid, veh in vehicle_rows(s, list(vehs)).items():  # bad fixes dropped so far, per vehicle
                vehs[vid] = {**vehs[vid], "rej": sum((veh.rejected or {}).values())}
        else:
            COMPUTE_COUNT["replay"] += 1
            at = datetime.fromtimestamp(stamp, tz=UTC)
            vehs = vehicles_at(s, at)
            roads = road_states(s, at)
            newest, received = None, None
        segs = segments(s)
    prog = progress(segs, roads, stamp)
    return {"key": key, "t": stamp, "fix_id": fix_id, "pass_id": pass_id, "roads": roads, "vehicles": vehs,
            "progress": prog, "newest_fix": newest.timestamp() if newest else None,
            "received": received.timestamp() if received else None}


def snapshot(db, key: str, cache=None, ttl: int = 600) -> dict:
    """The snapshot for a key ("L<bucket>" live, "R<minute>" replay), computed once per key.

    With Redis (several gunicorn workers) a lock key makes the other processes wait for the one
    computing; inside a process a lock does the same for threads.
    """
    if cache is None:
        return _compute(db, key, None)
    ckey = f"snow:snap:{key}"
    value = cache.get(ckey)
    if value is not None:
        return value
    with key_lock(ckey):
        value = cache.get(ckey)
        if value is not None:
            return value
        lock_key = ckey + ":lock"
        if not cache.add(lock_key, 1, timeout=30):
            deadline = _time.monotonic() + 10
            while _time.monotonic() < deadline:
                value = cache.get(ckey)
                if value is not None:
                    return value
                _time.sleep(0.05)
        try:
            value = _compute(db, key, cache)
            cache.set(ckey, value, timeout=ttl)
        finally:
            cache.delete(lock_key)
        return value


def refresh_payload(db, cache, client_key: str | None, now: float,
                    replay_at: float | None = None) -> tuple[str, dict | None]:
    """(new key, delta for a browser that holds `client_key`); delta None: nothing to send.

    delta = {"t", "roads": {changed}, "gone": [ids], "vehicles": {changed}, "reset": bool,
             "progress", "newest_fix", "received"}. reset: the browser's state was unknown here
    (evicted, first call): everything is sent and the browser replaces what it had.
    """
    key = replay_key(replay_at) if replay_at is not None else live_key(now)
    if key == client_key:
        return key, None
    new = snapshot(db, key, cache)
    old = snapshot_cached(cache, client_key)
    if old is None:
        delta = {"roads": new["roads"], "gone": [], "vehicles": vehicle_delta({}, new["vehicles"]), "reset": True}
    else:
        changed, gone = diff_states(old["roads"], new["roads"])
        if key[0] != client_key[0]:  # live <-> replay: vehicles jump, send them whole
            vdelta = vehicle_delta({}, new["vehicles"])
            reset_v = True
        else:
            vdelta = vehicle_delta(old["vehicles"], new["vehicles"])
            reset_v = False
        gone_v = [v for v in old["vehicles"] if v not in new["vehicles"]]
        delta = {"roads": changed, "gone": gone, "vehicles": vdelta, "reset": False, "reset_vehicles": reset_v,
                 "gone_vehicles": gone_v}
    delta.update(t=new["t"], progress=new["progress"], newest_fix=new["newest_fix"], received=new["received"],
                 live=key[0] == "L")
    return key, delta


def snapshot_cached(cache, key: str | None) -> dict | None:
    if not key or cache is None:
        return None
    return cache.get(f"snow:snap:{key}")


def ingest_fixes(db, items: list, now: datetime, data_path: Path):
    """The one ingest path (API, demo feed, FIWARE Vehicle entities): see sources/fixes.py."""
    from sources.fixes import ingest

    return ingest(db, items, now, data_path / "boundaries/ishikawa_municipalities.geojson")


# --- the status API ------------------------------------------------------------------------------

def status_rows(s, states: dict, since: float | None) -> list[dict]:
    from store.snow import segments

    out = []
    for seg in segments(s):
        st = states.get(seg.id)
        cleared = st[0] * 60 if st else None
        if since is not None and (cleared is None or cleared < since):
            continue
        out.append({"id": seg.id, "name": seg.name, "route": seg.route, "area": seg.area,
                    "road_class": seg.road_class, "manager": seg.manager, "length_m": seg.length_m,
                    "cleared_at": datetime.fromtimestamp(cleared, tz=UTC).isoformat() if cleared else None,
                    "work": WORK_NAMES.get(st[1]) if st else None, "_geometry": seg.geometry})
    return out


def fmt_jst(epoch: float | None, with_date: bool = False) -> str:
    if epoch is None:
        return ""
    dt = datetime.fromtimestamp(epoch, tz=JST)
    return dt.strftime("%m/%d %H:%M:%S" if with_date else "%H:%M:%S")


def feed_message(snap: dict, now: float, lang: str) -> tuple[str, bool]:
    """(freshness text, stale?) for the badge: 最終更新 HH:MM:SS, or a warning when fixes stopped."""
    received = snap.get("received")
    if received is None:
        return t("snow.no_fixes", lang), True
    if now - received > FEED_STALE_S:
        return t("snow.feed_stopped", lang, time=fmt_jst(received, True)), True
    return t("snow.updated", lang, time=fmt_jst(received)), False


# --- the /snow page's data (plain values; the page turns them into components) ------------------

_SEGMENTS: dict[tuple, list] = {}


def network_segments(db) -> tuple[int, list]:
    """(network version, segments) kept per process until the network changes."""
    from store.snow import network, segments

    with db.session() as s:
        net = network(s)
        version = net.version if net else 0
        key = (db.url, version)
        if key not in _SEGMENTS:
            _SEGMENTS.clear()
            _SEGMENTS[key] = segments(s)
    return version, _SEGMENTS[key]


def network_view(db) -> dict:
    """Version (for the URL) and centre of the network."""
    import orjson as _oj

    version, segs = network_segments(db)
    if not segs:
        return {"version": version, "center": [36.9, 136.8], "bounds": None, "zoom": 10}
    xs, ys = [], []
    for seg in segs[:: max(1, len(segs) // 200)]:
        for x, y in _oj.loads(seg.geometry)["coordinates"][::4]:
            xs.append(x)
            ys.append(y)
    bounds = [[min(ys), min(xs)], [max(ys), max(xs)]]
    # the zoom at which the network fits a map of about 800 × 600 pixels
    import math

    span_x = max(bounds[1][1] - bounds[0][1], 1e-3)
    span_y = max(bounds[1][0] - bounds[0][0], 1e-3) / math.cos(math.radians(bounds[0][0]))
    zoom = int(min(math.log2(800 * 360 / 256 / span_x), math.log2(600 * 360 / 256 / span_y)))
    return {"version": version, "center": [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2],
            "bounds": bounds, "zoom": max(5, min(zoom, 16))}


def replay_time(now: float, minutes: float | None) -> float | None:
    """The replayed moment for a slider value (minutes before now; 0 or more: live)."""
    if minutes is None or minutes >= 0:
        return None
    return now + max(float(minutes), -24 * 60) * 60


def page_refresh(db, cache, client_key: str | None, now: float, minutes: float | None, hours: float) -> dict:
    """Everything one refresh of /snow needs: the delta for this browser, progress, freshness."""
    at = replay_time(now, minutes)
    key, delta = refresh_payload(db, cache, client_key, now, at)
    snap = snapshot(db, key, cache)
    live_snap = snap if at is None else snapshot(db, live_key(now), cache)
    _v, segs = network_segments(db)
    return {"key": key, "delta": delta, "t": snap["t"], "live": at is None,
            "progress": progress(segs, snap["roads"], snap["t"], hours), "feed": live_snap}


# --- alerts: road rules ---------------------------------------------------------------

_MIDS: dict[tuple, dict] = {}
NEARBY_SENSOR_M = 15_000.0


def _midpoints(s, segs) -> dict[str, tuple[float, float]]:
    from store.snow import network

    net = network(s)
    key = (str(s.get_bind().url), net.version if net else 0)
    if key not in _MIDS:
        import orjson as _oj
        import shapely
        from shapely.geometry import shape

        geoms = [shape(_oj.loads(g.geometry)) for g in segs]
        pts = shapely.line_interpolate_point(geoms, 0.5, normalized=True) if geoms else []
        _MIDS.clear()
        _MIDS[key] = {g.id: (round(p.x, 6), round(p.y, 6)) for g, p in zip(segs, pts)}
    return _MIDS[key]


def road_alert_segments(s, rule, now: datetime) -> list[dict]:
    """The road provider for alert rules (alerts.evaluation.register_road_provider): every segment the
    rule watches — all of the network, or those of `options.route` / `options.area` — with the hours
    since a plow last cleared it and the snow depth of the nearest sensor within 15 km.

    A segment not cleared within the kept history (26 h) counts as 26 hours; with no vehicle
    data at all the hours are unknown (None), so an idle installation mails nobody."""
    from sources.roads import ISHIKAWA
    from store.models import Sensor
    from store.snow import KEEP_HOURS, last_cleared, newest_fix, segments

    opts = getattr(rule, "options", None) or {}
    segs = [g for g in segments(s) if (not opts.get("route") or g.route == opts["route"])
            and (not opts.get("area") or g.area == opts["area"])]
    if not segs:
        return []
    cleared = last_cleared(s, now, window=timedelta(hours=KEEP_HOURS))
    have_data = newest_fix(s)[0] is not None
    mids = _midpoints(s, segs)
    from store.alerts import watchable_sensors

    # only sensors the rule's owner may see (a public rule: public ones)
    sensors = list(s.scalars(watchable_sensors(s, rule).where(Sensor.last_value.isnot(None))))
    sx, sy = ISHIKAWA.fwd([x.lon for x in sensors], [x.lat for x in sensors]) if sensors else ([], [])
    out = []
    for g in segs:
        lon, lat = mids[g.id]
        when = cleared.get(g.id)
        hours = ((now - when[0]).total_seconds() / 3600 if when else float(KEEP_HOURS)) if have_data else None
        depth = None
        if sensors:
            x, y = ISHIKAWA.fwd(lon, lat)
            d2 = (sx - x) ** 2 + (sy - y) ** 2
            k = int(d2.argmin())
            if d2[k] <= NEARBY_SENSOR_M ** 2:
                depth = sensors[k].last_value
        out.append({"subject": f"road:{g.id}", "name_ja": f"{g.name}（{g.area}）", "name_en": f"{g.name} ({g.area})",
                    "lon": lon, "lat": lat, "hours_since_cleared": None if hours is None else round(hours, 2),
                    "nearby_depth": depth})
    return out
