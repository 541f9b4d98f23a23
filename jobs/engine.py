"""The distributed engine: procrastinate, a job queue kept in the same PostgreSQL database.

`python worker.py` with a PostgreSQL DATABASE_URL runs a procrastinate worker. Start as many as
you like, on as many machines as you like:

- every worker's scheduler offers each periodic job at each tick of its interval, and PostgreSQL
  accepts one offer per (job, tick) — so each job runs once per interval across all workers;
- each job has a lock of its own: one run at a time, the next tick waits (never piles up: at most
  one waiting run per job);
- a worker has a slot for every job, and mail and alerts have queues of their own, so a 17-s broker
  poll never delays mail or alert checks (WORKER_QUEUES=mail,alerts dedicates a worker to them);
- a worker killed mid-job stops its heartbeat; within STALLED_S the `jobs-maintenance` job of
  another worker puts the job back in the queue and it runs there.
"""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from procrastinate import App, PsycopgConnector, exceptions
from procrastinate.jobs import Status
from procrastinate.schema import SchemaManager
from sqlalchemy import text
from sqlalchemy.engine import make_url

from jobs import QUEUES, Job, Recorder, worker_id
from store.db import Database

log = logging.getLogger("ishikawa.jobs")

STALLED_S = 30  # a worker without heartbeat for this long is dead; its running jobs run again
HEARTBEAT_S = 5
MAINTENANCE = "jobs-maintenance"
_DIVISORS = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)


def conninfo(database_url: str) -> str:
    """SQLAlchemy URL (postgresql+psycopg://…) -> libpq connection string."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def cron_for(interval_s: float) -> str:
    """An interval as a cron line with seconds (croniter: the 6th field); intervals that do not divide
    a minute or an hour are rounded down to one that does."""
    seconds = max(1, int(interval_s))
    if seconds < 60:
        step = max(d for d in _DIVISORS if d <= seconds)
        return "* * * * * *" if step == 1 else f"* * * * * */{step}"
    minutes = seconds // 60
    if minutes < 60:
        step = max(d for d in _DIVISORS if d <= minutes)
        return "* * * * *" if step == 1 else f"*/{step} * * * *"
    return "0 * * * *"


def ensure_schema(db: Database) -> None:
    """procrastinate's tables in our database, once (workers starting together take turns)."""
    with db.init_lock(), db.engine.begin() as conn:
        if conn.scalar(text("SELECT to_regclass('procrastinate_jobs')")) is None:
            log.info("creating the job queue tables")
            conn.connection.driver_connection.execute(SchemaManager.get_schema())


def make_app(db: Database, jobs: list[Job], recorder: Recorder | None = None) -> App:
    app = App(connector=PsycopgConnector(conninfo=conninfo(db.url)))
    recorder = recorder or Recorder(db)
    for job in jobs:
        _register(app, job, recorder)

    @app.periodic(cron=cron_for(10), periodic_id=MAINTENANCE)
    @app.task(name=f"ishikawa.{MAINTENANCE}", queue="alerts", lock=MAINTENANCE, queueing_lock=MAINTENANCE)
    async def maintenance(timestamp: int) -> None:
        """Runs the jobs of dead workers again; drops finished jobs after a day."""
        manager = app.job_manager
        for stalled in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_S):
            try:
                await manager.retry_job(stalled)
                log.warning("job %s of a dead worker runs again", stalled.task_name)
            except exceptions.ProcrastinateException:
                # its next run is already waiting (same queueing lock): that one runs it again
                await manager.finish_job(stalled, Status.FAILED, delete_job=True)
                log.warning("job %s of a dead worker: its next run is already queued", stalled.task_name)
        if timestamp % 600 < 10:
            await manager.delete_old_jobs(nb_hours=24, include_failed=True, include_cancelled=True,
                                          include_aborted=True)

    return app


def _register(app: App, job: Job, recorder: Recorder) -> None:
    def run(timestamp: int) -> None:  # the scheduler passes the tick (UNIX seconds)
        recorder.run(job)

    run.__name__ = job.name.replace("-", "_")
    task = app.task(name=f"ishikawa.{job.name}", queue=job.queue, lock=job.name, queueing_lock=job.name)(run)
    app.periodic(cron=cron_for(job.interval_s), periodic_id=job.name)(task)


def run_worker(db: Database, jobs: list[Job], queues: list[str] | None = None) -> None:
    """Run until SIGINT/SIGTERM (then finish the running jobs, at most 30 s)."""
    ensure_schema(db)
    app = make_app(db, jobs)
    slots = len(jobs) + 1
    queues = [q for q in (queues or []) if q in QUEUES] or None

    async def main() -> None:
        # sync jobs run in threads: one for every slot, so no job waits for a thread
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(slots + 2, thread_name_prefix="job"))
        async with app.open_async():
            await app.run_worker_async(queues=queues, concurrency=slots, name=worker_id(),
                                       delete_jobs="successful", listen_notify=True,
                                       fetch_job_polling_interval=2.0, update_heartbeat_interval=HEARTBEAT_S,
                                       stalled_worker_timeout=STALLED_S, shutdown_graceful_timeout=30)

    log.info("worker %s: jobs %s on queues %s", worker_id(), ", ".join(j.name for j in jobs),
             ", ".join(queues or QUEUES))
    asyncio.run(main())
