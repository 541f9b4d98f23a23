"""What a dashboard costs its viewers: bytes on the wire and computations per refresh interval.

    python bench/dashboard_viewers.py [--viewers 200] [--database-url postgresql://…]

On the embedded default (a fresh SQLite store with the shipped data, the demo sensors and 30 days of
their readings every 10 minutes), with the example dashboard 羽咋の積雪と除雪 (8 panels):
(3) bytes of the first view (the page layout Dash sends, serialised as Dash does, raw and gzip) and of
    one refresh (the panel bodies the refresh callback sends), each against the dashboard's raw data
    as JSON from the panel data API (the baseline: what any client would have to fetch);
(4) `--viewers` threads opening the same public dashboard within one refresh interval: panel
    computations (goal: one per panel) and wall time, against the same viewers with no shared cache
    (every viewer computes every panel).
Nothing is asserted; figures are printed.
"""
from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cachelib import SimpleCache  # noqa: E402
from plotly.io.json import to_json_plotly  # noqa: E402

SLUG = "hakui-snow"


def build(database_url: str):
    from app import create_app
    from settings import Settings

    tmp = tempfile.mkdtemp(prefix="bench-dash-")
    url = database_url or f"sqlite:///{tmp}/bench.sqlite3"
    app = create_app(Settings.from_env({"DATABASE_URL": url, "INSTANCE_PATH": tmp, "SECRET_KEY": "bench"}))
    return app, app.server.extensions["ishikawa.db"]


def backfill(db, days: int = 30) -> int:
    """30 days of the demo sensors' readings every 10 minutes (bulk, as a broker poll writes)."""
    import math

    from sqlalchemy import select

    from store.db import utcnow
    from store.models import Sensor
    from store.sensors import add_readings

    now = utcnow().replace(second=0, microsecond=0)
    n = 0
    with db.session() as s:
        sensors = list(s.scalars(select(Sensor)))
        batch = []
        for i, sensor in enumerate(sensors):
            for k in range(days * 144):
                t = now - timedelta(minutes=10 * k)
                batch.append((sensor, round(20 + 15 * math.sin(k / 40 + i), 1), t, sensor.attribute))
        n = add_readings(s, batch)
    return n


def sizes(app, db) -> None:
    from components.dashboard_panels import panel_body
    from dashboards import service
    from pages.dashboard_view import view

    with app.server.test_request_context("/dashboards/" + SLUG):
        page = to_json_plotly(view(SLUG, "ja", {}, embed=False)).encode()
        doc = service.get_document(db, None, SLUG)
        answers = service.all_panels(db, None, SLUG, service.ViewParams())
        refresh = to_json_plotly([panel_body(p, answers[p["id"]], "ja") for p in doc["panels"]
                                  if p["type"] not in ("map", "text")]).encode()
    client = app.server.test_client()
    raw = b"".join(client.get(f"/api/dashboards/{SLUG}/panels/{p['id']}/data").get_data() for p in doc["panels"])

    def row(name, body):
        z = len(gzip.compress(body, 6))
        print(f"  {name:<38} {len(body):>9,} B   gzip {z:>8,} B   ({z / len(gzip.compress(raw, 6)):.2f}× the raw data)")

    print("(3) bytes (8 panels)")
    row("first view (page layout)", page)
    row("one refresh (panel bodies)", refresh)
    row("baseline: raw panel data as JSON", raw)


def viewers(app, db, count: int) -> None:
    from dashboards import service
    from store.db import utcnow

    doc = service.get_document(db, None, SLUG)
    now = utcnow()

    def crowd(shared):
        barrier = threading.Barrier(count)
        errors = []

        def one():
            cache = shared if shared is not None else SimpleCache()
            barrier.wait()
            try:
                with app.server.app_context():
                    service.all_panels(db, None, SLUG, service.ViewParams(), now=now, cache=cache)
            except Exception as exc:  # noqa: BLE001 - counted and printed
                errors.append(exc)

        threads = [threading.Thread(target=one) for _ in range(count)]
        before = service.COMPUTATIONS["panels"]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return service.COMPUTATIONS["panels"] - before, time.perf_counter() - t0, errors

    n_panels = len(doc["panels"])
    shared_n, shared_s, e1 = crowd(SimpleCache(threshold=5000))
    alone_n, alone_s, e2 = crowd(None)
    print(f"(4) {count} viewers of one public dashboard within one refresh interval ({n_panels} panels)")
    print(f"  shared answers:   {shared_n:>6} panel computations ({shared_n / n_panels:.2f} per panel), "
          f"{shared_s * 1000:,.0f} ms wall, errors {len(e1)}")
    print(f"  baseline, no cache: {alone_n:>4} panel computations ({alone_n / n_panels:.0f} per panel), "
          f"{alone_s * 1000:,.0f} ms wall, errors {len(e2)}  → ratio {shared_s / alone_s:.3f}×")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default="")
    ap.add_argument("--viewers", type=int, default=200)
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args()
    app, db = build(args.database_url)
    t0 = time.perf_counter()
    n = backfill(db, args.days)
    print(f"store: {db.backend}; {n:,} readings written in {time.perf_counter() - t0:.1f} s")
    sizes(app, db)
    viewers(app, db, args.viewers)


if __name__ == "__main__":
    main()
