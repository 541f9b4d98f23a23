"""The periodic jobs: demo feeds (snow sensors, plows, cameras), broker and CKAN polls, camera
snapshots, alert checks, mail outbox — registered once (`registry.JOBS`), run by one of two engines:

- `jobs.threads.LaneRunner`: in-process threads (the embedded default `python app.py`, and
  `python worker.py` on SQLite), one thread per queue, so a slow poll never holds up mail or alerts;
- `jobs.engine`: procrastinate on PostgreSQL (`python worker.py` with a PostgreSQL DATABASE_URL),
  for any number of worker processes on any number of machines.

The jobs of each feature are made by one factory, fn(settings, db) -> [Job] (`jobs/builtin.py`),
registered in `registry.JOBS` by `plugins.register_all()`; `build_jobs` asks each of them.

Each job says which queue it belongs to: `mail`, `alerts` (never behind a slow poll), `feeds`
(demo feeds) and `polls` (brokers, CKAN sites, cameras: network waits).
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from registry import JOBS
from settings import Settings
from store.db import Database, utcnow

log = logging.getLogger("ishikawa.jobs")

QUEUES = ("mail", "alerts", "feeds", "polls")


@dataclass
class Job:
    name: str
    interval_s: float
    run: Callable[[], object]
    queue: str = "feeds"
    # the same work, finishing before it returns (engines with a slot per job use it; `run` may hand
    # the work to a thread of its own so that one-thread runners are not held up)
    blocking: Callable[[], object] | None = None

    def body(self) -> Callable[[], object]:
        return self.blocking or self.run


def build_jobs(settings: Settings, db: Database) -> list[Job]:
    """Every periodic job of this installation: each feature's factory in `registry.JOBS` (filled by
    `plugins.register_all()`), in registration order."""
    return [job for factory in JOBS.values() for job in factory(settings, db)]


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Recorder:
    """Runs one job body and records the outcome: metrics always; the job's row (/healthz) after a
    failure, a recovery, or at most every `every_s` seconds of successes (mail runs many times a second)."""

    def __init__(self, db: Database | None, every_s: float = 5.0):
        self.db = db
        self.every_s = every_s
        self._written: dict[str, tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def run(self, job: Job, body: Callable[[], object] | None = None) -> object:
        from metrics import observe_job

        started_at, t0 = utcnow(), time.perf_counter()
        error: str | None = None
        try:
            return (body or job.body())()
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            seconds = time.perf_counter() - t0
            observe_job(job.name, seconds, error is None)
            self._record(job, started_at, seconds, error)

    def _record(self, job: Job, started_at, seconds: float, error: str | None) -> None:
        if self.db is None:
            return
        now = time.monotonic()
        with self._lock:
            last = self._written.get(job.name)
            if error is None and last is not None and last[1] and now - last[0] < self.every_s:
                return
            self._written[job.name] = (now, error is None)
        try:
            from store.jobs import record_run

            with self.db.session() as s:
                record_run(s, job.name, max(job.interval_s, 1.0), started_at, seconds, error, worker_id())
                if error is not None:
                    from store.feeds import feed_error

                    feed_error(s, job.name, error, job.interval_s)
        except Exception:
            log.exception("could not record the run of %s", job.name)
