"""ishikawa-map: `create_app(settings)` builds the Dash app; `python app.py` runs the embedded default.

gunicorn serves `app:server` (Procfile `web`); the module builds that app lazily on first access,
so importing this module (tests, the worker) builds nothing.
"""
from __future__ import annotations

import logging
from pathlib import Path

import dash
from flask import Flask

from i18n import t
from plugins import register_all
from settings import Settings
from store.db import Database
from store.schema import create_all

log = logging.getLogger("ishikawa")
ROOT = Path(__file__).resolve().parent


def init_store(settings: Settings) -> Database:
    """Open the database, create the tables and the built-in layers (idempotent)."""
    from layers.builtin import ensure_builtin

    register_all()  # the example dashboards are checked against the query kinds

    db = Database(settings.database_url)
    with db.init_lock():
        create_all(db)
        with db.session() as s:
            ensure_builtin(s, settings.data_path)
        if settings.demo_feed:
            from sources.demo_snow import setup_sensors

            with db.session() as s:
                setup_sensors(s, settings.data_path)
        from dashboards.examples import ensure_examples

        with db.session() as s:
            ensure_examples(s)
    return db


def create_app(settings: Settings | None = None, db: Database | None = None) -> dash.Dash:
    settings = settings or Settings.from_env()
    register_all()  # layer kinds, query kinds, alert providers, jobs (plugins.py)
    server = Flask(__name__, instance_path=str(settings.instance_path))
    server.config.update(SECRET_KEY=settings.secret_key, ISHIKAWA_DEMO_FEED=settings.demo_feed,
                         MAX_CONTENT_LENGTH=100 * 1024 * 1024,
                         # Flask-Compress (Dash compress=True): GeoJSON compresses about 5:1
                         COMPRESS_MIMETYPES=["text/html", "text/css", "text/plain", "application/json",
                                             "application/javascript", "text/javascript",
                                             "application/geo+json", "text/csv"],
                         COMPRESS_LEVEL=6)
    server.extensions["ishikawa.settings"] = settings
    server.extensions["ishikawa.db"] = db or init_store(settings)

    from api.public import bp as public_api
    from store.cache import init_cache

    init_cache(server, settings)
    server.register_blueprint(public_api)
    # snow removal: GPS fixes in, road status out, `load-roads`
    from api.snow import bp as snow_api, register_cli as snow_cli
    from layers.snow.network import ensure_network

    with server.extensions["ishikawa.db"].init_lock(), server.extensions["ishikawa.db"].session() as s:
        ensure_network(s, settings.data_path)  # the shipped road network at first start
    server.register_blueprint(snow_api)
    snow_cli(server)

    # staff: log-in, API tokens, uploads
    from werkzeug.exceptions import RequestEntityTooLarge

    from api.staff import bp as staff_api, too_large_handler
    from auth import init_auth

    init_auth(server, settings)
    server.register_blueprint(staff_api)
    server.register_error_handler(RequestEntityTooLarge, too_large_handler)

    # alert rules and mail
    from alerts.config import AlertConfig
    from alerts.hooks import install as install_alerts
    from api.alerts import bp as alerts_api

    install_alerts(server.extensions["ishikawa.db"], AlertConfig.from_settings(settings))
    server.register_blueprint(alerts_api)

    # FIWARE notifications, OGC API - Features, open data, staff sources
    from api.ngsi_notify import bp as ngsi_notify_bp

    server.register_blueprint(ngsi_notify_bp)
    from api.ogcapi import bp as ogcapi_bp
    from api.opendata import bp as opendata_bp

    server.register_blueprint(ogcapi_bp)
    server.register_blueprint(opendata_bp)
    from api.sources import bp as sources_api_bp

    server.register_blueprint(sources_api_bp)
    from api.cameras import bp as cameras_api  # cameras and their snapshots

    server.register_blueprint(cameras_api)
    from api.organisations import bp as organisations_api  # organisations: list, export archive

    server.register_blueprint(organisations_api)
    from api.melters import bp as melters_api  # snow-melting devices and their states

    server.register_blueprint(melters_api)
    from api.restrictions import bp as restrictions_api  # road restrictions

    server.register_blueprint(restrictions_api)
    from api.nearby import bp as nearby_api  # nearest AEDs/shelters, hazards at a point, share QR

    server.register_blueprint(nearby_api)

    from api.dashboards import bp as dashboards_api
    from api.errors import install as install_errors
    from api.hardening import init_hardening

    server.register_blueprint(dashboards_api)
    from api.audit import bp as audit_api  # the audit log; usage per organisation and the counting of requests
    from api.usage import install as install_usage

    server.register_blueprint(audit_api)
    install_usage(server)
    install_errors(server)
    init_hardening(server)  # valid JSON everywhere, JSON errors under /api/ and /ogcapi/

    app = dash.Dash(
        __name__, server=server, use_pages=True, pages_folder=str(ROOT / "pages"),
        assets_folder=str(ROOT / "assets"), title=t("app.title"), update_title=None,
        compress=True, suppress_callback_exceptions=True,
        # our callbacks are plain functions; with asgiref installed Dash would otherwise run its pages
        # router as a coroutine before every request — a new thread and event loop per request
        use_async=False,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.index_string = app.index_string.replace("<html>", '<html lang="ja">')
    from api.static_compression import install as install_static_compression

    install_static_compression(server, app)  # bundles and assets/ compressed once, long-lived cache headers
    from api.security_headers import install as install_security_headers

    install_security_headers(server, app)  # CSP (with the hashes of Dash's inline scripts), framing, nosniff
    from api.metrics import install as install_metrics

    install_metrics(server, app)  # /metrics (METRICS_TOKEN), request and callback counts
    from components.shell import install_first_paint, lean_dash_scripts, shell

    lean_dash_scripts()  # no @babel/polyfill: the first page paints sooner on a phone
    install_first_paint(app)  # <html lang>, a static first view before the scripts, AG Grid only where used
    app.layout = shell
    return app


def __getattr__(name: str):
    # `gunicorn app:server` asks for `server`: build the app from the environment once.
    # `flask --app app <command>` finds the Flask server as `application` (create-user, create-token, load-roads).
    if name in ("server", "app", "application"):
        global _app
        if "_app" not in globals():
            _app = create_app(Settings.from_env())
        return _app if name == "app" else _app.server
    raise AttributeError(name)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env(run_jobs=True)
    app = create_app(settings)
    db = app.server.extensions["ishikawa.db"]
    if settings.job_engine != "procrastinate":  # JOB_ENGINE=procrastinate: the `worker` processes run them
        from jobs import build_jobs
        from jobs.threads import LaneRunner

        runner = LaneRunner(build_jobs(settings, db), db)
        runner.run_once()  # first readings before the first visitor
        runner.start()
    log.info("ishikawa-map: http://%s:%d/ (database: %s)", settings.host, settings.port, db.backend)
    app.run(host=settings.host, port=settings.port, debug=False)


if __name__ == "__main__":
    main()
