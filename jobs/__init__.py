"""The periodic jobs: demo feeds (snow sensors, plows, cameras), broker and CKAN polls, camera
snapshots, alert checks, mail outbox — registered once here, run by one of two engines:

- `jobs.threads.LaneRunner`: in-process threads (the embedded default `python app.py`, and
  `python worker.py` on SQLite), one thread per queue, so a slow poll never holds up mail or alerts;
- `jobs.engine`: procrastinate on PostgreSQL (`python worker.py` with a PostgreSQL DATABASE_URL),
  for any number of worker processes on any number of machines.

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
    """Every periodic job of this installation (also installs the alert hooks they rely on)."""
    jobs: list[Job] = []
    if settings.demo_feed:
        from sources import demo_snow

        jobs.append(Job(demo_snow.FEED_NAME, settings.demo_interval_s,
                        lambda: demo_snow.tick(db, settings.data_path, utcnow(), settings.demo_interval_s)))
    # snow removal: road alert rules, the demo fleet of plows
    from alerts.evaluation import register_road_provider
    from layers.snowplow import road_alert_segments

    register_road_provider(road_alert_segments)  # road rules: hours since a plow cleared each segment
    if settings.demo_feed:
        from layers.snowplow import ensure_network
        from sources import demo_plows

        with db.init_lock(), db.session() as s:
            ensure_network(s, settings.data_path)
        jobs.append(Job(demo_plows.FEED_NAME, demo_plows.FIX_EVERY_S,
                        lambda: demo_plows.tick(db, settings.data_path, utcnow(), demo_plows.FIX_EVERY_S)))

    # alerts: rule checks and the mail outbox
    from alerts.config import AlertConfig
    from alerts.evaluation import tick as alerts_tick
    from alerts.hooks import install as install_alerts
    from alerts.sender import pump_and_wait as send_mail

    alert_config = AlertConfig.from_settings(settings)
    install_alerts(db, alert_config)  # readings written by the jobs above trigger their rules
    jobs.append(Job("alerts-check", 5.0, lambda: alerts_tick(db, alert_config), queue="alerts"))
    if settings.smtp_url:  # without SMTP_URL mails stay in the outbox (staff history page)
        jobs.append(Job("alerts-mail", 0.05, lambda: send_mail(db, settings.smtp_url, settings.mail_from),
                        queue="mail"))

    # FIWARE brokers and CKAN sites
    from sources import broker_poll

    broker_poll.ensure_env_sources(db, settings)  # ORION_URL: the one-broker deployment
    jobs.append(Job(broker_poll.FEED_JOB, broker_poll.JOB_TICK_S, broker_poll.BackgroundPoller(db), queue="polls",
                    blocking=lambda: broker_poll.poll_due(db, utcnow())))

    # cameras: snapshots of registered cameras (fetched), and of the demo cameras (generated)
    from sources import cameras as camera_feed

    camera_hosts = camera_feed.parse_hosts(settings.source_hosts)
    fetcher = camera_feed.BackgroundFetcher(db, settings.instance_path, settings.camera_retention_hours, camera_hosts)
    jobs.append(Job(camera_feed.JOB_NAME, camera_feed.JOB_TICK_S, fetcher, queue="polls",
                    blocking=lambda: camera_feed.tick(db, settings.instance_path, settings.camera_retention_hours,
                                                      camera_hosts)))
    if settings.demo_feed:
        jobs.append(Job(camera_feed.DEMO_JOB_NAME, 30.0, lambda: camera_feed.demo_tick(db, settings.instance_path)))
        # snow-melting devices: the demo devices' states
        from sources import melters as melter_feed

        jobs.append(Job(melter_feed.DEMO_JOB_NAME, melter_feed.DEMO_TICK_S, lambda: melter_feed.demo_tick(db)))
        # road restrictions: the demo ones, their periods kept around today
        from sources import restrictions as restriction_feed

        jobs.append(Job(restriction_feed.DEMO_JOB_NAME, restriction_feed.DEMO_TICK_S,
                        lambda: restriction_feed.demo_tick(db, settings.data_path)))

    from layers.usage_report import periodic_jobs  # audit log retention, usage per organisation

    jobs += [Job(name, interval_s, run, queue="feeds") for name, interval_s, run in periodic_jobs(settings, db)]
    return jobs


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
