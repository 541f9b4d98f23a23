"""Prometheus metrics of the service (served at /metrics by api/metrics.py).

Defined once here, used by the web hooks (requests, Dash callbacks, DB pool) and the job runners
(durations, failures). Under gunicorn with several processes, and with `worker` processes on the
same machine, set PROMETHEUS_MULTIPROC_DIR to an empty directory shared by all of them:
prometheus_client then keeps each process's values in files there and /metrics adds them up
(deploy/gunicorn.conf.py clears the directory at start and removes the files of dead workers).
"""
from __future__ import annotations

import os

if _dir := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(_dir, exist_ok=True)  # a worker may start before gunicorn has made it

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics  # noqa: E402

disable_created_metrics()  # no `_created` series: half the lines, nothing a dashboard uses

# Latency buckets: the live refresh should stay well under half a second.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

REQUESTS = Counter("ishikawa_http_requests_total", "HTTP requests answered, by route",
                   ["method", "route", "status"])
LATENCY = Histogram("ishikawa_http_request_duration_seconds", "Time to answer an HTTP request, by route",
                    ["method", "route"], buckets=_BUCKETS)
CALLBACKS = Counter("ishikawa_dash_callbacks_total", "Dash callback requests, by output", ["output", "status"])
CALLBACK_LATENCY = Histogram("ishikawa_dash_callback_duration_seconds", "Time to answer a Dash callback, by output",
                             ["output"], buckets=_BUCKETS)
LIVE_CACHE = Counter("ishikawa_live_cache_total", "Live refresh answers from the shared cache (hit) or computed (miss)",
                     ["result"])
JOB_DURATION = Histogram("ishikawa_job_duration_seconds", "Run time of the periodic jobs", ["job"],
                         buckets=_JOB_BUCKETS)
JOB_RUNS = Counter("ishikawa_job_runs_total", "Runs of the periodic jobs, by result", ["job", "result"])
DB_POOL_CHECKED_OUT = Gauge("ishikawa_db_pool_checked_out", "Database connections in use (all processes)",
                            multiprocess_mode="livesum")
DB_POOL_SIZE = Gauge("ishikawa_db_pool_size", "Database connections held open (all processes)",
                     multiprocess_mode="livesum")


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "") or os.environ.get("prometheus_multiproc_dir", "")


def observe_job(name: str, seconds: float, ok: bool) -> None:
    JOB_DURATION.labels(name).observe(seconds)
    JOB_RUNS.labels(name, "ok" if ok else "error").inc()


def observe_pool(engine) -> None:
    """Connections of this process's SQLAlchemy pool (QueuePool on PostgreSQL; others report 0)."""
    pool = engine.pool
    checked_out = getattr(pool, "checkedout", None)
    size = getattr(pool, "checkedin", None)
    if callable(checked_out) and callable(size):
        DB_POOL_CHECKED_OUT.set(checked_out())
        DB_POOL_SIZE.set(checked_out() + size())
