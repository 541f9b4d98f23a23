"""Time series behind dashboards: a year of readings of 300 sensors, aggregated in SQL.

    python bench/dashboard.py                      # 300 sensors × 365 days × every 10 min ≈ 15.8 M readings
    python bench/dashboard.py --scale 0.05         # quick run (5 % of the days)
    python bench/dashboard.py --database-url postgresql://postgres@127.0.0.1:5432/test   # a fresh schema

Fills a fresh store the fast way (`fill`: executemany on SQLite, COPY on PostgreSQL, in time order as
feeds write), builds the hourly rollups in bulk (`store.series.rebuild_rollups`), then measures, each
as the median of several runs against the same aggregation written as ONE direct SQL query over the raw
readings in the same process (ratio = ours / direct; goal ≤ 1.5×):
(1) a 30-day hourly avg series of 10 sensors (`store.series.bucketed`), and day buckets over a year;
(2) the first view of a 12-panel dashboard: hourly series over 30 days, 10-minute series over 24 h,
    day buckets over a year, latest values of 300 sensors, raw readings, sparklines.
Absolute milliseconds are printed as context. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import math
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import bindparam, text  # noqa: E402

from store.db import Database, UTCDateTime, normalize_url  # noqa: E402
from store.schema import create_all  # noqa: E402

ATTR = "snowDepth"
LAYER = "bench-sensors"
UTC = UTC


def sensor_ids(n: int) -> list[str]:
    return [f"bench-{i:04d}" for i in range(n)]


def fill(db: Database, sensors: int = 300, days: float = 365, every_min: int = 10,
         end: datetime | None = None) -> dict:
    """A public layer `bench-sensors` with `sensors` sensors and a reading of each every `every_min`
    minutes for `days` days up to `end` (default: now, floored to the step), written in time order the
    fast way, then the hourly rollups in bulk and fresh planner statistics.
    Returns {ids, start, end, readings, seconds: {readings, rollups}}."""
    import numpy as np

    from store.layers import ensure_organisation, upsert_layer
    from store.models import Sensor
    from store.sensors import upsert_sensor
    from store.series import rebuild_rollups

    step = timedelta(minutes=every_min)
    if end is None:
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        end = now - timedelta(minutes=now.minute % every_min)
    n_times = int(days * 1440 / every_min)
    start = end - step * (n_times - 1)
    ids = sensor_ids(sensors)
    with db.session() as s:
        org = ensure_organisation(s, "bench", "ベンチ市", "Bench City")
        upsert_layer(s, LAYER, kind="sensors", name_ja="ベンチ", name_en="Bench", group="bench",
                     organisation_id=org.id, options={}, visibility="public")
        for i, sid in enumerate(ids):
            upsert_sensor(s, sid, layer_id=LAYER, name_ja=sid, lon=136.2 + (i % 30) * 0.03,
                          lat=36.1 + (i // 30) * 0.05, attribute=ATTR, unit="cm")
    # a daily wave, a yearly wave and a per-sensor offset; 0.1 cm resolution
    rng = np.random.default_rng(1)
    base = rng.uniform(0, 60, sensors)
    phase = rng.uniform(0, 2 * math.pi, sensors)

    def values(k: int) -> list[float]:
        minutes = k * every_min
        v = (base + 25 * np.sin(2 * math.pi * minutes / 1440 + phase)
             + 40 * np.sin(2 * math.pi * minutes / 525600))
        return np.round(np.maximum(v, 0), 1).tolist()

    t0 = time.perf_counter()
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        if db.backend == "postgresql":
            batch = []
            with cur.copy("COPY readings (sensor_id, attribute, value, observed_at) FROM STDIN") as copy:
                for k in range(n_times):
                    ts = (start + step * k).strftime("%Y-%m-%d %H:%M:%S")
                    batch.extend(f"{sid}\t{ATTR}\t{v}\t{ts}\n" for sid, v in zip(ids, values(k)))
                    if len(batch) >= 100_000:
                        copy.write("".join(batch))
                        batch.clear()
                if batch:
                    copy.write("".join(batch))
        else:
            cur.execute("PRAGMA cache_size=-524288")  # 512 MB: the three indexes grow together
            sql = "INSERT INTO readings (sensor_id, attribute, value, observed_at) VALUES (?, ?, ?, ?)"
            rows: list[tuple] = []
            for k in range(n_times):
                # the text form UTCDateTime writes on SQLite
                ts = (start + step * k).strftime("%Y-%m-%d %H:%M:%S.%f")
                rows.extend((sid, ATTR, v, ts) for sid, v in zip(ids, values(k)))
                if len(rows) >= 500_000:
                    cur.executemany(sql, rows)
                    rows.clear()
                    raw.commit()
            if rows:
                cur.executemany(sql, rows)
        raw.commit()
        cur.close()
    finally:
        raw.close()
    t_readings = time.perf_counter() - t0
    last = values(n_times - 1)
    with db.session() as s:
        for sid, v in zip(ids, last):
            sensor = s.get(Sensor, sid)
            sensor.last_value, sensor.last_observed_at = v, end
    t0 = time.perf_counter()
    with db.session() as s:
        rebuild_rollups(s)
    t_rollups = time.perf_counter() - t0
    # planner statistics; on PostgreSQL also the visibility map that index-only scans need
    # (autovacuum does both on a live database)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if db.backend == "postgresql" else "ANALYZE"))
    return {"ids": ids, "start": start, "end": end, "readings": n_times * sensors,
            "seconds": {"readings": t_readings, "rollups": t_rollups}}


# --- the same aggregations written as one direct SQL query each over the raw readings ---------------

def direct_buckets(db: Database, ids, since, until, step: str, fn: str = "avg"):
    pg = db.backend == "postgresql"
    if step == "hour":
        b = "date_trunc('hour', observed_at)" if pg else "strftime('%Y-%m-%d %H', observed_at)"
    elif step == "day":  # JST days
        b = ("date_trunc('day', observed_at + interval '9 hours')" if pg
             else "date(observed_at, '+9 hours')")
    elif step == "10min":
        b = ("date_bin('10 minutes', observed_at, timestamp '2000-01-01')" if pg
             else "substr(observed_at, 1, 15)")
    else:  # a number of seconds
        b = (f"floor(date_part('epoch', observed_at + interval '9 hours') / {step})" if pg
             else f"(unixepoch(observed_at) + 32400) / {step}")
    agg = {"avg": "avg(value)", "max": "max(value)", "min": "min(value)", "sum": "sum(value)"}[fn]
    sql = text(f"SELECT sensor_id, {b} AS b, {agg} FROM readings WHERE sensor_id IN :ids AND attribute = :a"
               " AND observed_at >= :since AND observed_at <= :until GROUP BY 1, 2 ORDER BY 1, 2").bindparams(
        bindparam("ids", expanding=True), bindparam("since", type_=UTCDateTime()),
        bindparam("until", type_=UTCDateTime()))
    with db.engine.connect() as conn:
        return conn.execute(sql, {"ids": list(ids), "a": ATTR, "since": since, "until": until}).all()


def direct_latest(db: Database, ids):
    sql = text("SELECT x.id, (SELECT r.value FROM readings r WHERE r.sensor_id = x.id AND r.attribute = :a"
               " ORDER BY r.observed_at DESC LIMIT 1) FROM sensors x WHERE x.id IN :ids").bindparams(
        bindparam("ids", expanding=True))
    with db.engine.connect() as conn:
        return conn.execute(sql, {"ids": list(ids), "a": ATTR}).all()


def direct_sensor_rows(db: Database, ids):
    sql = text("SELECT id, last_observed_at, last_value FROM sensors WHERE id IN :ids").bindparams(
        bindparam("ids", expanding=True))
    with db.engine.connect() as conn:
        return conn.execute(sql, {"ids": list(ids)}).all()


def direct_raw(db: Database, ids, since, until):
    sql = text("SELECT sensor_id, observed_at, value FROM readings WHERE sensor_id IN :ids AND attribute = :a"
               " AND observed_at >= :since AND observed_at <= :until ORDER BY 1, 2").bindparams(
        bindparam("ids", expanding=True), bindparam("since", type_=UTCDateTime()),
        bindparam("until", type_=UTCDateTime()))
    with db.engine.connect() as conn:
        return conn.execute(sql, {"ids": list(ids), "a": ATTR, "since": since, "until": until}).all()


# --- measuring ---------------------------------------------------------------------------------------

def median_ms(*fns, runs: int) -> list[float]:
    """Median milliseconds of each function; the functions take turns, so a change of load on the
    machine weighs on all of them alike. Each runs once first to warm the caches."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, ts in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            ts.append((time.perf_counter() - t0) * 1000)
    return [statistics.median(ts) for ts in times]


def ours(db: Database, call):
    with db.session() as s:
        return call(s)


def panels(db: Database, ids: list[str], end: datetime):
    """The first view of a 12-panel dashboard: (label, ours, direct) per panel."""
    from store import series

    d30, d1, d7, y1 = (end - timedelta(days=30), end - timedelta(days=1), end - timedelta(days=7),
                       end - timedelta(days=365))
    g1, g2, g3 = ids[0:10], ids[10:20], ids[20:30]
    few = ids[30:33]
    out = [
        ("series 10 sensors, hour avg, 30 d", lambda s: series.bucketed(s, g1, ATTR, d30, end, "hour", "avg"),
         lambda: direct_buckets(db, g1, d30, end, "hour", "avg")),
        ("series 10 sensors, hour max, 30 d", lambda s: series.bucketed(s, g2, ATTR, d30, end, "hour", "max"),
         lambda: direct_buckets(db, g2, d30, end, "hour", "max")),
        ("series 10 sensors, 10 min avg, 24 h", lambda s: series.bucketed(s, g3, ATTR, d1, end, "10min", "avg"),
         lambda: direct_buckets(db, g3, d1, end, "10min", "avg")),
        ("series 10 sensors, day avg, 1 y", lambda s: series.bucketed(s, g1, ATTR, y1, end, "day", "avg"),
         lambda: direct_buckets(db, g1, y1, end, "day", "avg")),
        ("series 10 sensors, day max, 1 y", lambda s: series.bucketed(s, g2, ATTR, y1, end, "day", "max"),
         lambda: direct_buckets(db, g2, y1, end, "day", "max")),
        ("latest of 300 sensors (attribute)", lambda s: series.latest(s, ids, ATTR),
         lambda: direct_latest(db, ids)),
        ("latest of 300 sensors (sensor rows)", lambda s: series.latest(s, ids),
         lambda: direct_sensor_rows(db, ids)),
        ("raw readings of 3 sensors, 24 h", lambda s: series.raw(s, few, ATTR, d1, end),
         lambda: direct_raw(db, few, d1, end)),
    ]
    for i, sid in enumerate(ids[40:44]):  # stat panels: sparklines over 7 days (48 points: 4-hour avg)
        out.append((f"sparkline {i + 1}, 7 d", lambda s, sid=sid: series.sparkline(s, sid, ATTR, d7, end),
                    lambda sid=sid: direct_buckets(db, [sid], d7, end, 4 * 3600, "avg")))
    return out


def explain(db: Database, ids, end):
    """The plans of the hourly series, through the rollups and over the readings."""
    from store.series import aggregate_query

    since = end - timedelta(days=30)
    prefix = "EXPLAIN QUERY PLAN " if db.backend == "sqlite" else "EXPLAIN "
    with db.session() as s:
        for label, use in (("rollups", True), ("readings (10 min path)", False)):
            sql, params = aggregate_query(db.backend, ids[:10], ATTR, since, end, 3600, "avg", use)
            rows = s.execute(text(prefix + sql.text).bindparams(*sql._bindparams.values()), params).all()
            print(f"  plan, hourly series from the {label}:")
            for r in rows:
                print("    " + str(r[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default="", help="default: a fresh SQLite file in a temp folder; "
                    "postgresql://… gets a fresh schema, dropped at the end")
    ap.add_argument("--sensors", type=int, default=300)
    ap.add_argument("--days", type=float, default=365)
    ap.add_argument("--every", type=int, default=10, help="minutes between readings")
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the days (default 1.0)")
    ap.add_argument("--runs", type=int, default=7, help="runs per measurement (median)")
    ap.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema / SQLite file")
    args = ap.parse_args()
    days = args.days * args.scale
    tmp = tempfile.mkdtemp(prefix="bench-dashboard-")
    url, drop = args.database_url, None
    if url.startswith("postgres"):
        import sqlalchemy as sa

        schema = "bench_" + uuid.uuid4().hex[:10]
        admin = sa.create_engine(normalize_url(url))
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))

        def drop():
            with admin.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))

        url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    url = url or f"sqlite:///{tmp}/bench.sqlite3"
    db = Database(url)
    try:
        create_all(db)
        print(f"database: {db.backend} ({url.split('?')[0]}); {args.sensors} sensors × {days:g} days "
              f"× every {args.every} min")
        f = fill(db, args.sensors, days, args.every)
        with db.engine.connect() as conn:
            n_roll = conn.execute(text("SELECT count(*) FROM reading_rollups")).scalar()
        size = ""
        if db.backend == "sqlite":
            size = f"; file {Path(db.engine.url.database).stat().st_size / 1e9:.2f} GB"
        else:
            with db.engine.connect() as conn:
                size = "; readings {} + rollups {} (with indexes)".format(*(
                    conn.execute(text(f"SELECT pg_size_pretty(pg_total_relation_size('{t}'))")).scalar()
                    for t in ("readings", "reading_rollups")))
        print(f"fill: {f['readings']:,} readings in {f['seconds']['readings']:.0f} s "
              f"({f['readings'] / f['seconds']['readings']:,.0f}/s); rollups: {n_roll:,} rows in "
              f"{f['seconds']['rollups']:.0f} s{size}")
        ids, end = f["ids"], f["end"]
        explain(db, ids, end)

        from store import series

        print(f"\n(1) one series, median of {args.runs} runs (ours / one direct GROUP BY over the readings)")
        for label, step, span in (("30-day hourly avg, 10 sensors", "hour", 30),
                                  ("1-year daily avg, 10 sensors", "day", 365)):
            since = end - timedelta(days=span)
            o, r, d = median_ms(
                lambda since=since, step=step: ours(
                    db, lambda s: series.bucketed(s, ids[:10], ATTR, since, end, step, "avg")),
                lambda since=since, step=step: ours(
                    db, lambda s: series.bucketed(s, ids[:10], ATTR, since, end, step, "avg", use_rollups=False)),
                lambda since=since, step=step: direct_buckets(db, ids[:10], since, end, step, "avg"),
                runs=args.runs)
            print(f"  {label}: ours {o:8.1f} ms   direct SQL {d:8.1f} ms   ratio {o / d:5.2f}×   "
                  f"(ours without rollups {r:8.1f} ms, {r / d:5.2f}×)")

        print(f"\n(2) first view of a 12-panel dashboard, median of {args.runs} runs per panel")
        tot_o = tot_d = 0.0
        for label, mine, theirs in panels(db, ids, end):
            o, d = median_ms(lambda mine=mine: ours(db, mine), theirs, runs=args.runs)
            tot_o, tot_d = tot_o + o, tot_d + d
            print(f"  {label:40s} ours {o:8.1f} ms   direct {d:8.1f} ms   {o / d:5.2f}×")
        print(f"  {'all 12 panels':40s} ours {tot_o:8.1f} ms   direct {tot_d:8.1f} ms   ratio {tot_o / tot_d:5.2f}×  "
              "(goal ≤ 1.5×)")
    finally:
        db.dispose()
        if args.keep:
            print(f"kept: {url}")
        elif drop:
            drop()
        if not (args.keep and not drop):
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
