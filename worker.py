"""The periodic jobs: demo feeds (snow sensors, plows), broker and CKAN pollers, alert checks, mail outbox.

`python worker.py` runs them alone (Procfile `worker`); `python app.py` starts the same jobs in
a thread of the web process, so the embedded default needs one command.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from settings import Settings
from store.db import Database, utcnow

log = logging.getLogger("ishikawa.worker")


@dataclass
class Job:
    name: str
    interval_s: float
    run: Callable[[], object]


def build_jobs(settings: Settings, db: Database) -> list[Job]:
    jobs: list[Job] = []
    if settings.demo_feed:
        from sources import demo_snow

        jobs.append(Job(demo_snow.FEED_NAME, settings.demo_interval_s,
                        lambda: demo_snow.tick(db, settings.data_path, utcnow(), settings.demo_interval_s)))
    # snow removal: road alert rules, the demo fleet of plows
    from alerts.service import register_road_provider
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
    from alerts.sender import pump_and_wait as send_mail
    from alerts.service import AlertConfig, install as install_alerts, tick as alerts_tick

    alert_config = AlertConfig.from_settings(settings)
    install_alerts(db, alert_config)  # readings written by the jobs above trigger their rules
    jobs.append(Job("alerts-check", 5.0, lambda: alerts_tick(db, alert_config)))
    if settings.smtp_url:  # without SMTP_URL mails stay in the outbox (staff history page)
        jobs.append(Job("alerts-mail", 0.05, lambda: send_mail(db, settings.smtp_url, settings.mail_from)))

    # FIWARE brokers and CKAN sites
    from sources import broker_poll

    broker_poll.ensure_env_sources(db, settings)  # ORION_URL: the one-broker deployment
    jobs.append(Job(broker_poll.FEED_JOB, broker_poll.JOB_TICK_S, broker_poll.BackgroundPoller(db)))

    # cameras: snapshots of registered cameras (fetched), and of the demo cameras (generated)
    from sources import cameras as camera_feed

    camera_hosts = camera_feed.parse_hosts(settings.source_hosts)
    jobs.append(Job(camera_feed.JOB_NAME, camera_feed.JOB_TICK_S,
                    camera_feed.BackgroundFetcher(db, settings.instance_path, settings.camera_retention_hours,
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

    return jobs


class JobRunner:
    """Runs each job every interval in one daemon thread; a failing job is logged and retried."""

    def __init__(self, jobs: list[Job], db: Database | None = None):
        self.jobs = jobs
        self.db = db
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> None:
        for job in self.jobs:
            self._run(job)

    def _run(self, job: Job) -> None:
        try:
            job.run()
        except Exception as exc:  # a job never takes the process down
            log.exception("job %s failed", job.name)
            if self.db is not None:
                try:
                    from store.feeds import feed_error

                    with self.db.session() as s:
                        feed_error(s, job.name, f"{type(exc).__name__}: {exc}", job.interval_s)
                except Exception:
                    log.exception("could not record the failure of %s", job.name)

    def _loop(self) -> None:
        due = {job.name: 0.0 for job in self.jobs}
        while not self._stop.is_set():
            now = time.monotonic()
            for job in self.jobs:
                if now >= due[job.name]:
                    self._run(job)
                    due[job.name] = time.monotonic() + job.interval_s
            self._stop.wait(min([due[j.name] for j in self.jobs] + [now + 1.0]) - time.monotonic()
                            if self.jobs else 1.0)

    def start(self) -> JobRunner:
        self._thread = threading.Thread(target=self._loop, name="ishikawa-jobs", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)


def main() -> None:
    from app import init_store

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    db = init_store(settings)
    runner = JobRunner(build_jobs(settings, db), db)
    log.info("worker started with jobs: %s", ", ".join(j.name for j in runner.jobs) or "(none)")
    runner.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        runner.stop()


if __name__ == "__main__":
    main()
