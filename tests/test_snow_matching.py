"""Fix validation, map matching and gap filling on hand-made networks and on the shipped roads."""
from __future__ import annotations

import math
from datetime import UTC
from pathlib import Path

import numpy as np
import pytest

from sources.fixes import (
    GAP_MAX_S,
    NetworkIndex,
    Prior,
    VehicleTrack,
    build_passes,
    course_from_positions,
    parse_fixes,
    prefecture_shape,
    validate,
)
from sources.geojson_file import read_features
from sources.roads import ISHIKAWA

ROOT = Path(__file__).resolve().parents[1]
BOUNDARIES = ROOT / "data/boundaries/ishikawa_municipalities.geojson"
LON0, LAT0 = 136.78, 36.89  # 羽咋市: hand-made roads are laid out in metres around here
T0 = 1_790_000_000.0  # a fixed clock (epoch seconds)


def ll(x, y):
    """metres east/north of (LON0, LAT0) -> [lon, lat]."""
    return [LON0 + x / ISHIKAWA.kx, LAT0 + y / ISHIKAWA.ky]


def feature(fid, pts, route="A", area="羽咋市"):
    return {"type": "Feature", "id": fid, "geometry": {"type": "LineString", "coordinates": [ll(x, y) for x, y in pts]},
            "properties": {"name": route, "route": route, "area": area, "length_m": 0}}


def fix(vid, t, x, y, **kw):
    lon, lat = ll(x, y)
    return {"vehicle_id": vid, "time": t, "lon": lon, "lat": lat, **kw}


def iso(epoch):
    from datetime import datetime

    return datetime.fromtimestamp(epoch, tz=UTC).isoformat()


# --- validation ----------------------------------------------------------------------------------

def reasons(items, prior=None, now=T0):
    b = parse_fixes(items)
    validate(b, prior or {}, now, prefecture_shape(BOUNDARIES))
    from sources.fixes import REASONS

    return [REASONS[r] for r in b.reason]


def test_each_bad_fix_rule():
    items = [
        fix("v1", iso(T0 - 60), 0, 0),  # good
        {"vehicle_id": "v1", "time": iso(T0 - 55), "lon": 0.0, "lat": 0.0},  # (0,0)
        {"vehicle_id": "v1", "time": iso(T0 - 50), "lon": 139.767, "lat": 35.681},  # 東京駅
        fix("v1", iso(T0 + 180), 10, 0),  # 3 minutes ahead
        fix("v1", iso(T0 - 70), 5, 0),  # older than the good one
        fix("v1", iso(T0 - 60), 0, 0),  # same time again
        fix("v1", iso(T0 - 50), 1000, 0),  # 1 km in 10 s = 360 km/h
        fix("v1", iso(T0 - 40), 60, 0),  # 60 m in 20 s after the good one: fine
    ]
    assert reasons(items) == ["ok", "zero_position", "outside_prefecture", "future", "out_of_order", "duplicate",
                              "too_fast", "ok"]


def test_future_limit_is_two_minutes_and_prior_state_counts():
    items = [fix("v", iso(T0 + 119), 0, 0), fix("w", iso(T0 - 30), 0, 0), fix("w", iso(T0 - 20), 0, 0)]
    lon, lat = ll(0, 0)
    prior = {"w": Prior(T0 - 20, lon, lat)}  # the second fix of w was already delivered before
    assert reasons(items, prior) == ["ok", "out_of_order", "duplicate"]


def test_a_glitch_does_not_take_the_next_good_fix_with_it():
    items = [fix("v", iso(T0), 0, 0), fix("v", iso(T0 + 5), 5000, 0), fix("v", iso(T0 + 6), 5000, 10),
             fix("v", iso(T0 + 10), 50, 0)]
    assert reasons(items, now=T0 + 20) == ["ok", "too_fast", "too_fast", "ok"]


def test_vehicles_are_judged_separately():
    items = [fix("a", iso(T0), 0, 0), fix("b", iso(T0 - 100), 3000, 0), fix("a", iso(T0 + 5), 30, 0),
             fix("b", iso(T0 - 95), 3030, 0)]
    assert reasons(items, now=T0 + 10) == ["ok"] * 4


@pytest.mark.parametrize("item,field", [
    ({"vehicle_id": "v", "time": "2026-01-01T00:00:00Z", "lat": 36.9}, "lon/lat"),
    ({"vehicle_id": "", "time": "2026-01-01T00:00:00Z", "lon": 136.8, "lat": 36.9}, "vehicle_id"),
    ({"vehicle_id": "v", "time": "yesterday", "lon": 136.8, "lat": 36.9}, "time"),
    ({"vehicle_id": "v", "time": "2026-01-01T00:00:00Z", "lon": 136.8, "lat": 36.9, "work": "sleeping"}, "work"),
    ({"vehicle_id": "v", "time": "2026-01-01T00:00:00Z", "lon": "NaN", "lat": 36.9}, "lon/lat"),
    ({"vehicle_id": "v", "time": "2026-01-01T00:00:00Z", "lon": 136.8, "lat": 36.9, "speed": "fast"}, "speed"),
    ("not an object", "not an object"),
])
def test_unparsable_fixes_are_invalid_with_the_field(item, field):
    b = parse_fixes([item])
    assert b.reason[0] == 1 and b.detail[0] == field


def test_bare_times_are_japan_time():
    b = parse_fixes([{"vehicle_id": "v", "time": "2026-01-10T09:00:00", "lon": 136.8, "lat": 36.9}])
    assert b.t[0] == parse_fixes([{"vehicle_id": "v", "time": "2026-01-10T00:00:00Z", "lon": 136.8,
                                   "lat": 36.9}]).t[0]


# --- matching ------------------------------------------------------------------------------------

def match_xy(index, pts, headings=None):
    lon = np.array([ll(x, y)[0] for x, y in pts])
    lat = np.array([ll(x, y)[1] for x, y in pts])
    course = None if headings is None else np.radians(np.array(headings, dtype=float))
    seg, _d = index.match(lon, lat, course)
    return [index.ids[s] if s >= 0 else None for s in seg]


def test_parallel_roads_20_m_apart():
    index = NetworkIndex.from_features([feature("south", [(0, 0), (500, 0)]),
                                        feature("north", [(0, 20), (500, 20)], "B")])
    assert match_xy(index, [(100, 4), (200, 8), (300, 13), (400, 17), (250, -6)], [90] * 5) == \
        ["south", "south", "north", "north", "south"]


def test_crossing_is_decided_by_heading():
    index = NetworkIndex.from_features([feature("ew", [(-300, 0), (300, 0)]),
                                        feature("ns", [(0, -300), (0, 300)], "B")])
    # 4 m east and 3 m north of the crossing: nearer the east-west road, but driving north
    assert match_xy(index, [(4, 3)], [0]) == ["ns"]
    assert match_xy(index, [(4, 3)], [90]) == ["ew"]
    assert match_xy(index, [(4, 3)], [270]) == ["ew"]  # either direction along the road
    assert match_xy(index, [(4, 3)]) == ["ew"]  # no heading: the nearer road


def test_gps_noise_stays_on_the_road_and_far_points_match_nothing():
    index = NetworkIndex.from_features([feature("r", [(0, 0), (1000, 0)]),
                                        feature("far", [(0, 200), (1000, 200)], "B")])
    rng = np.random.default_rng(7)
    pts = [(x, float(rng.normal(0, 6))) for x in np.linspace(10, 990, 200)]
    assert set(match_xy(index, pts, [90] * len(pts))) == {"r"}
    assert match_xy(index, [(500, 100), (1500, 0)]) == [None, None]


def course_of(pts):
    x = np.array([p[0] for p in pts], dtype=float)
    y = np.array([p[1] for p in pts], dtype=float)
    return course_from_positions(np.zeros(len(pts), dtype=int), np.arange(len(pts)), x, y, np.full(len(pts), np.nan))


def test_heading_comes_from_movement_when_the_unit_sends_none():
    c = course_of([(0, 0), (0, 50), (40, 50), (40, 50)])
    assert math.isnan(c[0]) and math.isclose(c[1], 0.0) and math.isclose(c[2], math.pi / 2) and math.isnan(c[3])


def chain(n, length=300.0, route="A", y=0.0, prefix="c"):
    return [feature(f"{prefix}{i}", [(i * length, y), ((i + 1) * length, y)], route) for i in range(n)]


def passes_for(index, pts, times, works=None, vid="v", tracks=None):
    seg = np.array([index.pos[s] if s else -1 for s in match_xy(index, pts, None)])
    works = works or ["plowing"] * len(pts)
    out = build_passes(index, [vid] * len(pts), np.array(times, dtype=float), seg, works,
                       tracks if tracks is not None else {})
    return [(index.ids[p[0]], p[2], p[3], p[4]) for p in out]


def test_u_turn_passes_each_segment_in_each_direction():
    index = NetworkIndex.from_features(chain(3))
    xs = [50, 250, 450, 650, 850, 880, 850, 650, 450, 250, 50]
    got = passes_for(index, [(x, 0) for x in xs], [T0 + 30 * i for i in range(len(xs))])
    assert [p[0] for p in got] == ["c0", "c1", "c2", "c1", "c0"]
    assert not any(p[3] for p in got)


def test_gap_between_fixes_is_filled_along_the_route():
    index = NetworkIndex.from_features(chain(6))
    got = passes_for(index, [(100, 0), (1700, 0)], [T0, T0 + 120])
    assert [p[0] for p in got] == ["c0", "c1", "c2", "c3", "c4", "c5"]
    filled = [p for p in got if p[3]]
    assert [p[0] for p in filled] == ["c1", "c2", "c3", "c4"]
    times = [p[1] for p in got]
    assert times == sorted(times) and T0 < filled[0][1] < filled[-1][1] < T0 + 120
    assert all(p[2] == "plowing" for p in got)


def test_no_filling_across_routes_over_long_gaps_or_from_travel():
    index = NetworkIndex.from_features(chain(3, route="A") + chain(3, route="B", prefix="d", y=0.0)[0:0] +
                                       [feature("d0", [(900, 0), (1200, 0)], "B"),
                                        feature("d1", [(1200, 0), (1500, 0)], "B")])
    # A c0 -> B d1: another route, nothing filled
    assert [p[0] for p in passes_for(index, [(100, 0), (1400, 0)], [T0, T0 + 100])] == ["c0", "d1"]
    # same route but the fixes are too far apart in time
    assert [p[0] for p in passes_for(index, [(100, 0), (800, 0)], [T0, T0 + GAP_MAX_S + 1])] == ["c0", "c2"]
    # travelling before the gap: the filled segment is travel, not cleared
    got = passes_for(index, [(100, 0), (800, 0)], [T0, T0 + 60], ["travel", "plowing"])
    assert [(p[0], p[2]) for p in got] == [("c0", "travel"), ("c1", "travel"), ("c2", "plowing")]


def test_a_delivery_continues_where_the_last_one_ended():
    index = NetworkIndex.from_features(chain(4))
    tracks = {}
    first = passes_for(index, [(50, 0), (150, 0)], [T0, T0 + 10], tracks=tracks)
    assert [p[0] for p in first] == ["c0"]
    assert tracks["v"] == VehicleTrack(segment=0, work="plowing", t=T0 + 10)
    second = passes_for(index, [(250, 0), (1050, 0)], [T0 + 20, T0 + 100], tracks=tracks)
    assert [p[0] for p in second] == ["c1", "c2", "c3"]  # c0 not again; c2 filled
    # back on the same segment after a long stop: a new pass
    third = passes_for(index, [(1060, 0)], [T0 + 100 + 400], tracks=tracks)
    assert [p[0] for p in third] == ["c3"]


def test_work_change_on_a_segment_starts_a_pass():
    index = NetworkIndex.from_features(chain(1))
    got = passes_for(index, [(50, 0), (100, 0), (150, 0)], [T0, T0 + 5, T0 + 10], ["travel", "travel", "plowing"])
    assert [(p[0], p[2]) for p in got] == [("c0", "travel"), ("c0", "plowing")]


# --- the shipped network -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real():
    feats = read_features(ROOT / "data/roads/demo_roads_hakui.geojson")
    return feats, NetworkIndex.from_features(feats)


def test_real_roads_sampled_with_noise_match_their_segment(real):
    feats, index = real
    rng = np.random.default_rng(3)
    picks = rng.choice(len(feats), 150, replace=False)
    lon, lat, course, truth = [], [], [], []
    for k in picks:
        xs, ys = index.seg_xy[k]
        if index.seg_len[k] < 60:
            continue
        cum = np.concatenate([[0], np.cumsum(np.hypot(np.diff(xs), np.diff(ys)))])
        d = rng.uniform(20, cum[-1] - 20)
        i = min(np.searchsorted(cum, d) - 1, len(xs) - 2)
        f = (d - cum[i]) / max(cum[i + 1] - cum[i], 1e-9)
        x = xs[i] + f * (xs[i + 1] - xs[i]) + rng.normal(0, 4)
        y = ys[i] + f * (ys[i + 1] - ys[i]) + rng.normal(0, 4)
        lo, la = ISHIKAWA.inv(x, y)
        lon.append(float(lo))
        lat.append(float(la))
        course.append(math.atan2(xs[i + 1] - xs[i], ys[i + 1] - ys[i]))
        truth.append(k)
    seg, dist = index.match(np.array(lon), np.array(lat), np.array(course))
    exact = np.mean(seg == np.array(truth))
    assert exact >= 0.95, exact
    assert np.nanmax(dist) < 30


def test_real_network_is_connected_enough_to_fill_gaps(real):
    feats, index = real
    # along 国道249号: the segment two steps away from a segment is reached through the one between
    route = [i for i, f in enumerate(feats) if f["properties"]["route"] == "国道249号"]
    found = 0
    for a in route[:60]:
        for mid in index.node_segs[int(index.seg_nodes[a][1])]:
            if mid == a or index.routes[mid] != "国道249号":
                continue
            for b in index.node_segs[int(index.seg_nodes[mid][0])] + index.node_segs[int(index.seg_nodes[mid][1])]:
                if b not in (a, mid) and index.routes[b] == "国道249号" and not index.adjacent(a, b):
                    assert index.path_between(a, b, 5000) == [mid]
                    found += 1
    assert found >= 10
