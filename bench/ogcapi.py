"""OGC API – Features benchmark: pages and single items of a one-million-point public layer through
/ogcapi (Flask test client), each against one direct SQL query for the same rows in the same process.

    python bench/ogcapi.py                  # 1,000,000 points, a fresh SQLite file
    python bench/ogcapi.py --points 100000  # quicker
    python bench/ogcapi.py --database-url postgresql://postgres@127.0.0.1:5432/test

Measured: one page of 100 items at offset 0 and at offset 500,000 (with numberMatched), one page of
100 in a small bbox (the grid index names the candidates), and one item by its id. Each figure is
the best of --repeat runs (ms); "ratio" is the route's time over the direct query's, which only
fetches the same rows (one SELECT … LIMIT/OFFSET, or the row by fid: no COUNT, no JSON, no HTTP);
the COUNT that gives numberMatched is timed on its own. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ISHIKAWA = (136.25, 36.07, 137.35, 37.55)
LAYER_ID = "bench-ogc-million"


def pg_schema_url(url: str):
    import uuid

    import sqlalchemy as sa

    from store.db import normalize_url

    schema = "bench_" + uuid.uuid4().hex[:8]
    eng = sa.create_engine(normalize_url(url))
    with eng.begin() as c:
        c.execute(sa.text(f"CREATE SCHEMA {schema}"))
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}", eng, schema


def make_layer(db, n: int) -> None:
    """n points written by the one feature writer, store.features.replace_features (COPY on PostgreSQL)."""
    import numpy as np

    from sources.readers import PointRows
    from store.features import replace_features
    from store.layers import upsert_layer
    from store.models import PUBLIC

    rnd = np.random.default_rng(7)
    lons = rnd.uniform(ISHIKAWA[0], ISHIKAWA[2], n)
    lats = rnd.uniform(ISHIKAWA[1], ISHIKAWA[3], n)
    numbers = np.arange(1, n + 1, dtype=np.int64)
    fids = [str(i) for i in range(1, n + 1)]
    names = ["番号", "名称"]
    columns = [fids, [f"地点{i % 997}" for i in range(n)]]
    points = PointRows(fids, lons, lats, names, columns, numbers=numbers)
    with db.session() as s:
        layer = upsert_layer(s, LAYER_ID, kind="uploaded", name_ja="ベンチ", name_en="bench", group="bousai",
                             visibility=PUBLIC, options={"geometry_types": ["Point"], "upload": True})
        replace_features(s, layer, points)


def best(fn, repeat: int) -> tuple[float, object]:
    out, times = None, []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1000, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--database-url", default="", help="default: a fresh SQLite file in a temp folder")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    from sqlalchemy import func, select

    from app import create_app
    from settings import Settings
    from store.models import Feature

    with tempfile.TemporaryDirectory(prefix="bench-ogc-") as tmp:
        url, eng, schema = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", None, None
        if url.startswith("postgresql"):
            url, eng, schema = pg_schema_url(url)
        try:
            app = create_app(Settings.from_env({"DATABASE_URL": url, "INSTANCE_PATH": tmp, "SECRET_KEY": "bench"}))
            db = app.server.extensions["ishikawa.db"]
            t0 = time.perf_counter()
            make_layer(db, args.points)
            print(f"database: {url.split('?')[0]}; {args.points:,} points written in {time.perf_counter() - t0:.1f} s")
            client = app.server.test_client()

            def route(path):
                def go():
                    r = client.get(path)
                    assert r.status_code == 200, (path, r.status_code, r.data[:200])
                    return orjson.loads(r.data)
                return go

            def sql_page(offset):
                def go():
                    with db.session() as s:
                        return s.execute(select(Feature.fid, Feature.geometry, Feature.properties)
                                         .where(Feature.layer_id == LAYER_ID)
                                         .order_by(Feature.layer_id, Feature.id).limit(100).offset(offset)).all()
                return go

            def sql_count():
                with db.session() as s:
                    return s.scalar(select(func.count()).select_from(Feature).where(Feature.layer_id == LAYER_ID))

            def sql_item(fid):
                def go():
                    with db.session() as s:
                        return s.execute(select(Feature.fid, Feature.geometry, Feature.properties)
                                         .where(Feature.layer_id == LAYER_ID, Feature.fid == fid)).first()
                return go

            box = (136.64, 36.55, 136.66, 36.57)  # ~2 km around 金沢駅

            def sql_box():
                with db.session() as s:
                    return s.execute(select(Feature.fid, Feature.geometry, Feature.properties)
                                     .where(Feature.layer_id == LAYER_ID, Feature.maxx >= box[0],
                                            Feature.minx <= box[2], Feature.maxy >= box[1], Feature.miny <= box[3])
                                     .order_by(Feature.layer_id, Feature.id).limit(100)).all()

            mid = args.points // 2
            fid = str(mid + 1)
            cases = [
                ("page of 100 at offset 0", route(f"/ogcapi/collections/{LAYER_ID}/items?limit=100"), sql_page(0)),
                (f"page of 100 at offset {mid:,}",
                 route(f"/ogcapi/collections/{LAYER_ID}/items?limit=100&offset={mid}"), sql_page(mid)),
                ("page of 100 in a 2 km bbox", route(f"/ogcapi/collections/{LAYER_ID}/items?limit=100&bbox="
                                                     + ",".join(map(str, box))), sql_box),
                (f"one item (fid {fid})", route(f"/ogcapi/collections/{LAYER_ID}/items/{fid}"), sql_item(fid)),
            ]
            t0 = time.perf_counter()
            route(f"/ogcapi/collections/{LAYER_ID}")()
            print(f"collection document, first request (extent in SQL, then cached per data version): "
                  f"{(time.perf_counter() - t0) * 1000:.0f} ms")
            route(f"/ogcapi/collections/{LAYER_ID}/items?limit=1")()  # warm: queryables, caches
            print(f"{'':32} {'/ogcapi':>10} {'direct SQL':>11} {'ratio':>7}")
            for name, via_route, via_sql in cases:
                ms_route, doc = best(via_route, args.repeat)
                ms_sql, _ = best(via_sql, args.repeat)
                got = (f"{doc['numberReturned']} of {doc['numberMatched']:,}, first id {doc['features'][0]['id']}"
                       if "features" in doc else f"id {doc['id']}")
                print(f"{name:32} {ms_route:8.1f} ms {ms_sql:8.1f} ms {ms_route / ms_sql:6.2f}×   ({got})")
            ms_count, count = best(sql_count, args.repeat)
            print(f"(numberMatched of the whole layer: one SQL COUNT of its {count:,} rows, {ms_count:.1f} ms, "
                  "once per data version)")
        finally:
            if eng is not None:
                import sqlalchemy as sa

                with eng.begin() as c:
                    c.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    main()
