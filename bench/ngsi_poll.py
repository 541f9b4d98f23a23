"""Benchmark: entities per second polled from an Orion-like broker and stored.

Runs the real client over real HTTP against the local fake Orion of the tests (recorded payload
shapes), with N snow-depth WeatherObserved entities, and prints:
- fetch only (HTTP + JSON + parsing), pages of 1000 (what the poller uses);
- the baseline: the same with pages of 100 (Orion's default-ish page sizes many clients use);
- a full poll: fetch + Smart Data Model mapping + store in one transaction (first poll writes every
  sensor and reading; the second finds nothing new);
and the ratios against the baseline, all in the same process.

    python bench/ngsi_poll.py [N]        (default 5000; SQLite in a temp dir, or DATABASE_URL)
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from layers.builtin import ensure_builtin  # noqa: E402
from sources import broker_poll  # noqa: E402
from sources.ngsi import NgsiClient  # noqa: E402
from store.brokers import Source  # noqa: E402
from store.db import Database  # noqa: E402
from store.schema import create_all  # noqa: E402
from tests.fake_orion import FakeOrion, as_orion_returns, fixture  # noqa: E402


def entities(n: int) -> list[dict]:
    base = as_orion_returns(fixture("WeatherObserved.example-normalized.json"))
    out = []
    for i in range(n):
        e = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
        e["id"] = f"WeatherObserved:ishikawa-{i:06d}"
        e["location"] = {"type": "geo:json", "metadata": {},
                         "value": {"type": "Point", "coordinates": [136.2 + (i % 100) / 100, 36.1 + (i // 100) / 100]}}
        e["snowHeight"] = {"type": "Number", "value": (i * 7) % 120, "metadata": {}}
        e["dateObserved"] = {"type": "DateTime", "value": "2026-01-15T03:00:00.000Z", "metadata": {}}
        out.append(e)
    return out


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    orion = FakeOrion(entities(n)).start()
    try:
        def fetch(page_size):
            with NgsiClient(orion.url, page_size=page_size) as c:
                got = c.list_entities("WeatherObserved")
            assert len(got) == n

        base = timed(lambda: fetch(100))
        fast = timed(lambda: fetch(1000))
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite3")
            create_all(db)
            with db.session() as s:
                ensure_builtin(s, ROOT / "data")
                src = Source(name="bench", base_url=orion.url, entity_type="WeatherObserved", layer_prefix="bench")
                s.add(src)
                s.flush()
                sid = src.id
            now = datetime(2026, 1, 15, 3, 5, tzinfo=UTC)
            t0 = time.perf_counter()
            first = broker_poll.poll_source(db, sid, now)
            t_first = time.perf_counter() - t0
            assert first.get("readings") == n, first
            t0 = time.perf_counter()
            again = broker_poll.poll_source(db, sid, now + timedelta(minutes=1))
            t_again = time.perf_counter() - t0
            assert again.get("readings") == 0, again
            db.dispose()
    finally:
        orion.stop()
    print(f"entities: {n} (snow-depth WeatherObserved, normalized, local HTTP)")
    print(f"baseline fetch, pages of 100 : {n / base:10.0f} entities/s  ({base * 1000:.0f} ms)")
    print(f"fetch, pages of 1000         : {n / fast:10.0f} entities/s  ({fast * 1000:.0f} ms)  "
          f"ratio {base / fast:.2f}x")
    print(f"first poll, fetch+map+store  : {n / t_first:10.0f} entities/s  ({t_first * 1000:.0f} ms)  "
          f"ratio {base / t_first:.2f}x of baseline fetch")
    print(f"repeat poll, nothing new     : {n / t_again:10.0f} entities/s  ({t_again * 1000:.0f} ms)  "
          f"ratio {base / t_again:.2f}x of baseline fetch")


if __name__ == "__main__":
    main()
