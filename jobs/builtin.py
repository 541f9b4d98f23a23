"""The shipped job factories, one per feature: fn(settings, db) -> [Job]. `plugins.register_all()`
registers them in `registry.JOBS` in this order; `jobs.build_jobs` asks each one."""
from __future__ import annotations

from jobs import Job
from settings import Settings
from store.db import Database, utcnow


def demo_snow_jobs(settings: Settings, db: Database) -> list[Job]:
    """The built-in demo feed of snow-depth sensors."""
    if not settings.demo_feed:
        return []
    from sources import demo_snow

    return [Job(demo_snow.FEED_NAME, settings.demo_interval_s,
                lambda: demo_snow.tick(db, settings.data_path, utcnow(), settings.demo_interval_s))]


def snow_removal_jobs(settings: Settings, db: Database) -> list[Job]:
    """Snow removal: the demo fleet of plows (on the shipped road network)."""
    if not settings.demo_feed:
        return []
    from layers.snowplow import ensure_network
    from sources import demo_plows

    with db.init_lock(), db.session() as s:
        ensure_network(s, settings.data_path)
    return [Job(demo_plows.FEED_NAME, demo_plows.FIX_EVERY_S,
                lambda: demo_plows.tick(db, settings.data_path, utcnow(), demo_plows.FIX_EVERY_S))]


def alert_jobs(settings: Settings, db: Database) -> list[Job]:
    """Alerts: rule checks and the mail outbox (also installs the alert hooks on `db`, so readings
    written by the other jobs trigger their rules)."""
    from alerts.config import AlertConfig
    from alerts.evaluation import tick as alerts_tick
    from alerts.hooks import install as install_alerts
    from alerts.sender import pump_and_wait as send_mail

    alert_config = AlertConfig.from_settings(settings)
    install_alerts(db, alert_config)
    jobs = [Job("alerts-check", 5.0, lambda: alerts_tick(db, alert_config), queue="alerts")]
    if settings.smtp_url:  # without SMTP_URL mails stay in the outbox (staff history page)
        jobs.append(Job("alerts-mail", 0.05, lambda: send_mail(db, settings.smtp_url, settings.mail_from),
                        queue="mail"))
    return jobs


def broker_jobs(settings: Settings, db: Database) -> list[Job]:
    """FIWARE brokers and CKAN sites (and the ORION_URL broker of a one-broker deployment)."""
    from sources import broker_poll

    broker_poll.ensure_env_sources(db, settings)
    return [Job(broker_poll.FEED_JOB, broker_poll.JOB_TICK_S, broker_poll.BackgroundPoller(db), queue="polls",
                blocking=lambda: broker_poll.poll_due(db, utcnow()))]


def camera_jobs(settings: Settings, db: Database) -> list[Job]:
    """Cameras: snapshots of registered cameras (fetched), and of the demo cameras (generated)."""
    from sources import cameras as camera_feed

    camera_hosts = camera_feed.parse_hosts(settings.source_hosts)
    fetcher = camera_feed.BackgroundFetcher(db, settings.instance_path, settings.camera_retention_hours, camera_hosts)
    jobs = [Job(camera_feed.JOB_NAME, camera_feed.JOB_TICK_S, fetcher, queue="polls",
                blocking=lambda: camera_feed.tick(db, settings.instance_path, settings.camera_retention_hours,
                                                  camera_hosts))]
    if settings.demo_feed:
        jobs.append(Job(camera_feed.DEMO_JOB_NAME, 30.0, lambda: camera_feed.demo_tick(db, settings.instance_path)))
    return jobs


def melter_jobs(settings: Settings, db: Database) -> list[Job]:
    """Snow-melting devices: the demo devices' states."""
    if not settings.demo_feed:
        return []
    from sources import melters as melter_feed

    return [Job(melter_feed.DEMO_JOB_NAME, melter_feed.DEMO_TICK_S, lambda: melter_feed.demo_tick(db))]


def restriction_jobs(settings: Settings, db: Database) -> list[Job]:
    """Road restrictions: the demo ones, their periods kept around today."""
    if not settings.demo_feed:
        return []
    from sources import restrictions as restriction_feed

    return [Job(restriction_feed.DEMO_JOB_NAME, restriction_feed.DEMO_TICK_S,
                lambda: restriction_feed.demo_tick(db, settings.data_path))]


def housekeeping_jobs(settings: Settings, db: Database) -> list[Job]:
    """Audit log retention, usage per organisation."""
    from layers.usage_report import periodic_jobs

    return [Job(name, interval_s, run, queue="feeds") for name, interval_s, run in periodic_jobs(settings, db)]

