"""Built-in demo feed of snowplows driving the real road network.

A fleet of plows (FLEET: 6 in 羽咋市, 4 in 志賀町, 2 each in 宝達志水町 and 中能登町; two of them
spreaders) work in cycles of CYCLE_S: a wait at their depot, a tour through the roads of their area
(plowing the roads not yet done in this cycle at 15–30 km/h, travelling faster over roads already
done), short stops, and the way back to the depot. Every position is a pure function of
(vehicle, time) and the network, like the demo snow sensors: a restart or a second process sends
the same fixes. The fixes carry GPS noise (a few metres), a heading, signal gaps (no fixes for 1–3
minutes), and now and then a bad fix ((0,0) or a jump) that the ingest path must drop.
"""
from __future__ import annotations

import hashlib
import heapq
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np

FEED_NAME = "demo-plows"
FIX_EVERY_S = 5
BACKFILL_S = 24 * 3600
BACKFILL_STEP_S = 30
CYCLE_S = 3 * 3600
KEEP = timedelta(hours=26)  # = store.snow.KEEP_HOURS


@dataclass(frozen=True)
class Plow:
    id: str
    name_ja: str
    area: str
    work: str  # plowing / spreading


FLEET_PLAN = [("羽咋市", "hakui", 6), ("志賀町", "shika", 4), ("宝達志水町", "hodatsushimizu", 2),
              ("中能登町", "nakanoto", 2)]


def fleet(areas: set[str] | None = None, size: int | None = None) -> list[Plow]:
    """The demo fleet; `size` makes a bigger one (benchmarks: 300 plows) spread over the same areas."""
    plan = [p for p in FLEET_PLAN if areas is None or p[0] in areas] or FLEET_PLAN
    plows = []
    total = size or sum(n for _a, _c, n in plan)
    weights = [n for _a, _c, n in plan]
    counts = [max(1, round(total * w / sum(weights))) for w in weights]
    for (area, code, _n), count in zip(plan, counts):
        for k in range(1, count + 1):
            spreading = k == 2 and count >= 4
            plows.append(Plow(f"{code}-{k:02d}", f"{area} {'散布' if spreading else '除雪'}{k}号車", area,
                              "spreading" if spreading else "plowing"))
    return plows[:total]


def _h(*parts) -> float:
    """A deterministic number in [0, 1) from the parts."""
    d = hashlib.blake2b("|".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(d, "big") / 2 ** 64


# --- tours ---------------------------------------------------------------------------------------

@dataclass
class Tour:
    """A cycle's timetable: vertex times (s from cycle start) and positions (metres), per-edge data."""

    T: np.ndarray
    X: np.ndarray
    Y: np.ndarray
    speed: np.ndarray  # km/h of edge i (from vertex i to i+1)
    work: list[str]
    heading: np.ndarray  # degrees of edge i (last moving direction while stopped)


def _depot_node(index, area: str) -> int:
    """The best-connected node near the middle of the area's roads."""
    segs = [i for i, a in enumerate(index.areas) if a == area] or list(range(len(index.ids)))
    mx, my = np.median(index.mid_x[segs]), np.median(index.mid_y[segs])
    best, score = -1, math.inf
    for i in segs:
        for n in index.seg_nodes[i]:
            n = int(n)
            ex, ey = _node_xy(index, n)
            sc = math.hypot(ex - mx, ey - my) - 300.0 * len(index.node_segs.get(n, []))
            if sc < score:
                best, score = n, sc
    return best


def _node_xy(index, node: int) -> tuple[float, float]:
    sidx = index.node_segs[node][0]
    x, y = index.seg_xy[sidx]
    k = 0 if int(index.seg_nodes[sidx][0]) == node else -1
    return float(x[k]), float(y[k])


def _oriented(index, sidx: int, from_node: int) -> tuple[np.ndarray, np.ndarray, int]:
    x, y = index.seg_xy[sidx]
    a, b = (int(v) for v in index.seg_nodes[sidx])
    if a == from_node:
        return x, y, b
    return x[::-1], y[::-1], a


def _dijkstra(index, start: int, goal: int | None = None) -> tuple[dict[int, float], dict[int, tuple[int, int]]]:
    """Road distances (m) from `start` and the (previous node, segment) of each node's best way;
    stops early once `goal` is settled."""
    dist, prev, heap = {start: 0.0}, {}, [(0.0, start)]
    while heap:
        d, node = heapq.heappop(heap)
        if node == goal:
            break
        if d > dist.get(node, math.inf):
            continue
        for s in index.node_segs.get(node, []):
            a, b = (int(v) for v in index.seg_nodes[s])
            other = b if a == node else a
            nd = d + float(index.seg_len[s])
            if nd < dist.get(other, math.inf):
                dist[other], prev[other] = nd, (node, s)
                heapq.heappush(heap, (nd, other))
    return dist, prev


def _shortest(index, start: int, goal: int) -> list[int]:
    """Segments of the shortest way between two nodes (any road); [] when none."""
    if start == goal:
        return []
    _dist, prev = _dijkstra(index, start, goal)
    if goal not in prev:
        return []
    path, node = [], goal
    while node in prev:
        node, s = prev[node]
        path.append(s)
    return path[::-1]


def distances_from(index, start: int) -> dict[int, float]:
    """Road distance (m) from a node to every node it connects to."""
    return _dijkstra(index, start)[0]


def build_tour(index, plow: Plow, cycle: int, depot: int, home_dist: dict[int, float] | None = None) -> Tour:
    budget = CYCLE_S - 300
    wait = 600 + 900 * _h(plow.id, cycle, "wait")
    T, X, Y, speed, work = [0.0], [], [], [], []
    x0, y0 = _node_xy(index, depot)
    X.append(x0)
    Y.append(y0)

    def add_edge(x1, y1, kmh, w):
        x_, y_ = X[-1], Y[-1]
        d = math.hypot(x1 - x_, y1 - y_)
        T.append(T[-1] + (d / (kmh / 3.6) if kmh > 0 else 0.0))
        X.append(x1)
        Y.append(y1)
        speed.append(kmh)
        work.append(w)

    def pause(seconds, w="travel"):
        T.append(T[-1] + seconds)
        X.append(X[-1])
        Y.append(Y[-1])
        speed.append(0.0)
        work.append(w)

    def drive(sidx, node, w):
        xs, ys, other = _oriented(index, sidx, node)
        if w == "plowing":
            kmh = 15 + 15 * _h(plow.id, cycle, sidx, "v")
        elif w == "spreading":
            kmh = 25 + 15 * _h(plow.id, cycle, sidx, "v")
        else:
            kmh = 35 + 15 * _h(plow.id, cycle, sidx, "v")
        for xv, yv in zip(xs[1:], ys[1:]):
            add_edge(float(xv), float(yv), kmh, w)
        return other

    pause(wait)
    done: set[int] = set()
    node, came = depot, -1
    travel_kmh = 40.0
    for step in range(2000):
        options = [s for s in index.node_segs.get(node, []) if s != came] or index.node_segs.get(node, [])
        if not options:
            break

        def score(s):
            sc = 0.0 if s not in done else 10.0
            sc += 0.0 if index.areas[s] == plow.area else 15.0
            if plow.work == "spreading" and index.classes[s] == "municipal":
                sc += 4.0
            return sc + 3.0 * _h(plow.id, cycle, step, s)  # noqa: B023 - used at once by min() below

        s = min(options, key=score)
        w = plow.work if (s not in done and index.areas[s] == plow.area) else "travel"
        # the way home from the far end of s, at travel speed, must still fit in the cycle
        a_, b_ = (int(v) for v in index.seg_nodes[s])
        far = b_ if a_ == node else a_
        if home_dist is not None:
            home = home_dist.get(far, math.inf) / (travel_kmh / 3.6)
        else:
            ox, oy = _node_xy(index, far)
            home = math.hypot(ox - x0, oy - y0) * 2.0 / (travel_kmh / 3.6)
        if T[-1] + float(index.seg_len[s]) / (15 / 3.6) + home + 60 > budget:
            break
        node, came = drive(s, node, w), s
        done.add(s)
        if _h(plow.id, cycle, step, "stop") < 0.05:
            pause(60 + 180 * _h(plow.id, cycle, step, "len"), w)
    for s in _shortest(index, node, depot):
        node = drive(s, node, "travel")
    if T[-1] < CYCLE_S:
        pause(CYCLE_S - T[-1])
    Ta, Xa, Ya = np.array(T), np.array(X), np.array(Y)
    dx, dy = np.diff(Xa), np.diff(Ya)
    heading = np.degrees(np.arctan2(dx, dy)) % 360
    moving = np.hypot(dx, dy) > 0.01
    last = 0.0
    for i in range(len(heading)):  # while stopped, keep the last heading
        if moving[i]:
            last = heading[i]
        else:
            heading[i] = last
    return Tour(Ta, Xa, Ya, np.array(speed), work, heading)


class DemoFleet:
    """The fleet on one network: tours are built lazily and kept for a few cycles."""

    def __init__(self, index, size: int | None = None):
        self.index = index
        self.plows = fleet(set(index.areas), size)
        depots = {}
        self.depot = {}
        for p in self.plows:
            if p.area not in depots:
                depots[p.area] = _depot_node(index, p.area)
            self.depot[p.id] = depots[p.area]
        self.phase = {p.id: _h(p.id, "phase") * CYCLE_S for p in self.plows}
        self.home_dist = {d: distances_from(index, d) for d in set(self.depot.values())}
        self._tour = lru_cache(maxsize=4 * max(len(self.plows), 16))(self._build)

    def _build(self, plow_id: str, cycle: int) -> Tour:
        plow = next(p for p in self.plows if p.id == plow_id)
        return build_tour(self.index, plow, cycle, self.depot[plow_id], self.home_dist[self.depot[plow_id]])

    def positions(self, plow: Plow, times: np.ndarray):
        """(lon, lat, heading °, speed km/h, work) arrays at epoch seconds `times` (no noise)."""
        rel = times - self.phase[plow.id]
        cycles = np.floor(rel / CYCLE_S).astype(np.int64)
        lon = np.zeros(len(times))
        lat = np.zeros(len(times))
        heading = np.zeros(len(times))
        speed = np.zeros(len(times))
        work = np.empty(len(times), dtype=object)
        for c in np.unique(cycles):
            sel = cycles == c
            tour = self._tour(plow.id, int(c))
            tau = rel[sel] - c * CYCLE_S
            i = np.clip(np.searchsorted(tour.T, tau, side="right") - 1, 0, len(tour.T) - 2)
            span = np.maximum(tour.T[i + 1] - tour.T[i], 1e-9)
            f = np.clip((tau - tour.T[i]) / span, 0, 1)
            x = tour.X[i] + f * (tour.X[i + 1] - tour.X[i])
            y = tour.Y[i] + f * (tour.Y[i + 1] - tour.Y[i])
            lon[sel], lat[sel] = self.index.proj.inv(x, y)
            heading[sel], speed[sel] = tour.heading[i], tour.speed[i]
            work[sel] = [tour.work[k] for k in i]
        return lon, lat, heading, speed, work

    def fixes(self, plow: Plow, since: float, until: float, step: int = FIX_EVERY_S) -> list[dict]:
        """The fixes the plow's GPS unit sends in (since, until]: noise, gaps and the odd bad fix."""
        offset = int(_h(plow.id, "offset") * step)
        first = math.floor((since - offset) / step) * step + offset + step
        times = np.arange(first, until + 1e-9, step, dtype=float)
        if len(times) == 0:
            return []
        slot = (times // 600).astype(np.int64)
        keep = np.ones(len(times), dtype=bool)
        for sl in np.unique(slot):  # signal gaps: 1–3 minutes in about one 10-minute slot of twelve
            if _h(plow.id, sl, "gap") < 0.08:
                start = sl * 600 + 420 * _h(plow.id, sl, "gs")
                keep &= ~((times >= start) & (times < start + 60 + 120 * _h(plow.id, sl, "gl")))
        times = times[keep]
        lon, lat, heading, speed, work = self.positions(plow, times)
        out = []
        kx, ky = self.index.proj.kx, self.index.proj.ky
        for k, ts in enumerate(times):
            nx = (_h(plow.id, ts, "nx") - 0.5) * 10.0  # ±5 m
            ny = (_h(plow.id, ts, "ny") - 0.5) * 10.0
            moving = speed[k] > 0
            item = {"vehicle_id": plow.id, "time": datetime.fromtimestamp(ts, tz=UTC).isoformat(),
                    "lon": round(float(lon[k] + nx / kx), 6), "lat": round(float(lat[k] + ny / ky), 6),
                    "speed": round(float(speed[k] * (0.9 + 0.2 * _h(plow.id, ts, "sp"))), 1) if moving else 0.0,
                    "heading": round(float(heading[k] + (_h(plow.id, ts, "hd") - 0.5) * 8) % 360, 1),
                    "work": work[k]}
            out.append(item)
            glitch = _h(plow.id, ts, "bad")
            if glitch < 0.0015:  # now and then a unit without a fix reports (0, 0)
                out.append({**item, "lon": 0.0, "lat": 0.0})
            elif glitch < 0.003:  # … or a multipath jump of a few kilometres
                out.append({**item, "lon": item["lon"] + 0.05,
                            "time": datetime.fromtimestamp(ts + 1, tz=UTC).isoformat()})
        return out


_FLEETS: dict[tuple, DemoFleet] = {}


def demo_fleet(db, s) -> DemoFleet | None:
    from sources.fixes import network_index
    from store.snow import network

    net = network(s)
    if net is None:
        return None
    key = (db.url, net.version)
    if key not in _FLEETS:
        index = network_index(s, key)
        if index is None:
            return None
        _FLEETS.clear()
        _FLEETS[key] = DemoFleet(index)
    return _FLEETS[key]


_LAST_PRUNE: dict[str, float] = {}


def tick(db, data_path: Path, now: datetime, interval_s: float = FIX_EVERY_S) -> int:
    """Send the fixes due up to `now` through the ingest path; returns how many were accepted.

    A plow without history first gets the last 24 hours (a fix every BACKFILL_STEP_S), so a fresh
    installation has a night to replay.
    """
    from sources.fixes import ingest
    from store.feeds import feed_ok
    from store.snow import prune, vehicles

    with db.session() as s:
        fl = demo_fleet(db, s)
        if fl is None:
            return 0
        last = {vid: v.last_time for vid, v in vehicles(s, [p.id for p in fl.plows]).items()}
    end = now.timestamp()
    items = []
    for plow in fl.plows:
        lt = last.get(plow.id)
        if lt is None:
            items.extend(fl.fixes(plow, end - BACKFILL_S, end, BACKFILL_STEP_S))
        else:
            items.extend(fl.fixes(plow, max(lt.timestamp(), end - BACKFILL_S), end))
    result = ingest(db, items, now, data_path / "boundaries/ishikawa_municipalities.geojson")
    with db.session() as s:
        feed_ok(s, FEED_NAME, interval_s=max(interval_s, 30.0), at=now)
        if end - _LAST_PRUNE.get(db.url, 0) > 600:
            prune(s, now - KEEP)
            _LAST_PRUNE[db.url] = end
    return result.accepted
