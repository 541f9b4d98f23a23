"""The periodic jobs: queues that do not wait for each other, job state in /healthz, /metrics,
the gunicorn access log, and a worker killed mid-job (procrastinate on PostgreSQL)."""
from __future__ import annotations

import os
import runpy
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from jobs import Job, Recorder
from jobs.engine import cron_for
from jobs.threads import LaneRunner
from store.db import utcnow
from store.jobs import job_states, record_run

ROOT = Path(__file__).resolve().parent.parent


def test_intervals_become_cron_lines_with_seconds():
    assert cron_for(5) == "* * * * * */5"
    assert cron_for(0.05) == "* * * * * *"
    assert cron_for(7) == "* * * * * */6"  # rounded down to a divisor of a minute
    assert cron_for(60) == "* * * * *"
    assert cron_for(600) == "*/10 * * * *"
    assert cron_for(7200) == "0 * * * *"


def test_a_slow_poll_does_not_hold_up_mail_or_alerts(tmp_path):
    mail_runs: list[float] = []
    alert_runs: list[float] = []
    release = threading.Event()
    jobs = [Job("slow-poll", 0.1, lambda: release.wait(5), queue="polls"),
            Job("alerts-check", 0.1, lambda: alert_runs.append(time.monotonic()), queue="alerts"),
            Job("alerts-mail", 0.05, lambda: mail_runs.append(time.monotonic()), queue="mail")]
    runner = LaneRunner(jobs).start()
    try:
        time.sleep(1.0)
        assert len(mail_runs) >= 8 and len(alert_runs) >= 5  # while the poll is still waiting
    finally:
        release.set()
        runner.stop()


def test_runs_are_recorded_and_shown_in_healthz(client, app_db):
    calls = []
    recorder = Recorder(app_db, every_s=60)
    ok_job = Job("test-ok-job", 5, lambda: calls.append(1))
    recorder.run(ok_job)
    recorder.run(ok_job)  # a success right after a success is not written again
    bad = Job("test-failing-job", 5, lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        recorder.run(bad)
    assert calls == [1, 1]
    body = client.get("/healthz").get_json()
    assert body["jobs"]["test-ok-job"]["status"] == "ok"
    assert body["jobs"]["test-ok-job"]["last_ok_at"]
    failing = body["jobs"]["test-failing-job"]
    assert failing["status"] == "error" and failing["failures_in_a_row"] == 1
    assert "ZeroDivisionError" in failing["last_error"]
    assert body["feeds"]["test-failing-job"]["last_error"].startswith("ZeroDivisionError")
    assert "last_error" in body["feeds"]["demo-snow"]


def test_a_job_without_success_for_three_intervals_is_late(db):
    with db.session() as s:
        record_run(s, "slowpoke", 5, utcnow() - timedelta(minutes=10), 0.1)
        record_run(s, "fine", 5, utcnow(), 0.1)
    with db.session() as s:
        states = job_states(s)
    assert states["slowpoke"]["status"] == "late" and states["fine"]["status"] == "ok"


def test_metrics_need_the_token_and_count_routes_and_callbacks(client, dash_app):
    server = dash_app.server
    settings = server.extensions["ishikawa.settings"]
    assert client.get("/metrics").status_code == 404  # off without METRICS_TOKEN
    server.extensions["ishikawa.settings"] = settings.with_(metrics_token="s3cret")
    try:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
        client.get("/healthz")
        output = next(iter(dash_app.callback_map))
        client.post("/_dash-update-component", json={"output": output, "outputs": [], "inputs": [],
                                                       "changedPropIds": []})
        client.post("/_dash-update-component", json={"output": "made-up.children", "inputs": []})
        r = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert r.status_code == 200 and r.mimetype == "text/plain"
        body = r.get_data(as_text=True)
        assert 'ishikawa_http_requests_total{method="GET",route="/healthz",status="200"}' in body
        assert f'ishikawa_dash_callbacks_total{{output="{output}"' in body
        assert 'output="(unknown)"' in body and "made-up" not in body
        assert 'ishikawa_http_request_duration_seconds_bucket{le="0.5",method="GET",route="/healthz"}' in body
        assert "ishikawa_feed_age_seconds{feed=\"demo-snow\"}" in body
        assert 'ishikawa_mail_outbox{status="queued"}' in body
        assert "ishikawa_db_pool_checked_out" in body
    finally:
        server.extensions["ishikawa.settings"] = settings


def test_the_access_log_redacts_tokens_and_credentials():
    from gunicorn.config import Config

    conf = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    logger = conf["RedactingLogger"](Config())
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/alerts/unsubscribe?token=abc123&lang=en",
               "SERVER_PROTOCOL": "HTTP/1.1", "QUERY_STRING": "token=abc123&lang=en", "PATH_INFO": "/x",
               "HTTP_REFERER": "https://map.example.jp/?access_token=zzz", "HTTP_AUTHORIZATION": "Bearer qqq",
               "REMOTE_ADDR": "127.0.0.1"}
    resp = SimpleNamespace(status="200 OK", sent=10, headers=[("Set-Cookie", "session=ppp")])
    req = SimpleNamespace(headers=[("AUTHORIZATION", "Bearer qqq"), ("COOKIE", "session=ppp")])
    atoms = logger.atoms(resp, req, environ, timedelta(milliseconds=5))
    line = " ".join(str(v) for v in atoms.values())
    for secret in ("abc123", "zzz", "qqq", "ppp"):
        assert secret not in line
    assert atoms["r"] == "GET /alerts/unsubscribe?token=[redacted]&lang=en HTTP/1.1"
    assert atoms["{authorization}i"] == "[redacted]"


@pytest.mark.postgres
def test_a_worker_killed_mid_job_loses_nothing(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("procrastinate runs on PostgreSQL")
    from store.db import Database

    def start(name):
        return subprocess.Popen([sys.executable, "-m", "tests.job_kill_helper", db_url, name], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    db = Database(db_url)
    first = start("first")
    second = None
    try:
        def runs():
            try:
                with db.session() as s:
                    return s.execute(text("SELECT worker FROM kill_probe_runs ORDER BY at")).scalars().all()
            except Exception:
                return []

        deadline = time.monotonic() + 40
        while not runs() and time.monotonic() < deadline:
            time.sleep(0.3)
        assert runs() == ["first"]  # the first run now hangs in `first`
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        second = start("second")
        deadline = time.monotonic() + 45
        while "second" not in runs() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert runs()[:2] == ["first", "second"]  # it ran again elsewhere
        with db.session() as s:
            doing = s.scalar(text("SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'"
                                  " AND task_name = 'ishikawa.kill-probe'"))
        assert doing <= 1
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)
        db.dispose()
