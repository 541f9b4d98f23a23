"""GPS fixes of snowplows -> validated fixes -> matched road segments -> road passes.

One ingest path for every source: the demo feed, `POST /api/vehicles/fixes`, and FIWARE
`Vehicle` entities (polled or notified). Everything heavy is vectorised (numpy + shapely's STRtree), so a delivery of
many fixes costs about as much as a bare nearest-neighbour query over the same points.

Rules for bad fixes (dropped, counted per vehicle, never stored as passes):
  invalid            missing/unparsable fields
  zero_position      (0, 0): a GPS unit without a fix
  outside_prefecture not in 石川県 (municipal outlines, 1 km margin for the coast)
  future             more than 2 minutes ahead of the server clock
  too_old            before 2000-01-01 (a broken clock; sources.observed)
  out_of_order       older than the vehicle's previous accepted fix
  duplicate          same time as the previous accepted fix
  too_fast           a jump faster than 150 km/h from the previous accepted fix
"""
from __future__ import annotations

import heapq
import math
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson
import shapely

from sources.observed import EARLIEST
from sources.roads import ISHIKAWA, LocalProjection
from timezones import JST

REASONS = ["ok", "invalid", "zero_position", "outside_prefecture", "future", "out_of_order", "duplicate", "too_fast",
           "too_old"]
R = {name: i for i, name in enumerate(REASONS)}
WORKS = ("plowing", "spreading", "travel")
WORKING = ("plowing", "spreading")
MAX_SPEED_MS = 150 / 3.6
MAX_FUTURE_S = 120.0
EARLIEST_TS = EARLIEST.timestamp()
MATCH_RADIUS_M = 30.0
HEADING_WEIGHT_M_PER_DEG = 0.5  # 30° off the road's direction costs as much as 15 m away
GAP_MAX_S = 600.0  # fixes further apart than this are not joined by filling
NEW_PASS_AFTER_S = 300.0  # on the same segment, a new pass after this long without a fix there


# --- parsing -------------------------------------------------------------------------------------

@dataclass
class Batch:
    """Fixes as arrays (one row per fix, in delivery order); rows with reason != 0 are rejected."""

    vehicle: list[str]
    t: np.ndarray  # epoch seconds (UTC)
    lon: np.ndarray
    lat: np.ndarray
    speed: np.ndarray  # km/h, nan when unknown
    heading: np.ndarray  # degrees, nan when unknown
    work: list[str | None]  # None: keep the vehicle's last work
    reason: np.ndarray  # int8 codes into REASONS
    detail: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.vehicle)


def _num(value) -> float:
    if isinstance(value, bool) or value is None:
        raise ValueError
    f = float(value)
    if not math.isfinite(f):
        raise ValueError
    return f


def parse_time(value) -> float:
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip()
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=JST)  # bare times are Japan time, as everywhere in the API
    return dt.timestamp()


def parse_fixes(items: list) -> Batch:
    """Raw dicts {vehicle_id, lon, lat, time, speed?, heading?, work?} -> Batch (bad rows marked)."""
    n = len(items)
    b = Batch(vehicle=[""] * n, t=np.zeros(n), lon=np.zeros(n), lat=np.zeros(n), speed=np.full(n, np.nan),
              heading=np.full(n, np.nan), work=[None] * n, reason=np.zeros(n, dtype=np.int8))
    for i, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise ValueError("not an object")
            vid = item.get("vehicle_id")
            if (not isinstance(vid, (str, int)) or isinstance(vid, bool) or str(vid).strip() == ""
                    or len(str(vid)) > 120):
                raise ValueError("vehicle_id")
            b.vehicle[i] = str(vid).strip()
            try:
                b.lon[i], b.lat[i] = _num(item.get("lon")), _num(item.get("lat"))
            except (TypeError, ValueError):
                raise ValueError("lon/lat") from None
            if not (-180 <= b.lon[i] <= 180 and -90 <= b.lat[i] <= 90):
                raise ValueError("lon/lat")
            try:
                b.t[i] = parse_time(item.get("time"))
            except (TypeError, ValueError, OverflowError):
                raise ValueError("time") from None
            for key, arr in (("speed", b.speed), ("heading", b.heading)):
                if item.get(key) is not None:
                    try:
                        arr[i] = _num(item[key])
                    except (TypeError, ValueError):
                        raise ValueError(key) from None
            work = item.get("work")
            if work is not None:
                if work not in WORKS:
                    raise ValueError("work")
                b.work[i] = work
        except ValueError as exc:
            b.reason[i] = R["invalid"]
            b.detail[i] = str(exc)
    return b


# --- the prefecture ------------------------------------------------------------------------------

_PREF_CACHE: dict[str, object] = {}


def prefecture_shape(boundaries_path: Path):
    """石川県 (union of the municipal outlines) with a 1 km margin, prepared for point tests."""
    key = str(boundaries_path)
    if key not in _PREF_CACHE:
        from shapely.geometry import shape

        from sources.geojson_file import read_features

        geoms = [shape(f["geometry"]) for f in read_features(boundaries_path)]
        pref = shapely.buffer(shapely.union_all(geoms), 0.011)  # ~1 km
        shapely.prepare(pref)
        _PREF_CACHE[key] = pref
    return _PREF_CACHE[key]


# --- validation ----------------------------------------------------------------------------------

@dataclass
class Prior:
    """The previous accepted fix of each vehicle (nan when none)."""

    t: float = float("nan")
    lon: float = float("nan")
    lat: float = float("nan")


def validate(b: Batch, prior: dict[str, Prior], now: float, prefecture=None,
             proj: LocalProjection = ISHIKAWA) -> None:
    """Mark bad rows of b in place (vectorised; a few passes when glitches follow each other)."""
    ok = b.reason == 0
    zero = ok & (np.abs(b.lon) < 1e-6) & (np.abs(b.lat) < 1e-6)
    b.reason[zero] = R["zero_position"]
    ok = b.reason == 0
    if prefecture is not None and ok.any():
        idx = np.flatnonzero(ok)
        inside = shapely.contains_xy(prefecture, b.lon[idx], b.lat[idx])
        b.reason[idx[~inside]] = R["outside_prefecture"]
    b.reason[(b.reason == 0) & (b.t > now + MAX_FUTURE_S)] = R["future"]
    b.reason[(b.reason == 0) & (b.t < EARLIEST_TS)] = R["too_old"]

    if len(b):
        codes, vindex = np.unique(np.array(b.vehicle, dtype=object), return_inverse=True)
    else:
        codes, vindex = [], np.zeros(0, int)
    pt = np.array([prior.get(v, Prior()).t for v in codes], dtype=float)
    plon = np.array([prior.get(v, Prior()).lon for v in codes], dtype=float)
    plat = np.array([prior.get(v, Prior()).lat for v in codes], dtype=float)
    order = np.lexsort((np.arange(len(b)), vindex))  # by vehicle, then delivery order
    rows = order[b.reason[order] == 0]
    # Each round judges every row against the accepted row before it and drops the FIRST bad row of
    # each vehicle (a later row may only look bad because of it); vehicles without bad rows are done.
    while len(rows):
        v = vindex[rows]
        same = np.zeros(len(rows), dtype=bool)
        same[1:] = v[1:] == v[:-1]
        prev_t, prev_lon, prev_lat = pt[v].copy(), plon[v].copy(), plat[v].copy()
        s = np.flatnonzero(same)
        prev_t[s], prev_lon[s], prev_lat[s] = b.t[rows[s - 1]], b.lon[rows[s - 1]], b.lat[rows[s - 1]]
        dt = b.t[rows] - prev_t
        dist = np.hypot((b.lon[rows] - prev_lon) * proj.kx, (b.lat[rows] - prev_lat) * proj.ky)
        code = np.zeros(len(rows), dtype=np.int8)
        with np.errstate(invalid="ignore", divide="ignore"):
            code[dist / np.where(dt > 0, dt, np.nan) > MAX_SPEED_MS] = R["too_fast"]
        code[dt == 0] = R["duplicate"]
        code[dt < 0] = R["out_of_order"]
        bad = np.flatnonzero(code > 0)
        if len(bad) == 0:
            return
        first = bad[np.unique(v[bad], return_index=True)[1]]
        b.reason[rows[first]] = code[first]
        keep = np.isin(v, v[first])
        keep[first] = False
        rows = rows[keep]


# --- the network index ---------------------------------------------------------------------------

class NetworkIndex:
    """Segments cut into straight pieces in metres, an STRtree over the pieces, and the road graph."""

    def __init__(self, ids: list[str], coords: list[np.ndarray], routes: list[str], lengths=None,
                 proj: LocalProjection = ISHIKAWA, node_snap_m: float = 20.0):
        self.ids = list(ids)
        self.pos = {sid: i for i, sid in enumerate(self.ids)}
        self.routes = list(routes)
        self.areas = [""] * len(self.ids)
        self.classes = ["other"] * len(self.ids)
        self.proj = proj
        xs, ys, seg_of, offs = [], [], [], []
        self.seg_xy: list[tuple[np.ndarray, np.ndarray]] = []
        seg_len = np.zeros(len(ids))
        ends = np.zeros((len(ids), 2, 2))
        for i, c in enumerate(coords):
            c = np.asarray(c, dtype=float)
            x, y = proj.fwd(c[:, 0], c[:, 1])
            self.seg_xy.append((x, y))
            seglen = np.hypot(np.diff(x), np.diff(y))
            xs.append(np.column_stack([x[:-1], x[1:]]))
            ys.append(np.column_stack([y[:-1], y[1:]]))
            seg_of.append(np.full(len(seglen), i))
            offs.append(np.concatenate([[0.0], np.cumsum(seglen)[:-1]]))
            seg_len[i] = seglen.sum()
            ends[i] = [[x[0], y[0]], [x[-1], y[-1]]]
        px, py = np.concatenate(xs), np.concatenate(ys)
        self.x0, self.x1, self.y0, self.y1 = px[:, 0], px[:, 1], py[:, 0], py[:, 1]
        self.dx, self.dy = self.x1 - self.x0, self.y1 - self.y0
        self.len2 = np.maximum(self.dx ** 2 + self.dy ** 2, 1e-9)
        self.piece_seg = np.concatenate(seg_of)
        self.piece_off = np.concatenate(offs)
        self.bearing = np.arctan2(self.dx, self.dy) % np.pi  # undirected, from north
        self.seg_len = seg_len if lengths is None else np.where(np.asarray(lengths) > 0, lengths, seg_len)
        self.tree = shapely.STRtree(shapely.linestrings(np.stack([np.column_stack([self.x0, self.y0]),
                                                                  np.column_stack([self.x1, self.y1])], axis=1)))
        # graph: segment ends within node_snap_m of each other are one node
        pts = ends.reshape(-1, 2)
        parent = list(range(len(pts)))

        def find(a):
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        ptree = shapely.STRtree(shapely.points(pts))
        a_idx, b_idx = ptree.query(shapely.points(pts), predicate="dwithin", distance=node_snap_m)
        for a, b in zip(a_idx, b_idx):
            ra, rb = find(int(a)), find(int(b))
            if ra != rb:
                parent[ra] = rb
        roots = np.array([find(i) for i in range(len(pts))])
        self.seg_nodes = roots.reshape(-1, 2)
        self.node_segs: dict[int, list[int]] = {}
        for i, (na, nb) in enumerate(self.seg_nodes):
            self.node_segs.setdefault(int(na), []).append(i)
            self.node_segs.setdefault(int(nb), []).append(i)
        self.mid_x = (ends[:, 0, 0] + ends[:, 1, 0]) / 2
        self.mid_y = (ends[:, 0, 1] + ends[:, 1, 1]) / 2

    @classmethod
    def from_features(cls, features: list[dict], **kw) -> NetworkIndex:
        props = [f.get("properties") or {} for f in features]
        idx = cls([str(f["id"]) for f in features],
                  [np.asarray(f["geometry"]["coordinates"], dtype=float) for f in features],
                  [str(p.get("route", "")) for p in props], [float(p.get("length_m") or 0) for p in props], **kw)
        idx.areas = [str(p.get("area", "")) for p in props]
        idx.classes = [str(p.get("road_class", "other")) for p in props]
        return idx

    def match(self, lon, lat, course=None, radius: float = MATCH_RADIUS_M):
        """Best segment (index, -1 when none within radius) and distance for each point.

        course: direction of travel in radians from north (nan: unknown). Cost = distance in metres
        + HEADING_WEIGHT × angle (degrees, 0..90) between the travel direction and the road piece.
        """
        x, y = self.proj.fwd(lon, lat)
        n = len(x)
        seg = np.full(n, -1, dtype=np.int64)
        dist = np.full(n, np.nan)
        if n == 0:
            return seg, dist
        pi, ci = self.tree.query(shapely.points(x, y), predicate="dwithin", distance=radius)
        if len(pi) == 0:
            return seg, dist
        px, py = x[pi], y[pi]
        tt = np.clip(((px - self.x0[ci]) * self.dx[ci] + (py - self.y0[ci]) * self.dy[ci]) / self.len2[ci], 0.0, 1.0)
        d = np.hypot(px - (self.x0[ci] + tt * self.dx[ci]), py - (self.y0[ci] + tt * self.dy[ci]))
        cost = d
        if course is not None:
            c = np.asarray(course, dtype=float)[pi]
            diff = np.abs((c - self.bearing[ci] + np.pi / 2) % np.pi - np.pi / 2)
            cost = d + np.where(np.isnan(diff), 0.0, np.degrees(diff) * HEADING_WEIGHT_M_PER_DEG)
        order = np.lexsort((cost, pi))
        first = order[np.unique(pi[order], return_index=True)[1]]
        seg[pi[first]] = self.piece_seg[ci[first]]
        dist[pi[first]] = d[first]
        return seg, dist

    def adjacent(self, a: int, b: int) -> bool:
        return bool(set(self.seg_nodes[a]) & set(self.seg_nodes[b]))

    def path_between(self, a: int, b: int, max_len: float, same_route: bool = True) -> list[int] | None:
        """Segments strictly between a and b along the road graph (shortest, within max_len metres)."""
        if a == b or self.adjacent(a, b):
            return []
        route = self.routes[a]
        if same_route and self.routes[b] != route:
            return None
        targets = set(int(n) for n in self.seg_nodes[b])
        dist: dict[int, float] = {}
        prev: dict[int, tuple[int, int]] = {}
        heap = []
        for n in self.seg_nodes[a]:
            dist[int(n)] = 0.0
            heap.append((0.0, int(n)))
        heapq.heapify(heap)
        while heap:
            d, node = heapq.heappop(heap)
            if d > dist.get(node, math.inf):
                continue
            if node in targets:
                path = []
                while node in prev:
                    node, sidx = prev[node]
                    path.append(sidx)
                return path[::-1]
            for sidx in self.node_segs.get(node, []):
                if sidx in (a, b) or (same_route and self.routes[sidx] != route):
                    continue
                na, nb = (int(v) for v in self.seg_nodes[sidx])
                other = nb if na == node else na
                nd = d + float(self.seg_len[sidx])
                if nd <= max_len and nd < dist.get(other, math.inf):
                    dist[other] = nd
                    prev[other] = (node, sidx)
                    heapq.heappush(heap, (nd, other))
        return None


_INDEX_CACHE: dict[tuple, NetworkIndex] = {}
_INDEX_LOCK = threading.Lock()


def network_index(s, cache_key: tuple) -> NetworkIndex | None:
    """The index of the stored network, built once per (database, network version) in a process."""
    from store.snow import segments

    with _INDEX_LOCK:
        if cache_key in _INDEX_CACHE:
            return _INDEX_CACHE[cache_key]
        segs = segments(s)
        if not segs:
            return None
        idx = NetworkIndex([g.id for g in segs], [np.asarray(orjson.loads(g.geometry)["coordinates"]) for g in segs],
                           [g.route for g in segs], [g.length_m for g in segs])
        idx.areas = [g.area for g in segs]
        idx.classes = [g.road_class for g in segs]
        for key in [k for k in _INDEX_CACHE if k[0] == cache_key[0]]:
            del _INDEX_CACHE[key]
        _INDEX_CACHE[cache_key] = idx
        return idx


# --- passes --------------------------------------------------------------------------------------

@dataclass
class VehicleTrack:
    """What pass building needs to remember about a vehicle between deliveries."""

    segment: int = -1
    work: str = "travel"
    t: float = float("nan")  # time of the last matched fix


def course_from_positions(vindex: np.ndarray, t, x, y, heading_deg) -> np.ndarray:
    """Travel direction (radians from north): the GPS heading, else from the previous fix when moved > 5 m."""
    course = np.radians(heading_deg)
    same = np.zeros(len(t), dtype=bool)
    same[1:] = vindex[1:] == vindex[:-1]
    dx = np.zeros(len(t))
    dy = np.zeros(len(t))
    dx[1:], dy[1:] = np.diff(x), np.diff(y)
    moved = same & (np.hypot(dx, dy) > 5.0)
    derived = np.where(moved, np.arctan2(dx, dy), np.nan)
    return np.where(np.isnan(course), derived, course)


def build_passes(index: NetworkIndex, vehicles: list[str], t: np.ndarray, seg: np.ndarray, work: list[str],
                 tracks: dict[str, VehicleTrack]) -> list[tuple[int, str, float, str, bool]]:
    """(segment index, vehicle, time, work, filled) for rows sorted by vehicle then time.

    A pass starts when a vehicle enters a segment, changes work on it, or comes back to it after
    NEW_PASS_AFTER_S. Between two consecutive matched fixes on different, non-adjacent segments of
    the same route (less than GAP_MAX_S apart), the segments in between get passes too (filled).
    """
    m = np.flatnonzero(seg >= 0)
    if len(m) == 0:
        return []
    veh = np.array(vehicles, dtype=object)[m]
    wk = np.array(work, dtype=object)[m]
    sg, tm = seg[m], t[m]
    first = np.ones(len(m), dtype=bool)
    first[1:] = veh[1:] != veh[:-1]
    prev_seg = np.empty(len(m), dtype=np.int64)
    prev_work = np.empty(len(m), dtype=object)
    prev_t = np.empty(len(m))
    prev_seg[1:], prev_work[1:], prev_t[1:] = sg[:-1], wk[:-1], tm[:-1]
    for i in np.flatnonzero(first):
        tr = tracks.get(veh[i]) or VehicleTrack()
        prev_seg[i], prev_work[i], prev_t[i] = tr.segment, tr.work, tr.t
    gap = tm - prev_t
    change = (sg != prev_seg) | (wk != prev_work) | ~(gap <= NEW_PASS_AFTER_S)
    out = []
    for i in np.flatnonzero(change):
        a, b = int(prev_seg[i]), int(sg[i])
        if a >= 0 and a != b and gap[i] <= GAP_MAX_S:
            straight = math.hypot(index.mid_x[a] - index.mid_x[b], index.mid_y[a] - index.mid_y[b])
            max_len = min(3 * straight + 500.0, MAX_SPEED_MS * gap[i] + 500.0)
            path = index.path_between(a, b, max_len) or []
            if path:
                fill_work = wk[i] if (wk[i] in WORKING and prev_work[i] in WORKING) else "travel"
                for k, mid in enumerate(path):
                    out.append((mid, veh[i], prev_t[i] + gap[i] * (k + 1) / (len(path) + 1), fill_work, True))
        out.append((b, veh[i], float(tm[i]), wk[i], False))
    last = np.flatnonzero(np.append(veh[1:] != veh[:-1], True))
    for i in last:
        tracks[veh[i]] = VehicleTrack(segment=int(sg[i]), work=wk[i], t=float(tm[i]))
    return out


# --- the whole path, against the store ----------------------------------------------------------

@dataclass
class IngestResult:
    accepted: int
    rejected: list[dict]
    passes: int

    def as_json(self) -> dict:
        return {"accepted": self.accepted, "rejected": len(self.rejected), "rejections": self.rejected,
                "passes": self.passes}


def _epoch(dt: datetime | None) -> float:
    return dt.timestamp() if dt is not None else float("nan")


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def ingest(db, items: list, now: datetime, boundaries_path: Path | None = None) -> IngestResult:
    """Validate, store and match a delivery of fixes; returns counts and each rejected row's reason."""
    from store import snow as st

    batch = parse_fixes(items)
    pref = prefecture_shape(boundaries_path) if boundaries_path is not None else None
    with db.session() as s:
        ids = sorted({v for v in batch.vehicle if v})
        vehs = st.ensure_vehicles(s, ids)
        prior = {v.id: Prior(_epoch(v.last_time), v.last_lon if v.last_lon is not None else float("nan"),
                             v.last_lat if v.last_lat is not None else float("nan")) for v in vehs.values()}
        validate(batch, prior, now.timestamp(), pref)
        net = st.network(s)
        index = network_index(s, (db.url, net.version)) if net is not None else None
        ok = np.flatnonzero(batch.reason == 0)
        vid = np.array(batch.vehicle, dtype=object)
        ok = ok[np.lexsort((batch.t[ok], vid[ok]))] if len(ok) else ok
        # work: as sent, else the vehicle's last work
        last_work = {v.id: v.last_work or "travel" for v in vehs.values()}
        works = []
        for i in ok:
            w = batch.work[i] or last_work[batch.vehicle[i]]
            last_work[batch.vehicle[i]] = w
            works.append(w)
        seg = np.full(len(ok), -1, dtype=np.int64)
        passes = []
        if index is not None and len(ok):
            vi = np.unique(vid[ok], return_inverse=True)[1]
            x, y = index.proj.fwd(batch.lon[ok], batch.lat[ok])
            course = course_from_positions(vi, batch.t[ok], x, y, batch.heading[ok])
            seg, _d = index.match(batch.lon[ok], batch.lat[ok], course)
            tracks = {v.id: VehicleTrack(index.pos.get(v.last_segment, -1) if v.last_segment else -1,
                                         v.last_work or "travel", _epoch(v.last_time)) for v in vehs.values()}
            passes = build_passes(index, list(vid[ok]), batch.t[ok], seg, works, tracks)
        received = now
        st.add_fixes(s, [dict(vehicle_id=batch.vehicle[i], time=_dt(batch.t[i]), lon=round(float(batch.lon[i]), 6),
                              lat=round(float(batch.lat[i]), 6),
                              speed=None if np.isnan(batch.speed[i]) else round(float(batch.speed[i]), 1),
                              heading=None if np.isnan(batch.heading[i]) else round(float(batch.heading[i]) % 360, 1),
                              work=works[k],
                              segment_id=index.ids[seg[k]] if index is not None and seg[k] >= 0 else None,
                              received_at=received)
                         for k, i in enumerate(ok)])
        st.add_passes(s, [dict(segment_id=index.ids[p[0]], vehicle_id=p[1], time=_dt(p[2]), work=p[3], filled=p[4])
                          for p in passes])
        # vehicle state: last accepted fix, counters
        for k, i in enumerate(ok):
            v = vehs[batch.vehicle[i]]
            v.accepted = (v.accepted or 0) + 1
            if k + 1 == len(ok) or batch.vehicle[ok[k + 1]] != v.id:
                v.last_time, v.last_lon, v.last_lat = _dt(batch.t[i]), float(batch.lon[i]), float(batch.lat[i])
                v.last_speed = None if np.isnan(batch.speed[i]) else float(batch.speed[i])
                v.last_heading = None if np.isnan(batch.heading[i]) else float(batch.heading[i]) % 360
                v.last_work, v.last_received_at = works[k], received
                if seg[k] >= 0:
                    v.last_segment = index.ids[seg[k]]
        for p in passes:
            v = vehs[p[1]]
            if v.last_pass_at is None or v.last_pass_at.timestamp() < p[2]:
                v.last_pass_at = _dt(p[2])
        rejected = []
        counts: dict[str, dict[str, int]] = {}
        for i in np.flatnonzero(batch.reason != 0):
            reason = REASONS[batch.reason[i]]
            row = {"index": int(i), "vehicle_id": batch.vehicle[i] or None, "reason": reason}
            if i in batch.detail:
                row["field"] = batch.detail[i]
            rejected.append(row)
            if batch.vehicle[i]:
                c = counts.setdefault(batch.vehicle[i], {})
                c[reason] = c.get(reason, 0) + 1
        for v_id, c in counts.items():
            v = vehs[v_id]
            merged = dict(v.rejected or {})
            for reason, n in c.items():
                merged[reason] = merged.get(reason, 0) + n
            v.rejected = merged
    return IngestResult(accepted=len(ok), rejected=rejected, passes=len(passes))


def rematch(db, since: datetime) -> int:
    """Match the stored fixes since `since` again (after the network was replaced) and rebuild
    their passes, so the status and the replay survive a new network. Returns the passes made."""
    with db.session() as s:
        return rematch_in(s, db.url, since)


def rematch_in(s, db_url: str, since: datetime) -> int:
    from sqlalchemy import select

    from store import snow as st

    net = st.network(s)
    index = network_index(s, (db_url, net.version)) if net is not None else None
    if index is None:
        return 0
    rows = s.execute(select(st.Fix.vehicle_id, st.Fix.time, st.Fix.lon, st.Fix.lat, st.Fix.heading, st.Fix.work)
                     .where(st.Fix.time >= since).order_by(st.Fix.vehicle_id, st.Fix.time)).all()
    if not rows:
        return 0
    vid = np.array([r[0] for r in rows], dtype=object)
    t = np.array([r[1].timestamp() for r in rows])
    lon = np.array([r[2] for r in rows])
    lat = np.array([r[3] for r in rows])
    heading = np.array([np.nan if r[4] is None else r[4] for r in rows])
    vi = np.unique(vid, return_inverse=True)[1]
    x, y = index.proj.fwd(lon, lat)
    seg, _d = index.match(lon, lat, course_from_positions(vi, t, x, y, heading))
    passes = build_passes(index, list(vid), t, seg, [r[5] for r in rows], {})
    s.execute(st.Pass.__table__.delete().where(st.Pass.time >= since))
    st.add_passes(s, [dict(segment_id=index.ids[p[0]], vehicle_id=p[1], time=_dt(p[2]), work=p[3], filled=p[4])
                      for p in passes])
    last = {}
    for k in range(len(rows)):
        if seg[k] >= 0:
            last[vid[k]] = index.ids[seg[k]]
    for v in st.vehicles(s, list(last)).values():
        v.last_segment = last[v.id]
    return len(passes)
