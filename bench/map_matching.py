"""Map matching speed: one million GPS fixes over the real road network (data/roads).

    .venv/bin/python bench/map_matching.py [N]

The fixes are the demo fleet scaled to 300 plows (positions along real roads, GPS noise of a few
metres, headings). Measured in one process, best of 3 runs each:
- baseline: a bare `STRtree.query_nearest` of the same points over the same road pieces
  (the projection and the point objects included, as in ours);
- ours, matching: `NetworkIndex.match` — candidates within 30 m from the STRtree, distance and
  heading scored with numpy, the best per fix;
- ours, whole path without the database: validation of the bad-fix rules, travel direction,
  matching, and pass building with gap filling;
- naive: one shapely query + distance per fix in a Python loop (measured on 20 000 fixes).
Prints fixes per second and the ratios. Goal: matching at least half the baseline's rate.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sources.demo_plows import DemoFleet  # noqa: E402
from sources.fixes import (  # noqa: E402
    NetworkIndex,
    build_passes,
    course_from_positions,
    prefecture_shape,
    validate,
)
from sources.geojson_file import read_features  # noqa: E402

T0 = 1_790_000_000.0


def best(fn, runs=3):
    out, times = None, []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, min(times)


def main(n: int = 1_000_000) -> None:
    feats = read_features(ROOT / "data/roads/demo_roads_hakui.geojson")
    index = NetworkIndex.from_features(feats)
    fleet = DemoFleet(index, size=300)
    per = int(np.ceil(n / len(fleet.plows)))
    rng = np.random.default_rng(1)
    lon, lat, hd, veh, ts, work = [], [], [], [], [], []
    for k, plow in enumerate(fleet.plows):
        times = T0 + np.arange(per) * 5.0
        lo, la, h, _s, w = fleet.positions(plow, times)
        lon.append(lo + rng.normal(0, 5, per) / index.proj.kx)
        lat.append(la + rng.normal(0, 5, per) / index.proj.ky)
        hd.append(h + rng.normal(0, 4, per))
        veh.append(np.full(per, k))
        ts.append(times)
        work.extend(w)
    lon, lat, hd = np.concatenate(lon)[:n], np.concatenate(lat)[:n], np.concatenate(hd)[:n]
    veh, ts, work = np.concatenate(veh)[:n], np.concatenate(ts)[:n], work[:n]
    print(f"network: {len(index.ids)} segments, {len(index.piece_seg)} straight pieces, "
          f"{index.seg_len.sum() / 1000:.0f} km; fixes: {n:,} from {len(fleet.plows)} plows")

    def baseline():
        x, y = index.proj.fwd(lon, lat)
        return index.tree.query_nearest(shapely.points(x, y), all_matches=False)

    def matching():
        return index.match(lon, lat, np.radians(hd))

    names = np.array([p.id for p in fleet.plows], dtype=object)[veh]
    prefecture = prefecture_shape(ROOT / "data/boundaries/ishikawa_municipalities.geojson")

    def whole():
        from sources.fixes import Batch

        b = Batch(vehicle=list(names), t=ts.copy(), lon=lon.copy(), lat=lat.copy(), speed=np.full(n, np.nan),
                  heading=hd.copy(), work=list(work), reason=np.zeros(n, dtype=np.int8))
        validate(b, {}, T0 + per * 5.0, prefecture)
        ok = np.flatnonzero(b.reason == 0)
        x, y = index.proj.fwd(b.lon[ok], b.lat[ok])
        course = course_from_positions(veh[ok], b.t[ok], x, y, b.heading[ok])
        seg, _d = index.match(b.lon[ok], b.lat[ok], course)
        return build_passes(index, list(names[ok]), b.t[ok], seg, [work[i] for i in ok], {})

    base_hits, t_base = best(baseline)
    (seg, _dist), t_match = best(matching)
    passes, t_whole = best(whole, runs=2)
    m = 20_000
    pts = shapely.points(*index.proj.fwd(lon[:m], lat[:m]))

    def naive():
        out = []
        pieces = index.tree.geometries
        for p in pts:
            cand = index.tree.query(p, predicate="dwithin", distance=30.0)
            out.append(min(cand, key=lambda c: p.distance(pieces[c])) if len(cand) else -1)
        return out

    _naive, t_naive = best(naive, runs=1)
    rate = lambda count, t: count / t  # noqa: E731
    agree = np.mean(index.piece_seg[base_hits[1]] == seg[base_hits[0]])
    print(f"baseline  STRtree.query_nearest: {rate(n, t_base):>12,.0f} fixes/s  ({t_base:.2f} s)")
    print(f"ours      match (distance+heading): {rate(n, t_match):>9,.0f} fixes/s  ({t_match:.2f} s)"
          f"  ratio to baseline {t_base / t_match:.2f}  (goal >= 0.5)")
    print(f"ours      validate+match+passes: {rate(n, t_whole):>12,.0f} fixes/s  ({t_whole:.2f} s), "
          f"{len(passes):,} passes")
    print(f"naive     per-fix Python loop:   {rate(m, t_naive):>12,.0f} fixes/s  (on {m:,} fixes)"
          f"  ours is {rate(n, t_match) / rate(m, t_naive):.0f}x faster")
    print(f"matched {np.mean(seg >= 0) * 100:.1f}% of fixes; nearest piece's segment chosen for "
          f"{agree * 100:.1f}% of those the baseline found (the rest: heading chose the other road)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
