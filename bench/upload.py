"""Upload benchmark: parse + store time and peak memory of a big CSV and a big GeoJSON,
against a bare `pyogrio.read_dataframe` of the same file (ratio printed; goal: within 2×), and the
bytes one map view receives from a one-million-point public layer at zoom 8, 12 and 16 (goal: < 1 MB).

    python bench/upload.py                 # the issue's sizes: 1,000,000-row CSV (~60 MB), 100 MB GeoJSON
    python bench/upload.py --scale 0.05    # quick run (5 %)
    python bench/upload.py --database-url postgresql://postgres@127.0.0.1:5432/test

Each measurement runs in a fresh process, so "peak" is that step's own maximum resident memory.
The files are generated from the real rows in tests/fixtures/uploads (names, addresses, places),
jittered around 石川県, with a fixed seed.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import io
import multiprocessing as mp
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEED_CSV = ROOT / "tests" / "fixtures" / "uploads" / "ishikawa_noto_doctorheli_rendezvous_utf8bom.csv"
ISHIKAWA = (136.25, 36.07, 137.35, 37.55)


def seed_rows() -> list[dict]:
    return list(csv.DictReader(io.StringIO(SEED_CSV.read_text(encoding="utf-8-sig"))))


def make_csv(path: Path, n: int) -> None:
    rnd = random.Random(4)
    seeds = seed_rows()
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        # about 60 bytes a row, like a plain point list exported from Excel
        w.writerow(["番号", "市町", "名称", "緯度", "経度"])
        for i in range(n):
            s = seeds[i % len(seeds)]
            w.writerow([i + 1, s["市町"], s["名称"][:5], f"{rnd.uniform(ISHIKAWA[1], ISHIKAWA[3]):.6f}",
                        f"{rnd.uniform(ISHIKAWA[0], ISHIKAWA[2]):.6f}"])


def make_geojson(path: Path, target_bytes: int) -> int:
    rnd = random.Random(5)
    seeds = seed_rows()
    n = 0
    with path.open("wb") as fh:
        fh.write(b'{"type":"FeatureCollection","features":[\n')
        size = 0
        while size < target_bytes:
            s = seeds[n % len(seeds)]
            feat = {"type": "Feature", "properties": {"番号": n + 1, "市町": s["市町"], "医療圏": s["医療圏"],
                                                      "名称": f"{s['名称']} {n}", "所在地": s["所在地"]},
                    "geometry": {"type": "Point", "coordinates": [round(rnd.uniform(ISHIKAWA[0], ISHIKAWA[2]), 7),
                                                                  round(rnd.uniform(ISHIKAWA[1], ISHIKAWA[3]), 7)]}}
            line = (b",\n" if n else b"") + orjson.dumps(feat)
            fh.write(line)
            size += len(line)
            n += 1
        fh.write(b"\n]}\n")
    return n


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _baseline(path: str, q) -> None:
    import pyogrio

    t0 = time.perf_counter()
    df = pyogrio.read_dataframe(path)
    q.put({"seconds": time.perf_counter() - t0, "rows": len(df), "peak_mb": peak_mb()})


def _ours(path: str, db_url: str, q) -> None:
    from layers.builtin import ensure_builtin
    from layers.manage import UploadOptions, publish_result, read_file
    from store.db import Database
    from store.schema import create_all
    from store.users import ADMIN, create_user, get_user_by_email, staff_of

    db = Database(db_url)
    create_all(db)
    with db.session() as s:
        ensure_builtin(s, ROOT / "data")
        if get_user_by_email(s, "bench@example.jp") is None:
            create_user(s, "bench@example.jp", "bench-password", "ishikawa", ADMIN)
    with db.session() as s:
        staff = staff_of(s, get_user_by_email(s, "bench@example.jp"))
    raw = Path(path).read_bytes()
    t0 = time.perf_counter()
    result = read_file(raw, Path(path).name, UploadOptions(), 10 ** 10)
    t1 = time.perf_counter()
    out = publish_result(db, staff, result, Path(path).name, {"name_ja": "bench", "group": "bousai",
                                                              "visibility": "public"})
    t2 = time.perf_counter()
    q.put({"parse": t1 - t0, "store": t2 - t1, "seconds": t2 - t0, "rows": out.feature_count,
           "peak_mb": peak_mb(), "layer_id": out.layer_id})


def _views(db_url: str, layer_id: str, q) -> None:
    import math

    from layers.base import kind_of
    from plugins import register_all
    from store.db import Database
    from store.models import Layer

    register_all()
    db = Database(db_url)
    out = {}
    lon0, lat0 = 136.65, 36.56  # 金沢
    for zoom in (8, 12, 16):
        # a 1280×800 px view at this zoom
        deg_per_px = 360.0 / (256 * 2 ** zoom)
        half_w, half_h = 640 * deg_per_px, 400 * deg_per_px / math.cos(math.radians(lat0))
        bbox = (lon0 - half_w, lat0 - half_h, lon0 + half_w, lat0 + half_h)
        with db.session() as s:
            layer = s.get(Layer, layer_id)
            t0 = time.perf_counter()
            body = kind_of(layer).features(s, layer, bbox, zoom=zoom)
            dt = time.perf_counter() - t0
        doc = orjson.loads(body)
        out[zoom] = {"bytes": len(body), "gzip": len(gzip.compress(body, 6)), "features": len(doc["features"]),
                     "seconds": dt}
    q.put(out)


def run(target, *args):
    q = mp.get_context("spawn").Queue()
    p = mp.get_context("spawn").Process(target=target, args=(*args, q))
    p.start()
    res = q.get()
    p.join()
    return res


def report(title: str, path: Path, ours: dict, base: dict) -> None:
    size = path.stat().st_size / 1e6
    ratio = ours["seconds"] / base["seconds"] if base["seconds"] else float("nan")
    print(f"\n{title}: {path.name}, {size:.1f} MB, {ours['rows']:,} features stored")
    print(f"  ours      parse {ours['parse']:7.2f} s + store {ours['store']:7.2f} s = {ours['seconds']:7.2f} s,"
          f" peak {ours['peak_mb']:7.0f} MB")
    print(f"  baseline  pyogrio.read_dataframe {base['seconds']:7.2f} s ({base['rows']:,} rows),"
          f" peak {base['peak_mb']:7.0f} MB")
    print(f"  ratio     {ratio:.2f}× the baseline time (goal: ≤ 2×), "
          f"{ours['peak_mb'] / base['peak_mb']:.2f}× its peak memory")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the issue's sizes (default 1.0)")
    ap.add_argument("--database-url", default="", help="default: a fresh SQLite file in a temp folder")
    ap.add_argument("--only", choices=["csv", "geojson", "views"], default=None)
    args = ap.parse_args()
    rows = int(1_000_000 * args.scale)
    gj_bytes = int(100e6 * args.scale)
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        tmp = Path(tmp)
        db_url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
        if args.database_url.startswith("postgresql"):
            import uuid

            import sqlalchemy as sa

            from store.db import normalize_url

            schema = "bench_" + uuid.uuid4().hex[:8]
            eng = sa.create_engine(normalize_url(args.database_url))
            with eng.begin() as c:
                c.execute(sa.text(f"CREATE SCHEMA {schema}"))
            db_url = f"{args.database_url}{'&' if '?' in args.database_url else '?'}options=-csearch_path%3D{schema}"
        print(f"database: {db_url.split('?')[0]}  (scale {args.scale})")
        csv_path = tmp / "points.csv"
        layer_id = None
        if args.only in (None, "csv", "views"):
            t0 = time.perf_counter()
            make_csv(csv_path, rows)
            print(f"generated {csv_path.name}: {rows:,} rows, {csv_path.stat().st_size / 1e6:.1f} MB "
                  f"in {time.perf_counter() - t0:.1f} s")
            base = run(_baseline, str(csv_path))
            ours = run(_ours, str(csv_path), db_url)
            layer_id = ours["layer_id"]
            report("CSV", csv_path, ours, base)
        if args.only in (None, "geojson"):
            gj_path = tmp / "points.geojson"
            n = make_geojson(gj_path, gj_bytes)
            print(f"\ngenerated {gj_path.name}: {n:,} features, {gj_path.stat().st_size / 1e6:.1f} MB")
            base = run(_baseline, str(gj_path))
            ours = run(_ours, str(gj_path), db_url)
            report("GeoJSON", gj_path, ours, base)
        if layer_id:
            views = run(_views, db_url, layer_id)
            print(f"\nOne view (1280×800 px around 金沢) of the {rows:,}-point public layer:")
            for zoom, v in views.items():
                print(f"  zoom {zoom:>2}: {v['features']:6,} features, {v['bytes'] / 1e3:8.1f} kB "
                      f"({v['gzip'] / 1e3:7.1f} kB gzip), {v['seconds'] * 1000:6.0f} ms  (goal: < 1 MB)")
        if args.database_url.startswith("postgresql"):
            with eng.begin() as c:
                c.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    main()
