"""A procrastinate worker with one periodic job, for the killed-worker test (tests/test_jobs.py).

`python -m tests.job_kill_helper DATABASE_URL NAME`: the job `kill-probe` (every 2 s) writes a row
(worker NAME) to `kill_probe_runs`; its first run then hangs, so the test can kill the worker mid-job.
"""
from __future__ import annotations

import logging
import sys
import time

from sqlalchemy import text

import jobs.engine as engine
from jobs import Job
from store.db import Database


def main() -> None:
    url, name = sys.argv[1], sys.argv[2]
    logging.basicConfig(level=logging.INFO)
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS kill_probe_runs (worker TEXT, at TIMESTAMPTZ DEFAULT now())"))

    def probe() -> None:
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO kill_probe_runs (worker) VALUES (:w)"), {"w": name})
            first = conn.scalar(text("SELECT count(*) FROM kill_probe_runs")) == 1
        if first:
            time.sleep(600)  # killed here

    engine.STALLED_S, engine.HEARTBEAT_S = 3, 1
    engine.run_worker(db, [Job("kill-probe", 2.0, probe)])


if __name__ == "__main__":
    main()
