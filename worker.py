"""`python worker.py` (Procfile `worker`): runs the periodic jobs (jobs/) apart from the web processes.

With a PostgreSQL DATABASE_URL the jobs run on procrastinate (jobs/engine.py): start as many
workers as you like, each job still runs once per interval. On SQLite (one machine, one worker)
they run in threads (jobs/threads.py), as inside `python app.py`. JOB_ENGINE=threads|procrastinate
chooses explicitly.
"""
from __future__ import annotations

import logging
import time

from jobs import Job, build_jobs
from jobs.threads import LaneRunner as JobRunner
from plugins import register_all
from settings import Settings
from store.db import Database

__all__ = ["Job", "JobRunner", "build_jobs", "engine_for", "main", "prepare"]
log = logging.getLogger("ishikawa.worker")


def engine_for(settings: Settings) -> str:
    """'procrastinate' or 'threads': explicit JOB_ENGINE, else procrastinate on PostgreSQL."""
    if settings.job_engine in ("threads", "procrastinate"):
        return settings.job_engine
    return "procrastinate" if settings.database_url.startswith("postgresql") else "threads"


def prepare(settings: Settings) -> tuple[Database, list[Job]]:
    """The worker's start: the registries filled (plugins.py), the store ready, every job built."""
    from app import init_store

    register_all()
    db = init_store(settings)
    return db, build_jobs(settings, db)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    db, jobs = prepare(settings)
    if engine_for(settings) == "procrastinate":
        if db.backend != "postgresql":
            raise SystemExit("JOB_ENGINE=procrastinate needs a PostgreSQL DATABASE_URL (its queue lives there)")
        from jobs.engine import run_worker

        run_worker(db, jobs, list(settings.worker_queues))
        return
    if settings.worker_queues:
        jobs = [j for j in jobs if j.queue in settings.worker_queues]
    runner = JobRunner(jobs, db)
    log.info("worker started with jobs: %s", ", ".join(j.name for j in runner.jobs) or "(none)")
    runner.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        runner.stop()


if __name__ == "__main__":
    main()
