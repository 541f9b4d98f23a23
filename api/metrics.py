"""`/metrics` in the Prometheus text format, and the request hooks that feed it.

Off unless METRICS_TOKEN is set; the scraper then sends `Authorization: Bearer <token>` (any other
request gets 401, without saying more). Counted per route (the URL rule, never the raw path) and,
for Dash callbacks, per output id of `_dash-update-component` (only ids the app defines). Read at
scrape time from the database: age of each feed and job, mail outbox by status.
"""
from __future__ import annotations

import hmac
import logging
import time

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

import metrics
from store.db import get_db, utcnow

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)
DASH_CALLBACK = "/_dash-update-component"


class _StateCollector:
    """Figures read from the database at scrape time (the same for every process)."""

    def __init__(self, db):
        self.db = db

    def collect(self):
        from sqlalchemy import func, select

        from store.alerts import OutboxMail
        from store.jobs import JobRun
        from store.models import Feed

        now = utcnow()
        feed_age = GaugeMetricFamily("ishikawa_feed_age_seconds", "Seconds since each feed last delivered",
                                     labels=["feed"])
        feed_error = GaugeMetricFamily("ishikawa_feed_error", "1 when the feed's last attempt failed", labels=["feed"])
        job_age = GaugeMetricFamily("ishikawa_job_last_success_age_seconds", "Seconds since each job last succeeded",
                                    labels=["job"])
        job_failing = GaugeMetricFamily("ishikawa_job_failures_in_a_row",
                                        "Failed runs of each job since its last success",
                                        labels=["job"])
        outbox = GaugeMetricFamily("ishikawa_mail_outbox", "Alert mails in the outbox, by status", labels=["status"])
        try:
            with self.db.session() as s:
                for feed in s.scalars(select(Feed)):
                    if feed.last_ok_at is not None:
                        feed_age.add_metric([feed.name], (now - feed.last_ok_at).total_seconds())
                    feed_error.add_metric([feed.name], 1.0 if feed.status == "error" else 0.0)
                for run in s.scalars(select(JobRun)):
                    if run.last_ok_at is not None:
                        job_age.add_metric([run.name], (now - run.last_ok_at).total_seconds())
                    job_failing.add_metric([run.name], float(run.failures or 0))
                counts = dict(s.execute(select(OutboxMail.status, func.count()).group_by(OutboxMail.status)).all())
                for status in ("queued", "sending", "sent", "failed"):
                    outbox.add_metric([status], float(counts.pop(status, 0)))
                for status, n in counts.items():
                    outbox.add_metric([status], float(n))
        except Exception as exc:  # the scrape still answers with the process metrics
            log.warning("metrics could not read the database: %s", exc)
        yield from (feed_age, feed_error, job_age, job_failing, outbox)


class _Default:
    def collect(self):
        return REGISTRY.collect()


def _authorised(token: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@bp.get("/metrics")
def scrape():
    settings = current_app.extensions.get("ishikawa.settings")
    token = getattr(settings, "metrics_token", "")
    if not token:
        return Response("not found\n", 404, mimetype="text/plain")
    if not _authorised(token):
        return Response("unauthorised\n", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'}, mimetype="text/plain")
    registry = CollectorRegistry()
    if metrics.multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Default())
    registry.register(_StateCollector(get_db()))
    resp = Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def install(server: Flask, dash_app) -> None:
    """Count every request of `server`; Dash callbacks also by output (ids of `dash_app`)."""
    server.register_blueprint(bp)

    @server.before_request
    def _start():
        g._metrics_t0 = time.perf_counter()

    @server.after_request
    def _count(resp):
        t0 = g.pop("_metrics_t0", None)
        if t0 is None:
            return resp
        seconds = time.perf_counter() - t0
        rule = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
        try:
            metrics.REQUESTS.labels(request.method, rule, str(resp.status_code)).inc()
            metrics.LATENCY.labels(request.method, rule).observe(seconds)
            if rule.endswith(DASH_CALLBACK) and request.method == "POST":
                body = request.get_json(silent=True)
                output = body.get("output") if isinstance(body, dict) else None
                if not isinstance(output, str) or output not in dash_app.callback_map:
                    output = "(unknown)"  # never a label the client made up
                metrics.CALLBACKS.labels(output, str(resp.status_code)).inc()
                metrics.CALLBACK_LATENCY.labels(output).observe(seconds)
            db = server.extensions.get("ishikawa.db")
            if db is not None:
                metrics.observe_pool(db.engine)
        except Exception:  # counting never breaks an answer
            log.exception("could not count a request")
        return resp
