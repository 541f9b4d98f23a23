"""The in-process engine: one thread per queue (mail, alerts, feeds, polls), each job every interval.

The embedded default (`python app.py`) and a single `python worker.py` on SQLite run the jobs
this way; no other service is needed. A slow broker poll holds up only the other polls, never the
mail sender or the alert checks. A failing job is logged, recorded (/healthz) and retried at its
next interval.
"""
from __future__ import annotations

import logging
import threading
import time

from jobs import Job, Recorder
from store.db import Database

log = logging.getLogger("ishikawa.jobs")


class LaneRunner:
    def __init__(self, jobs: list[Job], db: Database | None = None):
        self.jobs = jobs
        self.db = db
        self.recorder = Recorder(db)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def lanes(self) -> dict[str, list[Job]]:
        out: dict[str, list[Job]] = {}
        for job in self.jobs:
            out.setdefault(job.queue, []).append(job)
        return out

    def run_once(self) -> None:
        """Each job once, one after the other (first readings before the first visitor); jobs that
        hand their work to a thread of their own return at once."""
        for job in self.jobs:
            self._run(job, job.run)

    def _run(self, job: Job, body=None) -> None:
        try:
            self.recorder.run(job, body)
        except Exception:  # a job never takes the process down
            log.exception("job %s failed", job.name)

    def _loop(self, jobs: list[Job]) -> None:
        due = {job.name: 0.0 for job in jobs}
        while not self._stop.is_set():
            for job in jobs:
                if time.monotonic() >= due[job.name]:
                    self._run(job)
                    due[job.name] = time.monotonic() + job.interval_s
                if self._stop.is_set():
                    return
            self._stop.wait(max(0.0, min(due.values()) - time.monotonic()))

    def start(self) -> LaneRunner:
        for queue, jobs in self.lanes().items():
            thread = threading.Thread(target=self._loop, args=(jobs,), name=f"ishikawa-jobs-{queue}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        end = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, end - time.monotonic()))
