"""Snow removal against the store (SQLite and PostgreSQL): ingest, passes, replay, progress, the API,
the one-computation-per-refresh cache, the demo fleet and the load-roads command."""
from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from layers.snow import alerts, progress as progress_mod, roads, snapshot as snap, status, vehicles
from sources import demo_plows
from sources.fixes import ingest
from store import snow as st
from tests.test_snow_matching import BOUNDARIES, T0, chain, feature, fix, iso, ll

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime.fromtimestamp(T0, tz=UTC)


@pytest.fixture
def net_db(db):
    """A store with a small hand-made network in 羽咋市: route A (c0..c3) and route B (b0, b1)."""
    feats = chain(4) + [feature("b0", [(0, 400), (300, 400)], "B", "志賀町"),
                        feature("b1", [(300, 400), (600, 400)], "B", "志賀町")]
    for f in feats:
        f["properties"]["length_m"] = 300.0
    with db.session() as s:
        st.replace_network(s, feats, "test")
    return db


def deliver(db, items, now=NOW):
    return ingest(db, items, now, BOUNDARIES)


def test_ingest_stores_fixes_passes_and_counts_rejections(net_db):
    items = [fix("p1", iso(T0 - 100), 50, 0, work="plowing", speed=20), fix("p1", iso(T0 - 90), 150, 0),
             {"vehicle_id": "p1", "time": iso(T0 - 85), "lon": 0, "lat": 0},
             fix("p1", iso(T0 - 40), 1150, 0),  # a signal gap: c1, c2 filled
             fix("p1", iso(T0 - 40), 1150, 0),  # sent twice
             fix("p2", iso(T0 - 30), 100, 400, work="spreading"),
             {"vehicle_id": "p2", "lon": 136.8}]
    res = deliver(net_db, items)
    assert res.accepted == 4 and res.passes == 5
    assert [(r["index"], r["reason"]) for r in res.rejected] == [(2, "zero_position"), (4, "duplicate"), (6, "invalid")]
    with net_db.session() as s:
        vs = st.vehicles(s)
        assert vs["p1"].rejected == {"zero_position": 1, "duplicate": 1} and vs["p1"].accepted == 3
        assert vs["p2"].rejected == {"invalid": 1}
        assert vs["p1"].last_work == "plowing" and vs["p1"].last_segment == "c3"  # work kept from the first fix
        passes = sorted((p.segment_id, p.vehicle_id, p.work, p.filled) for p in s.query(st.Pass))
        assert passes == [("b0", "p2", "spreading", False), ("c0", "p1", "plowing", False),
                          ("c1", "p1", "plowing", True), ("c2", "p1", "plowing", True), ("c3", "p1", "plowing", False)]
        assert s.query(st.Fix).count() == 4
        # the bad fixes are nowhere in the fixes
        assert all(f.lon > 100 for f in s.query(st.Fix))


def test_a_second_delivery_continues_and_an_old_fix_is_refused(net_db):
    deliver(net_db, [fix("p", iso(T0 - 60), 50, 0, work="plowing"), fix("p", iso(T0 - 50), 120, 0)])
    res = deliver(net_db, [fix("p", iso(T0 - 55), 90, 0), fix("p", iso(T0 - 40), 200, 0),
                           fix("p", iso(T0 - 30), 400, 0)])
    assert [r["reason"] for r in res.rejected] == ["out_of_order"]
    with net_db.session() as s:
        assert sorted(p.segment_id for p in s.query(st.Pass)) == ["c0", "c1"]


def test_road_states_and_replay_at_a_past_time(net_db):
    deliver(net_db, [fix("p", iso(T0 - 7200), 50, 0, work="plowing"), fix("p", iso(T0 - 7190), 100, 0)], NOW)
    deliver(net_db, [fix("p", iso(T0 - 600), 350, 0, work="spreading"), fix("p", iso(T0 - 590), 400, 0)], NOW)
    with net_db.session() as s:
        now_states = roads.road_states(s, NOW)
        assert now_states == {"c0": [int((T0 - 7200) // 60), 1], "c1": [int((T0 - 600) // 60), 2]}
        past = roads.road_states(s, NOW - timedelta(hours=1))
        assert past == {"c0": [int((T0 - 7200) // 60), 1]}
        assert roads.road_states(s, NOW - timedelta(hours=3)) == {}
        # 24 hours later c0's clearing has left the window
        assert "c0" not in roads.road_states(s, NOW + timedelta(hours=23))
    assert roads.band_of(now_states["c0"][0], T0) == 1  # 2 h ago: 1–3 h
    assert roads.band_of(now_states["c1"][0], T0) == 0
    assert roads.band_of(None, T0) == 5


def test_progress_per_route_and_area_adds_up(net_db):
    deliver(net_db, [fix("p", iso(T0 - 100), 50, 0, work="plowing"), fix("p", iso(T0 - 20), 650, 0),
                     fix("q", iso(T0 - 5000 * 3), 100, 400, work="plowing")], NOW)
    with net_db.session() as s:
        segs = st.segments(s)
        states = roads.road_states(s, NOW)
    prog = progress_mod.progress(segs, states, T0, hours=3)
    route = {r["name"]: r for r in prog["route"]}
    area = {r["name"]: r for r in prog["area"]}
    assert route["A"]["cleared_m"] == 900.0 and route["A"]["total_m"] == 1200.0 and route["A"]["share"] == 0.75
    assert route["B"]["cleared_m"] == 0.0  # q cleared b0 more than 3 hours ago
    assert area["羽咋市"]["share"] == 0.75 and area["志賀町"]["total_m"] == 600.0
    assert prog["total"] == {"cleared_m": 900.0, "total_m": 1800.0, "share": 0.5}
    assert sum(r["total_m"] for r in prog["route"]) == sum(r["total_m"] for r in prog["area"]) == 1800.0
    prog24 = progress_mod.progress(segs, states, T0, hours=24)
    assert {r["name"]: r["cleared_m"] for r in prog24["route"]} == {"A": 900.0, "B": 300.0}


def test_deltas_carry_only_what_changed(net_db):
    from flask import Flask
    from flask_caching import Cache

    app = Flask("t")
    cache = Cache(app, config={"CACHE_TYPE": "SimpleCache"})
    deliver(net_db, [fix("p", iso(T0 - 60), 50, 0, work="plowing"), fix("p", iso(T0 - 50), 100, 0)], NOW)
    with app.app_context():
        k1, first = snap.refresh_payload(net_db, cache, None, T0, None)
        assert first["reset"] and set(first["roads"]) == {"c0"} and set(first["vehicles"]) == {"p"}
        row = first["vehicles"]["p"]  # [lon, lat, heading, speed, work, t, state, trail points]
        assert row[4] == 0 and row[5] == int(T0 - 50) and [p[2] for p in row[7]] == [int(T0 - 60)] and row[8] == 0
        k_same, nothing = snap.refresh_payload(net_db, cache, k1, T0 + 1, None)
        assert k_same == k1 and nothing is None
        deliver(net_db, [fix("p", iso(T0 - 10), 350, 0),
                         {"vehicle_id": "p", "time": iso(T0 - 5), "lon": 0, "lat": 0}], NOW)
        k2, d = snap.refresh_payload(net_db, cache, k1, T0 + snap.REFRESH_S, None)
        assert d["reset"] is False and d["roads"] == {"c1": [int((T0 - 10) // 60), 1]} and d["gone"] == []
        assert list(d["vehicles"]) == ["p"] and [p[2] for p in d["vehicles"]["p"][7]] == [int(T0 - 10)]
        assert d["vehicles"]["p"][8] == 1  # the (0,0) fix, dropped and counted
        # replaying an hour back: the roads cleared since are taken away again
        k3, r = snap.refresh_payload(net_db, cache, k2, T0 + snap.REFRESH_S, T0 - 3600)
        assert k3.startswith("R") and sorted(r["gone"]) == ["c0", "c1"] and r["reset_vehicles"]


def test_one_computation_per_key_however_many_viewers(net_db):
    from flask import Flask
    from flask_caching import Cache

    app = Flask("t")
    cache = Cache(app, config={"CACHE_TYPE": "SimpleCache"})
    deliver(net_db, [fix("p", iso(T0 - 60), 50, 0, work="plowing")], NOW)
    before = dict(snap.COMPUTE_COUNT)
    results, barrier = [], threading.Barrier(40)

    def viewer():
        with app.app_context():
            barrier.wait()
            results.append(snap.snapshot(net_db, snap.live_key(T0), cache)["roads"])

    threads = [threading.Thread(target=viewer) for _ in range(40)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(results) == 40 and all(r == results[0] for r in results)
    assert snap.COMPUTE_COUNT["live"] - before["live"] == 1
    with app.app_context():
        snap.snapshot(net_db, snap.live_key(T0 + snap.REFRESH_S), cache)
    assert snap.COMPUTE_COUNT["live"] - before["live"] == 2  # the next interval: one more


def test_freshness_badge_says_when_the_feed_stopped():
    text, stale = status.feed_message({"received": T0 - 30}, T0, "ja")
    assert not stale and text == "最終更新 " + status.fmt_jst(T0 - 30)
    text, stale = status.feed_message({"received": T0 - 600}, T0, "en")
    assert stale and text.startswith("Vehicle positions have stopped arriving")
    assert status.feed_message({"received": None}, T0, "ja") == ("車両位置をまだ受信していません", True)
    assert vehicles.vehicle_state(T0 - 299, 20, T0) == "active" and vehicles.vehicle_state(T0 - 10, 0, T0) == "idle"
    assert vehicles.vehicle_state(T0 - 301, 20, T0) == "offline" and vehicles.vehicle_state(None, None, T0) == "offline"


def test_replacing_the_network_drops_passes_of_the_old_one(net_db):
    deliver(net_db, [fix("p", iso(T0 - 60), 50, 0, work="plowing")], NOW)
    with net_db.session() as s:
        v1 = st.network(s).version
        st.replace_network(s, [feature("n0", [(0, 0), (300, 0)])], "other")
    with net_db.session() as s:
        assert st.network(s).version == v1 + 1 and s.query(st.Pass).count() == 0
        assert [g.id for g in st.segments(s)] == ["n0"] and s.query(st.Fix).count() == 1


def test_passes_are_rebuilt_from_the_fixes_on_a_new_network(net_db):
    from sources.fixes import rematch

    deliver(net_db, [fix("p", iso(T0 - 60), 50, 0, work="plowing"), fix("p", iso(T0 - 30), 1000, 0)], NOW)
    with net_db.session() as s:  # the same road, cut differently and with new ids
        st.replace_network(s, [feature("x0", [(0, 0), (600, 0)]), feature("x1", [(600, 0), (1200, 0)])], "new")
    assert rematch(net_db, NOW - timedelta(hours=26)) == 2
    with net_db.session() as s:
        assert sorted((p.segment_id, p.work) for p in s.query(st.Pass)) == [("x0", "plowing"), ("x1", "plowing")]
        assert st.vehicles(s)["p"].last_segment == "x1"


# --- the demo fleet ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fleet():
    from sources.fixes import NetworkIndex
    from sources.geojson_file import read_features

    return demo_plows.DemoFleet(NetworkIndex.from_features(read_features(ROOT / "data/roads/demo_roads_hakui.geojson")))


def test_demo_fleet_is_deterministic_and_drives_at_plowing_speeds(fleet):
    assert len(fleet.plows) >= 12 and {p.work for p in fleet.plows} == {"plowing", "spreading"}
    plow = fleet.plows[0]
    a = fleet.fixes(plow, T0, T0 + 3600)
    assert a == fleet.fixes(plow, T0, T0 + 3600)  # a pure function of (vehicle, time)
    good = [f for f in a if f["lon"] != 0.0]
    times = np.array([datetime.fromisoformat(f["time"]).timestamp() for f in good])
    steps = np.diff(times)
    assert set(np.round(steps[steps < 10])) <= {1.0, 4.0, 5.0}  # every 5 s (a glitch comes 1 s after)
    lon, lat = np.array([f["lon"] for f in good]), np.array([f["lat"] for f in good])
    x, y = fleet.index.proj.fwd(lon, lat)
    regular = steps >= 4
    kmh = np.hypot(np.diff(x), np.diff(y))[regular] / steps[regular] * 3.6
    assert np.percentile(kmh, 95) < 60
    speeds = [f["speed"] for f in good if f["work"] in ("plowing", "spreading") and f["speed"] > 0]
    assert 12 < np.median(speeds) < 40
    all_day = [f for p in fleet.plows for f in fleet.fixes(p, T0, T0 + 6 * 3600, 30)]
    assert {f["work"] for f in all_day} == {"plowing", "spreading", "travel"}
    assert any(f["speed"] == 0.0 for f in all_day)  # stops and depot waits


def test_demo_fixes_lie_on_the_roads(fleet):
    fixes = [f for p in fleet.plows for f in fleet.fixes(p, T0, T0 + 1800) if f["lon"] != 0.0]
    seg, dist = fleet.index.match(np.array([f["lon"] for f in fixes]), np.array([f["lat"] for f in fixes]))
    assert np.mean(seg >= 0) > 0.97


def test_demo_tick_backfills_a_day_then_adds_fixes(db):
    from layers.snow.network import ensure_network

    with db.session() as s:
        assert ensure_network(s, ROOT / "data") is True
        assert ensure_network(s, ROOT / "data") is False
    now = datetime.now(UTC)
    n1 = demo_plows.tick(db, ROOT / "data", now)
    n2 = demo_plows.tick(db, ROOT / "data", now + timedelta(seconds=30))
    assert n1 > 12 * 2000 and 12 * 4 <= n2 <= 14 * 13  # last backfill fix up to 30 s back, then every 5 s
    with db.session() as s:
        states = roads.road_states(s)
        segs = st.segments(s)
        vs = st.vehicles(s)
    assert len(states) > len(segs) / 2  # a day of work cleared most roads
    assert sum(sum((v.rejected or {}).values()) for v in vs.values()) > 0  # the odd bad fix was caught
    assert all(v.last_time is not None for v in vs.values())
    # a new version of the shipped network (here: the same file, another digest) keeps the day's work
    with db.session() as s:
        st.network(s).digest = "an older file"
    with db.session() as s:
        assert ensure_network(s, ROOT / "data") is True
    with db.session() as s:
        assert len(roads.road_states(s)) == len(states)


# --- the API -------------------------------------------------------------------------------------

@pytest.fixture
def plows_day(dash_app, app_db):
    """The demo fleet's last day in the session's store (the browser tests share it)."""
    from store.db import utcnow
    from tests.test_snow_browser import _FED

    if not _FED:
        demo_plows.tick(app_db, dash_app.server.extensions["ishikawa.settings"].data_path, utcnow())
        _FED["done"] = True


@pytest.fixture
def token(app_db):
    """A staff API token of an editor of 羽咋市 (the staff token model)."""
    import uuid

    from store.users import create_token, create_user

    with app_db.session() as s:
        user = create_user(s, f"plow-{uuid.uuid4().hex[:8]}@city.hakui.example", "a-long-password-1", "hakui")
        return create_token(s, user, "snowplow GPS")


def test_post_fixes_needs_a_token(client):
    body = [{"vehicle_id": "x", "lon": 136.78, "lat": 36.89, "time": iso(T0)}]
    r = client.post("/api/vehicles/fixes", json=body)
    assert r.status_code == 401 and r.get_json()["error"] == "unauthorized"
    assert "Bearer" in r.headers["WWW-Authenticate"]
    r = client.post("/api/vehicles/fixes", json=body, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401


def test_post_fixes_counts_accepted_and_rejected(client, token, app_db):
    from store.cache import cache

    with app_db.session() as s:
        seg = st.segments(s)[10]
    from shapely.geometry import shape

    coords = json.loads(seg.geometry)["coordinates"]
    mid = shape(json.loads(seg.geometry)).interpolate(0.5, normalized=True)
    now = datetime.now(UTC)
    body = [{"vehicle_id": "api-plow-1", "lon": mid.x, "lat": mid.y, "time": (now - timedelta(seconds=20)).isoformat(),
             "speed": 20, "work": "plowing"},
            {"vehicle_id": "api-plow-1", "lon": 0, "lat": 0, "time": now.isoformat()},
            {"vehicle_id": "api-plow-1", "lon": coords[-1][0], "lat": coords[-1][1],
             "time": (now + timedelta(minutes=5)).isoformat()},
            {"vehicle_id": "api-plow-1", "lon": coords[-1][0], "lat": coords[-1][1], "time": "late"}]
    r = client.post("/api/vehicles/fixes", json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    out = r.get_json()
    assert out["accepted"] == 1 and out["rejected"] == 3
    assert [x["reason"] for x in out["rejections"]] == ["zero_position", "future", "invalid"]
    assert out["rejections"][2]["field"] == "time"
    with client.application.app_context():  # the session app's cache (not the last one built)
        cache.clear()
    since = (now - timedelta(minutes=2)).isoformat().replace("+", "%2B")
    r = client.get("/api/snow/status?geometry=false&since=" + since)
    assert r.status_code == 200
    rows = {row["id"]: row for row in r.get_json()["segments"]}
    assert seg.id in rows and rows[seg.id]["work"] == "plowing"
    assert all(datetime.fromisoformat(row["cleared_at"]) >= now - timedelta(minutes=3) for row in rows.values())
    assert "geometry" not in rows[seg.id]


def test_post_fixes_rejects_a_body_that_is_not_a_list(client, token):
    h = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/vehicles/fixes", data=b"{nope", headers=h).status_code == 400
    r = client.post("/api/vehicles/fixes?lang=en", json={"x": 1}, headers=h)
    assert r.status_code == 400 and "JSON array" in r.get_json()["message"]
    big = [{"vehicle_id": "v"}] * 10_001
    assert client.post("/api/vehicles/fixes", json=big, headers=h).status_code == 413


def test_status_as_geojson_lists_every_segment(client, app_db):
    r = client.get("/api/snow/status")
    assert r.status_code == 200 and r.mimetype == "application/geo+json"
    doc = r.get_json()
    with app_db.session() as s:
        n = len(st.segments(s))
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == n > 1000
    f = doc["features"][0]
    assert f["geometry"]["type"] == "LineString"
    assert set(f["properties"]) >= {"id", "name", "route", "area", "road_class", "manager", "cleared_at", "work"}
    assert client.get("/api/snow/status?since=soon").status_code == 400
    past = client.get("/api/snow/status?geometry=false&at=2020-01-01T00:00:00Z").get_json()
    assert past["at"].startswith("2020-01-01") and all(row["cleared_at"] is None for row in past["segments"])


def test_status_api_many_clients_one_computation(dash_app, app_db):
    import time

    from store.cache import cache

    with dash_app.server.app_context():  # the session app's cache (not the last one built)
        cache.clear()
    before = snap.COMPUTE_COUNT["live"]
    start = time.time()
    codes, barrier = [], threading.Barrier(30)

    def viewer():
        c = dash_app.server.test_client()
        barrier.wait()
        codes.append(c.get("/api/snow/status?geometry=false").status_code)

    threads = [threading.Thread(target=viewer) for _ in range(30)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    end = time.time()
    buckets = {snap.live_key(x) for x in np.arange(start, end + snap.REFRESH_S, snap.REFRESH_S) if x <= end}
    buckets |= {snap.live_key(end)}
    assert codes == [200] * 30
    assert 1 <= snap.COMPUTE_COUNT["live"] - before <= len(buckets)


def test_network_route_is_versioned(client, app_db):
    with app_db.session() as s:
        v = st.network(s).version
    r = client.get(f"/api/snow/network?v={v}")
    assert r.status_code == 200 and "immutable" in r.headers["Cache-Control"]
    assert len(r.get_json()["features"]) > 1000


def test_public_layer_is_listed_without_vehicle_details(client):
    layers = {x["id"]: x for x in client.get("/api/layers").get_json()["layers"]}
    assert layers["snow-removal"]["name"]["ja"] == "除雪状況" and layers["snow-removal"]["group"] == "yuki"
    doc = client.get("/api/layers/snow-removal/features").get_json()
    props = doc["features"][0]["properties"]
    assert "vehicle_id" not in props and set(props) >= {"id", "name", "route", "area"}


def test_road_alert_provider_gives_hours_since_cleared_and_nearby_depth(app_db, plows_day):
    from types import SimpleNamespace

    from store.db import utcnow

    now = utcnow()
    with app_db.session() as s:
        every = alerts.road_alert_segments(s, SimpleNamespace(options={}, layer_id="snow-removal"), now)
        route = alerts.road_alert_segments(s, SimpleNamespace(options={"route": "国道249号", "area": "羽咋市"}), now)
        states = roads.road_states(s, now)
        n = len(st.segments(s))
    assert len(every) == n and 0 < len(route) < n
    assert all(x["name_ja"].startswith("国道249号（羽咋市）") for x in route)
    by = {x["subject"]: x for x in every}
    some = next(sid for sid in states if f"road:{sid}" in by)
    assert 0 <= by[f"road:{some}"]["hours_since_cleared"] < 24.5
    never = [x for x in every if x["subject"][5:] not in states]
    assert never and all(x["hours_since_cleared"] == st.KEEP_HOURS for x in never)
    hakui = [x for x in every if "羽咋市" in x["name_ja"]]
    assert any(x["nearby_depth"] is not None for x in hakui)  # the demo sensors of 羽咋市 are near
    assert all(120 < x["lon"] < 140 and 30 < x["lat"] < 40 for x in every)


def test_the_snow_removal_layer_is_a_road_provider():
    from layers.snowplow import road_alert_segments
    from registry import ROAD_PROVIDERS

    assert road_alert_segments in ROAD_PROVIDERS.values()  # tests/test_plugins.py: filled by app and worker


# --- load-roads ----------------------------------------------------------------------------------

def _cli(db):
    from flask import Flask

    from api.snow import register_cli
    from settings import Settings

    server = Flask("cli-test")
    server.extensions["ishikawa.db"] = db
    server.extensions["ishikawa.settings"] = Settings(database_url=db.url, secret_key="x", data_path=ROOT / "data")
    register_cli(server)
    return server.test_cli_runner()


def test_load_roads_from_geojson_splits_and_names_areas(db, tmp_path):
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"路線名": "羽咋市道 テスト1号線", "道路種別": "市道"},
         "geometry": {"type": "LineString", "coordinates": [ll(0, 0), ll(1000, 0)]}},
        {"type": "Feature", "properties": {"路線名": "県道 テスト線", "道路種別": "県道"},
         "geometry": {"type": "LineString", "coordinates": [ll(500, -300), ll(500, 300)]}},
    ]}
    path = tmp_path / "my_roads.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    res = _cli(db).invoke(args=["load-roads", str(path)])
    assert res.exit_code == 0, res.output
    with db.session() as s:
        segs = st.segments(s)
        net = st.network(s)
    assert "road segments loaded" in res.output and net.source == "file:my_roads.geojson"
    by_route = {}
    for g in segs:
        by_route.setdefault(g.route, []).append(g)
    # the municipal road is cut at the crossing and into pieces of at most 400 m
    assert len(by_route["羽咋市道 テスト1号線"]) == 4 and len(by_route["県道 テスト線"]) == 2
    assert {g.road_class for g in by_route["県道 テスト線"]} == {"prefectural"}
    assert {g.area for g in segs} == {"羽咋市"}
    assert abs(sum(g.length_m for g in segs) - 1600) < 5


def test_load_roads_from_geopackage_keeps_given_ids(db, tmp_path):
    import geopandas as gpd
    from shapely.geometry import LineString

    gdf = gpd.GeoDataFrame({"id": ["R-1", "R-2"], "name": ["国道249号", "国道249号"], "manager": ["石川県", "石川県"]},
                           geometry=[LineString([ll(0, 0), ll(300, 0)]), LineString([ll(300, 0), ll(600, 0)])],
                           crs="EPSG:4326").to_crs(6675)  # a plane rectangular CRS: reprojected on load
    path = tmp_path / "roads.gpkg"
    gdf.to_file(path, driver="GPKG")
    with db.session() as s:
        from layers.snow.network import ensure_network

        ensure_network(s, ROOT / "data")
    res = _cli(db).invoke(args=["load-roads", str(path)])
    assert res.exit_code == 0, res.output
    with db.session() as s:
        segs = st.segments(s)
        assert [(g.id, g.road_class, g.manager, g.area) for g in segs] == [
            ("R-1", "national", "石川県", "羽咋市"), ("R-2", "national", "石川県", "羽咋市")]
        # the road manager's network stays: the shipped one does not come back at the next start
        from layers.snow.network import ensure_network

        assert ensure_network(s, ROOT / "data") is False
    coords = json.loads(segs[0].geometry)["coordinates"]
    assert abs(coords[0][0] - ll(0, 0)[0]) < 1e-5


def test_load_roads_refuses_a_file_without_lines(db, tmp_path):
    path = tmp_path / "points.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": ll(0, 0)}}]}))
    res = _cli(db).invoke(args=["load-roads", str(path)])
    assert res.exit_code != 0
