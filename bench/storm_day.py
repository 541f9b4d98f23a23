"""Storm day: many /snow pages refreshing at once, beside a bare Flask endpoint serving the same bytes.

    .venv/bin/python bench/storm_day.py --target embedded --users 50 --seconds 20
    .venv/bin/python bench/storm_day.py --target gunicorn --users 200 --seconds 30   # + PostgreSQL, Redis
    .venv/bin/python bench/storm_day.py --app-dir /path/to/other/checkout           # compare two versions

Loopback only; it starts what it needs (the app with its in-process jobs, so the demo plows move;
or gunicorn + `worker.py` against PostgreSQL and Redis) on a free port and stops it at the end.
The server gets one extra route, `/_bench/bare`: a bare Flask view that returns the very bytes of
one refresh answer (same body, same Content-Encoding), the ceiling for that server.

Each simulated viewer does what Chromium does on /snow: every refresh it asks for the live state
with the key of the state it holds (`GET /api/snow/live?since=<key>`, Accept-Encoding like
Chromium's) and keeps the key of the answer; on a checkout that still refreshes through a Dash
callback (`--refresh callback`, chosen by itself when /api/snow/live is missing) it POSTs that
callback to /_dash-update-component as dash-renderer does. `--pace 5` refreshes every 5 s (a real
page), `--pace 0` (default) back to back (saturation). Two phases in the same run, on the same
server: the bare endpoint, then the refresh, `--seconds` each. Printed per request type: requests,
failures, req/s, p50/p95/p99 latency, server CPU per request, bytes per refresh on the wire; last
line `refresh ratio vs bare: X.XX` (refresh req/s ÷ bare req/s).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ACCEPT = "gzip, deflate, br"  # what Chromium sends over HTTPS, less zstd (this client cannot read it)
CALLBACK_OUTPUT = ("..snow-roads.hideout...snow-delta.data...snow-key.data...snow-progress.children..."
                   "snow-progress-bars.children...snow-progress-title.children...snow-badge.children..."
                   "snow-badge.className...snow-mode.children...snow-mode.className..")
START_TIMEOUT_S = 240


# --- the server side (runs in the started process) --------------------------------------------

def add_bare_route(server) -> None:
    """`GET /_bench/bare`: the bytes in $BENCH_BARE_FILE (first line: Content-Encoding), as they are."""
    from flask import Response

    held: dict = {}

    def bare():
        if "body" not in held:
            raw = Path(os.environ["BENCH_BARE_FILE"]).read_bytes()
            encoding, _, body = raw.partition(b"\n")
            held.update(body=body, encoding=encoding.decode())
        resp = Response(held["body"], mimetype="application/json")
        if held["encoding"]:
            resp.headers["Content-Encoding"] = held["encoding"]
        return resp

    server.add_url_rule("/_bench/bare", "bench_bare", bare)


def _import_app(app_dir: str):
    sys.path.insert(0, app_dir)
    os.chdir(app_dir)
    import app as appmod
    from settings import Settings

    return appmod, Settings


def serve_embedded(app_dir: str) -> None:
    """`python app.py`, plus the bare route: the web app and its jobs in one process."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    appmod, Settings = _import_app(app_dir)
    settings = Settings.from_env(run_jobs=True)
    dash_app = appmod.create_app(settings)
    add_bare_route(dash_app.server)
    from worker import JobRunner, build_jobs

    db = dash_app.server.extensions["ishikawa.db"]
    runner = JobRunner(build_jobs(settings, db), db)
    runner.run_once()
    runner.start()
    dash_app.run(host="127.0.0.1", port=settings.port, debug=False)


def wsgi():
    """gunicorn's app factory (`bench.storm_day:wsgi()`): app:server plus the bare route."""
    appmod, Settings = _import_app(os.environ["BENCH_APP_DIR"])
    dash_app = appmod.create_app(Settings.from_env())
    add_bare_route(dash_app.server)
    return dash_app.server


# --- starting and stopping ------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, args, tmp: Path):
        self.args, self.tmp = args, tmp
        self.port = free_port()
        self.procs: list[subprocess.Popen] = []
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, INSTANCE_PATH=str(tmp / "instance"), PORT=str(self.port), HOST="127.0.0.1",
                        SECRET_KEY="bench", BENCH_BARE_FILE=str(tmp / "bare.bin"),
                        BENCH_APP_DIR=str(args.app_dir), PYTHONPATH=str(ROOT))
        self.env.pop("ORION_URL", None)
        self.env["DEMO_FEED"] = "1"

    def _spawn(self, cmd: list[str], name: str) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "wb")
        proc = subprocess.Popen(cmd, cwd=str(self.args.app_dir), env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    def start(self) -> None:
        py = sys.executable
        if self.args.target == "embedded":
            self.env["DATABASE_URL"] = f"sqlite:///{self.tmp / 'bench.sqlite3'}"
            self.web = self._spawn([py, str(Path(__file__).resolve()), "_serve", str(self.args.app_dir)], "web")
        else:
            self.env["DATABASE_URL"] = self.args.database_url
            self.env["CACHE_REDIS_URL"] = self.args.redis_url
            self._reset_services()
            # one process creates the tables and loads the shipped data first, then the others start
            subprocess.run([py, "-c", "import app; app.server"], cwd=str(self.args.app_dir), env=self.env,
                           check=True, timeout=START_TIMEOUT_S, stdout=subprocess.DEVNULL)
            gunicorn = shutil.which("gunicorn", path=str(Path(py).parent)) or "gunicorn"
            self.web = self._spawn([gunicorn, "-w", str(self.args.workers), "--threads", "4", "-b",
                                    f"127.0.0.1:{self.port}", "--timeout", "60", "bench.storm_day:wsgi()"], "web")
            self._spawn([py, "worker.py"], "worker")
        deadline = time.monotonic() + START_TIMEOUT_S
        import httpx

        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise SystemExit(f"the server stopped: see {self.tmp / 'web.log'}")
            try:
                if httpx.get(self.base + "/api/snow/network", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise SystemExit(f"the server did not start within {START_TIMEOUT_S} s: see {self.tmp / 'web.log'}")

    def _reset_services(self) -> None:
        import redis
        import sqlalchemy as sa

        redis.Redis.from_url(self.args.redis_url).flushdb()  # the bench's own Redis database
        eng = sa.create_engine(self.args.database_url.replace("postgresql://", "postgresql+psycopg://", 1))
        with eng.begin() as c:
            c.execute(sa.text("drop schema public cascade"))
            c.execute(sa.text("create schema public"))
        eng.dispose()

    def cpu_s(self) -> float:
        """CPU seconds used so far by the server processes (web and, for gunicorn, its workers)."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        pids = {p.pid for p in self.procs if p is self.web}
        for pid in list(pids):
            try:
                kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
                pids |= {int(k) for k in kids}
            except OSError:
                pass
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
            except OSError:
                pass
        return total

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


# --- the viewers ---------------------------------------------------------------------------------

def callback_body(key: str | None) -> dict:
    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in CALLBACK_OUTPUT.strip(".").split("...")]
    return {"output": CALLBACK_OUTPUT, "outputs": outputs,
            "inputs": [{"id": "snow-refresh", "property": "n_intervals", "value": 1},
                       {"id": "snow-time", "property": "value", "value": 0},
                       {"id": "snow-hours", "property": "value", "value": 24}],
            "changedPropIds": ["snow-refresh.n_intervals"],
            "state": [{"id": "snow-key", "property": "data", "value": key},
                      {"id": "snow-lang", "property": "data", "value": "ja"}]}


def refresh_once(client, base: str, mode: str, key: str | None) -> tuple[int, int, str | None]:
    """One refresh as the browser makes it: (status, bytes on the wire, the key now held)."""
    import orjson

    if mode == "live":
        r = client.get(f"{base}/api/snow/live", params={"since": key} if key else None)
        body = orjson.loads(r.content) if r.status_code == 200 else {}
        return r.status_code, r.num_bytes_downloaded, body.get("key", key)
    r = client.post(f"{base}/_dash-update-component", content=orjson.dumps(callback_body(key)),
                    headers={"Content-Type": "application/json"})
    if r.status_code == 204:  # nothing new for this browser
        return 200, r.num_bytes_downloaded, key
    body = orjson.loads(r.content) if r.status_code == 200 else {}
    new = (body.get("response", {}).get("snow-key") or {}).get("data", key)
    return r.status_code, r.num_bytes_downloaded, new


def viewers(base: str, kind: str, mode: str, users: int, seconds: float, pace: float, start_at: float, out) -> None:
    """`users` threads in this process, each a browser, until `seconds` after `start_at`; puts
    (latencies, failures, bytes) on the queue."""
    import httpx

    lat: list[float] = []
    fails = [0]
    nbytes = [0]
    lock = threading.Lock()

    def one():
        client = httpx.Client(headers={"Accept-Encoding": ACCEPT}, timeout=30)
        key = None
        if kind == "refresh":  # the page as loaded: its layout brings the first state and its key (untimed)
            try:
                _c, _s, key = refresh_once(client, base, mode, None)
            except (httpx.HTTPError, ValueError):
                key = None
        while time.time() < start_at:
            time.sleep(0.01)
        end = start_at + seconds
        while True:
            t0 = time.time()
            if t0 >= end:
                break
            try:
                if kind == "bare":
                    r = client.get(f"{base}/_bench/bare")
                    code, size = r.status_code, r.num_bytes_downloaded
                else:
                    code, size, key = refresh_once(client, base, mode, key)
            except (httpx.HTTPError, ValueError):  # no answer, or one that is no JSON
                code, size = 0, 0
            took = time.time() - t0
            with lock:
                if code == 200:
                    lat.append(took)
                    nbytes[0] += size
                else:
                    fails[0] += 1
            if pace:
                time.sleep(max(0.0, pace - took))
        client.close()

    threads = [threading.Thread(target=one) for _ in range(users)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    out.put((lat, fails[0], nbytes[0]))


def phase(server: Server, kind: str, mode: str, args) -> dict:
    procs = max(1, min(args.procs, args.users))
    q = mp.Queue()
    start_at = time.time() + 3.0
    cpu0 = server.cpu_s()
    ps = [mp.Process(target=viewers, args=(server.base, kind, mode, args.users // procs + (i < args.users % procs),
                                            args.seconds, args.pace, start_at, q)) for i in range(procs)]
    for p in ps:
        p.start()
    results = [q.get(timeout=args.seconds + 120) for _ in ps]
    for p in ps:
        p.join()
    cpu = server.cpu_s() - cpu0
    lat = sorted(x for r in results for x in r[0])
    fails = sum(r[1] for r in results)
    nbytes = sum(r[2] for r in results)

    def pct(p):
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000 if lat else float("nan")

    n = len(lat)
    return {"kind": kind, "n": n, "fails": fails, "rps": n / args.seconds, "p50": pct(50), "p95": pct(95),
            "p99": pct(99), "cpu_ms": cpu * 1000 / max(n, 1), "bytes": nbytes / max(n, 1)}


def capture_bare(server: Server, mode: str) -> None:
    """The bytes of one refresh answer, as sent (compressed), for the bare endpoint."""
    import httpx
    import orjson

    with httpx.Client(timeout=30) as c:
        if mode == "live":
            key = c.get(server.base + "/api/snow/live").json()["key"]
            req = c.build_request("GET", server.base + "/api/snow/live", params={"since": key},
                                  headers={"Accept-Encoding": ACCEPT})
        else:
            c.get(server.base + "/_dash-dependencies")
            first = c.post(server.base + "/_dash-update-component", content=orjson.dumps(callback_body(None)),
                           headers={"Content-Type": "application/json"}).json()
            key = first["response"]["snow-key"]["data"]
            req = c.build_request("POST", server.base + "/_dash-update-component",
                                  content=orjson.dumps(callback_body(key)),
                                  headers={"Content-Type": "application/json", "Accept-Encoding": ACCEPT})
        r = c.send(req, stream=True)
        raw = b"".join(r.iter_raw())
        r.close()
    (server.tmp / "bare.bin").write_bytes(r.headers.get("Content-Encoding", "").encode() + b"\n" + raw)


def detect_mode(server: Server) -> str:
    import httpx

    return "live" if httpx.get(server.base + "/api/snow/live", timeout=30).status_code == 200 else "callback"


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "_serve":
        serve_embedded(sys.argv[2])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", choices=["embedded", "gunicorn"], default="embedded")
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each phase (bare, then refresh)")
    ap.add_argument("--pace", type=float, default=0.0, help="seconds between one viewer's refreshes (0: back to back)")
    ap.add_argument("--procs", type=int, default=2, help="load-generating processes")
    ap.add_argument("--refresh", choices=["auto", "live", "callback"], default="auto")
    ap.add_argument("--app-dir", type=Path, default=ROOT, help="the checkout to run (default: this one)")
    ap.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/stormlive"))
    ap.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1"))
    args = ap.parse_args()
    args.app_dir = args.app_dir.resolve()
    tmp = Path(tempfile.mkdtemp(prefix="storm-day-"))
    server = Server(args, tmp)
    t0 = time.time()
    try:
        server.start()
        mode = detect_mode(server) if args.refresh == "auto" else args.refresh
        time.sleep(2)  # the first demo fixes
        capture_bare(server, mode)
        print(f"target {args.target} ({args.app_dir}), {args.users} users, {args.seconds:g} s per phase, "
              f"pace {args.pace:g} s, refresh by {mode}; server up in {time.time() - t0:.0f} s", flush=True)
        rows = [phase(server, "bare", mode, args), phase(server, "refresh", mode, args)]
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'request':<9} {'ok':>7} {'fail':>5} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'CPU ms/req':>10} {'bytes/req':>10}")
    for r in rows:
        print(f"{r['kind']:<9} {r['n']:>7} {r['fails']:>5} {r['rps']:>8.1f} {r['p50']:>8.1f} {r['p95']:>8.1f} "
              f"{r['p99']:>8.1f} {r['cpu_ms']:>10.2f} {r['bytes']:>10.0f}")
    print(f"bytes per refresh: {rows[1]['bytes']:.0f}")
    ratio = rows[1]["rps"] / rows[0]["rps"] if rows[0]["rps"] else float("nan")
    print(f"refresh ratio vs bare: {ratio:.2f}")


if __name__ == "__main__":
    main()
