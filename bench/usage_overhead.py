"""What counting requests per layer costs the public features route.

    .venv/bin/python bench/usage_overhead.py [REQUESTS_PER_ROUND] [ROUNDS]

One process, temporary SQLite, the Flask test client (no network, so the route's own cost is
all that is measured — the worst case for the ratio). A small shipped layer is asked for with
a bbox that the cache already holds, the cheapest answer the route gives, alternately with the
usage counter installed (api/usage.py `request_counter`) and without it; rounds alternate so that
drift of the machine hits both alike. Prints requests per second of each (median of the
rounds) and the loss ratio; the goal is a loss of at most 5 %. The counts are then flushed to the
database once to show they arrived.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from settings import Settings  # noqa: E402


def main() -> None:
    batch = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    tmp = Path(tempfile.mkdtemp(prefix="usage-bench-"))
    settings = Settings.from_env({"DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}", "INSTANCE_PATH": str(tmp),
                                  "SECRET_KEY": "bench", "DEMO_FEED": "0"})
    from app import create_app
    from store import usage

    app = create_app(settings)
    server = app.server
    client = server.test_client()
    layer = "aed"
    url = f"/api/layers/{layer}/features?bbox=136.3,36.4,136.7,36.6"
    assert client.get(url).status_code == 200  # warm the cache and the route
    hooks = server.after_request_funcs.setdefault(None, [])
    count_request = server.extensions["ishikawa.usage_hook"]

    def run(counting: bool) -> tuple[float, float]:
        """(CPU seconds, wall seconds) of one batch."""
        if counting and count_request not in hooks:
            hooks.append(count_request)
        if not counting and count_request in hooks:
            hooks.remove(count_request)
        c0, w0 = time.thread_time(), time.perf_counter()
        for _ in range(batch):
            r = client.get(url)
            r.get_data()
        return time.thread_time() - c0, time.perf_counter() - w0

    run(True), run(False)  # warm-up
    cpu = {True: [], False: []}
    wall = {True: [], False: []}
    for i in range(rounds):  # batches alternate, so a busy moment of the machine hits both alike
        for counting in ((True, False) if i % 2 == 0 else (False, True)):
            c, w = run(counting)
            cpu[counting].append(c)
            wall[counting].append(w)
    total = batch * rounds
    rate = {k: total / sum(v) for k, v in cpu.items()}
    wall_rate = {k: batch / statistics.median(v) for k, v in wall.items()}
    # the counting hook alone, in a request context, per call
    with server.test_request_context(url):
        from flask import request

        request.endpoint  # noqa: B018  (resolves the URL rule like a real request)
        from werkzeug.wrappers import Response

        resp = Response(status=200)
        n = 100_000
        t0 = time.perf_counter()
        for _ in range(n):
            count_request(resp)
        hook_us = (time.perf_counter() - t0) / n * 1e6
    db = server.extensions["ishikawa.db"]
    flushed = usage.flush(db)
    with db.session() as s:
        stored = usage.report(s, usage.month_of())["layers"]
    counted = sum(v["api_requests"] for per in stored.values() for k, v in per.items() if k == layer)
    per_request_us = 1e6 / rate[False]
    print(f"public features route /api/layers/{layer}/features (cached answer), {rounds} × 2 batches of {batch}")
    print(f"  without counting: {rate[False]:,.0f} requests per CPU second ({wall_rate[False]:,.0f}/s by the clock)")
    print(f"  with counting:    {rate[True]:,.0f} requests per CPU second ({wall_rate[True]:,.0f}/s by the clock)")
    print(f"  loss: {(1 - rate[True] / rate[False]) * 100:.1f} % by CPU time, "
          f"{(1 - wall_rate[True] / wall_rate[False]) * 100:.1f} % by the clock (goal ≤ 5 %)")
    print(f"  the counting hook alone: {hook_us:.2f} µs per request = {hook_us / per_request_us * 100:.2f} % "
          f"of a request ({per_request_us:,.0f} µs)")
    print(f"  flushed {flushed} counter key(s); stored API requests for {layer}: {counted:,}")


if __name__ == "__main__":
    main()
