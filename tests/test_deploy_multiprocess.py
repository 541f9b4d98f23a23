"""The production recipe on loopback: gunicorn (deploy/gunicorn.conf.py, two web processes) and two
`worker.py` processes on procrastinate, against one PostgreSQL database and Redis.

Checks that two of each give the same results as one: each periodic job once per interval, no
double demo fixes, no double mails; /healthz and /metrics from any web process see all of it.
Needs TEST_DATABASE_URL (a PostgreSQL server it may create a database on) and Redis on
TEST_REDIS_URL (default redis://127.0.0.1:6379/0); skips saying which is missing.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from tests.browser_helpers import free_port
from tests.smtp_helpers import SmtpSink

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.postgres, pytest.mark.multiprocess]
TOKEN = "metrics-" + uuid.uuid4().hex
WINDOW_S = 20.0


def _listening(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def services():
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("multi-process recipe test: TEST_DATABASE_URL (PostgreSQL) is not set")
    if not _listening(base, 5432):
        pytest.skip(f"multi-process recipe test: no PostgreSQL server at {urlparse(base).netloc}")
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    if not _listening(redis_url, 6379):
        pytest.skip(f"multi-process recipe test: no Redis server at {urlparse(redis_url).netloc}")
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        pytest.skip("multi-process recipe test: gunicorn is not installed in this environment")
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base)
    name = f"{url.database}_multiproc_{uuid.uuid4().hex[:6]}"  # runs side by side do not collide
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False), redis_url, gunicorn
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _scrape(base: str) -> str:
    return httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).text


def _job_runs(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for m in re.finditer(r'^ishikawa_job_runs_total\{job="([^"]+)",result="ok"\} ([0-9.e+]+)$', text, re.M):
        out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(2))
    return out


def _last_ok(db) -> dict:
    from sqlalchemy import text

    with db.session() as s:
        return dict(s.execute(text("SELECT name, last_ok_at FROM job_runs")).all())


def test_two_web_two_workers_run_each_job_once(services, tmp_path):
    database_url, redis_url, gunicorn = services
    from sqlalchemy import text

    from store.alerts import enqueue
    from store.db import Database

    smtp = SmtpSink().start()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROMETHEUS", "prometheus"))}
    env.update(DATABASE_URL=database_url, CACHE_REDIS_URL=redis_url, SECRET_KEY="multi-" + uuid.uuid4().hex,
               INSTANCE_PATH=str(tmp_path / "instance"), PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
               METRICS_TOKEN=TOKEN, SMTP_URL=smtp.url, MAIL_FROM="alerts@ishikawa.example", JOB_ENGINE="procrastinate",
               DEMO_FEED="1", HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="2",
               ACCESS_LOG=str(tmp_path / "access.log"), PYTHONUNBUFFERED="1")
    env.pop("ORION_URL", None)
    procs: list[subprocess.Popen] = []
    logs = []

    def start(name, args):
        log = open(tmp_path / f"{name}.log", "wb")
        logs.append(log)
        procs.append(subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True))

    base = f"http://127.0.0.1:{port}"
    db = Database(database_url)
    try:
        start("web", [str(gunicorn), "-c", "deploy/gunicorn.conf.py", "app:server"])
        start("worker1", [sys.executable, "worker.py"])
        start("worker2", [sys.executable, "worker.py"])
        deadline = time.monotonic() + 150  # a busy machine boots slowly (usually 15 s)
        ready = False
        while time.monotonic() < deadline:
            for p in procs:
                assert p.poll() is None, (tmp_path / "web.log").read_text()[-3000:]
            try:
                ready = (_last_ok(db).get("alerts-check") is not None
                         and httpx.get(f"{base}/healthz", timeout=5).status_code == 200)
            except Exception:
                ready = False
            if ready:
                break
            time.sleep(0.5)
        assert ready, "the processes did not come up: " + (tmp_path / "worker1.log").read_text()[-3000:]

        assert httpx.get(f"{base}/metrics", timeout=10).status_code == 401
        assert httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
        time.sleep(1)
        before = _job_runs(_scrape(base))
        t0 = time.monotonic()
        # the first demo runs (a day of history, tens of seconds) are running now: mail is not held up
        subjects = [f"multi {i} {uuid.uuid4().hex[:6]}" for i in range(12)]
        queued_at = time.perf_counter()
        with db.session() as s:
            for i, subject in enumerate(subjects):
                enqueue(s, f"multi-{i}-{subject}", f"to{i}@example.jp", subject, "body", "<p>body</p>",
                        "alerts@ishikawa.example")
        time.sleep(WINDOW_S - (time.monotonic() - t0))
        after = _job_runs(_scrape(base))
        elapsed = time.monotonic() - t0
        with smtp.lock:
            got = [str(m["Subject"]) for m in smtp.messages]
            waited = max(smtp.accepted_at, default=queued_at + 99) - queued_at
        assert sorted(got) == sorted(subjects)  # each mail once
        assert waited < 10.0, waited  # the first demo run takes tens of seconds

        for job, interval in (("alerts-check", 5), ("broker-poll", 5), ("cameras", 10)):
            runs = after.get(job, 0) - before.get(job, 0)
            expected = elapsed / interval
            assert expected - 2 <= runs <= expected + 1.5, (job, runs, expected)  # two workers: not twice as many

        deadline = time.monotonic() + 150
        while not all(_last_ok(db).get(j) for j in ("demo-plows", "demo-snow")) and time.monotonic() < deadline:
            time.sleep(1)
        assert all(_last_ok(db).get(j) for j in ("demo-plows", "demo-snow"))
        with db.session() as s:
            doubles = s.execute(text("SELECT vehicle_id, time, count(*) FROM snow_fixes GROUP BY vehicle_id, time"
                                     " HAVING count(*) > 1")).all()
            assert doubles == []
            statuses = dict(s.execute(text("SELECT status, count(*) FROM alert_outbox GROUP BY status")).all())
        assert statuses == {"sent": len(subjects)}

        # any web process answers with the jobs' state, written by whichever worker ran them
        for _ in range(4):
            health = httpx.get(f"{base}/healthz", timeout=10).json()
            assert health["jobs"]["alerts-check"]["status"] == "ok"
            assert health["jobs"]["demo-plows"]["last_ok_at"]
            assert "last_error" in health["feeds"]["demo-plows"]
        scraped = _scrape(base)
        assert 'ishikawa_http_requests_total{method="GET",route="/healthz",status="200"}' in scraped
        assert "ishikawa_feed_age_seconds" in scraped and 'ishikawa_mail_outbox{status="sent"} 12.0' in scraped
        httpx.get(f"{base}/api/layers?token=secret-{TOKEN}", headers={"Authorization": "Bearer hush"}, timeout=10)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        for log in logs:
            log.close()
        smtp.stop()
        db.dispose()
    access = (tmp_path / "access.log").read_text()
    assert "/api/layers?token=[redacted]" in access and f"secret-{TOKEN}" not in access
