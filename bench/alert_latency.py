"""Reading in → mail accepted by a local SMTP server: latency and throughput of alert mail.

    .venv/bin/python bench/alert_latency.py [--readings 1000] [--rules 200] [--batch 1] [--database-url URL]

A local aiosmtpd server on loopback (in a process of its own, like a real mail server); a temporary
SQLite database (or --database-url); 200 sensors
with one rule each (> 20 cm, clear below 15 cm, one recipient). A burst of 1,000 readings, one
transaction each by default (`--batch 50`: fifty per transaction, as POST /api/readings with an
array or a feed run writes them), alternating 30 cm / 5 cm per sensor, so every
reading fires or clears its rule and queues one mail. The production mail job
(alerts.sender.pump_and_wait, as worker.build_jobs runs it) sends from a second thread.

Prints, per reading, the time from the start of its ingest to the SMTP server accepting its mail:
median, p95, max; mails per second over the whole burst; and the baseline: the same number of
pre-built messages sent straight over one smtplib connection (no store, no rules) in the same
process — the ratio says what the outbox and the rules cost over raw SMTP.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import smtplib
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402

from alerts import sender  # noqa: E402
from alerts.config import AlertConfig  # noqa: E402
from alerts.hooks import install  # noqa: E402
from store import alerts as sa  # noqa: E402
from store.db import Database, utcnow  # noqa: E402
from store.layers import ensure_organisation, upsert_layer  # noqa: E402
from store.models import Sensor  # noqa: E402
from store.schema import create_all  # noqa: E402
from store.sensors import add_reading, upsert_sensor  # noqa: E402


class Sink:
    def __init__(self, queue=None):
        self.accepted: list[tuple[str, float]] = []
        self.queue = queue

    async def handle_DATA(self, server, session, envelope):
        item = (envelope.rcpt_tos[0], time.time())
        self.accepted.append(item)
        if self.queue is not None:
            self.queue.put(item)
        return "250 OK"


def smtp_process(port: int, queue, ready) -> None:
    """The SMTP server in a process of its own, as a real mail server would be."""
    ctl = Controller(Sink(queue), hostname="127.0.0.1", port=port)
    ctl.start()
    ready.set()
    while True:
        time.sleep(3600)


def worker_process(db_url: str, smtp_url: str, mail_from: str, stop) -> None:
    db = Database(db_url)
    while not stop.is_set():
        sender.pump_and_wait(db, smtp_url, mail_from)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def run(db_url: str, n_readings: int, n_rules: int, separate_worker: bool, batch: int = 1) -> dict:
    port = free_port()
    queue, ready = mp.Queue(), mp.Event()
    proc = mp.Process(target=smtp_process, args=(port, queue, ready), daemon=True)
    proc.start()
    ready.wait(10)
    smtp_url = f"smtp://127.0.0.1:{port}"
    db = Database(db_url)
    create_all(db)
    cfg = AlertConfig(base_url="http://127.0.0.1:8050", mail_from="alerts@bench.example")
    install(db, cfg)
    with db.session() as s:
        org = ensure_organisation(s, "bench", "ベンチ市", "Bench City")
        upsert_layer(s, "bench-snow", kind="snow_depth", name_ja="積雪深", group="yuki", organisation_id=org.id)
        for k in range(n_rules):
            upsert_sensor(s, f"bench-{k:03d}", layer_id="bench-snow", name_ja=f"観測点 {k}", name_en=f"Site {k}",
                          lon=136.5 + k * 0.001, lat=36.5 + k * 0.001, attribute="snowDepth", unit="cm")
            sa.create_rule(s, org.id, "bench", name=f"rule {k}", target="sensor", sensor_id=f"bench-{k:03d}",
                           op=">", threshold=20, clear_threshold=15, recipients=[f"r{k}@bench.example"])
    stop = threading.Event()
    if separate_worker:  # Procfile: `worker` process beside the web process
        w_stop = mp.Event()
        t_sender = mp.Process(target=worker_process, args=(db_url, smtp_url, cfg.mail_from, w_stop), daemon=True)
    else:  # embedded default: the jobs run in a thread of the process that ingests
        def mail_job():
            while not stop.is_set():
                sender.pump_and_wait(db, smtp_url, cfg.mail_from)

        t_sender = threading.Thread(target=mail_job, daemon=True)
    t_sender.start()
    starts: dict[str, list[float]] = {}
    base = utcnow()
    t0 = time.perf_counter()
    for first in range(0, n_readings, batch):
        with db.session() as s:  # one transaction per batch (1: every reading alone)
            for j in range(first, min(first + batch, n_readings)):
                k = j % n_rules
                value = 30.0 if (j // n_rules) % 2 == 0 else 5.0
                starts.setdefault(f"r{k}@bench.example", []).append(time.time())
                add_reading(s, s.get(Sensor, f"bench-{k:03d}"), value, base + timedelta(milliseconds=j))
    ingest_s = time.perf_counter() - t0
    accepted = []
    deadline = time.time() + 120
    while len(accepted) < n_readings and time.time() < deadline:
        try:
            accepted.append(queue.get(timeout=1))
        except Exception:
            pass
    total_s = time.perf_counter() - t0
    stop.set()
    if separate_worker:
        w_stop.set()
    t_sender.join(5)
    proc.terminate()
    with db.session() as s:
        counts = sa.outbox_counts(s)
    db.dispose()
    by_rcpt: dict[str, list[float]] = {}
    for rcpt, at in accepted:
        by_rcpt.setdefault(rcpt, []).append(at)
    lat = [acc - st for rcpt, sts in starts.items() for st, acc in zip(sts, by_rcpt.get(rcpt, []))]
    return {"mails": len(accepted), "lat": lat, "ingest_s": ingest_s, "total_s": total_s, "outbox": counts}


def private_schema(url: str):
    """A throw-away PostgreSQL schema, so the bench never writes into a shared one."""
    import uuid

    import sqlalchemy

    from store.db import normalize_url

    schema = "bench_" + uuid.uuid4().hex[:10]
    admin = sqlalchemy.create_engine(normalize_url(url))
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in url else "?"

    def drop():
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    return f"{url}{sep}options=-csearch_path%3D{schema}", drop


def baseline(n: int) -> float:
    """Seconds to send n pre-built messages over one smtplib connection to the same kind of server."""
    import multiprocessing as mp

    port = free_port()
    queue, ready = mp.Queue(), mp.Event()
    proc = mp.Process(target=smtp_process, args=(port, queue, ready), daemon=True)
    proc.start()
    ready.wait(10)
    msgs = []
    for i in range(n):
        m = EmailMessage()
        m["From"], m["To"], m["Subject"] = "a@bench.example", f"r{i}@bench.example", f"bench {i}"
        m.set_content("x" * 900)
        m.add_alternative("<p>" + "x" * 1800 + "</p>", subtype="html")
        msgs.append(m)
    t0 = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as conn:
        for m in msgs:
            conn.send_message(m)
    dt = time.perf_counter() - t0
    proc.terminate()
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--readings", type=int, default=1000)
    ap.add_argument("--rules", type=int, default=200)
    ap.add_argument("--database-url", default="")
    ap.add_argument("--batch", type=int, default=1, help="readings per transaction (1: each alone)")
    a = ap.parse_args()
    base_s = baseline(a.readings)
    base_rate = a.readings / base_s
    print(f"{a.readings} readings over {a.rules} rules, {a.batch} per transaction; "
          f"baseline, raw smtplib over one connection: {base_rate:.0f} mails/s")
    for separate in (True, False):
        with tempfile.TemporaryDirectory() as tmp:
            url, drop = a.database_url, None
            if url.startswith("postgres"):
                url, drop = private_schema(url)
            url = url or f"sqlite:///{tmp}/bench.sqlite3"
            try:
                r = run(url, a.readings, a.rules, separate, a.batch)
            finally:
                if drop:
                    drop()
        lat = r["lat"]
        mode = "worker process (Procfile)" if separate else "worker thread in the ingesting process (embedded)"
        print(f"\n[{url.split(':')[0].split('+')[0]}, mail job in a {mode}]")
        print(f"mails accepted by the SMTP server: {r['mails']} (outbox: {r['outbox']})")
        if lat:
            print(f"latency reading → SMTP accepted: median {statistics.median(lat) * 1000:.0f} ms, "
                  f"p95 {pct(lat, 95) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms")
        print(f"ingest of the burst: {r['ingest_s']:.2f} s ({a.readings / r['ingest_s']:.0f} readings/s)")
        rate = r["mails"] / r["total_s"] if r["total_s"] else 0
        print(f"mails per second (burst start → last mail accepted): {rate:.0f}; "
              f"ratio ours / raw smtplib baseline: {rate / base_rate:.2f}")
    asyncio.set_event_loop(asyncio.new_event_loop())


if __name__ == "__main__":
    main()
