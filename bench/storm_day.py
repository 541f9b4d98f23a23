"""Storm day: residents on / and road managers on /snow at once, beside bare endpoints serving the same bytes.

    .venv/bin/python bench/storm_day.py --target embedded --users 50 --seconds 20            # quick run
    .venv/bin/python bench/storm_day.py --target gunicorn --users 200,1000 --pace 5,0        # + PostgreSQL, Redis
    .venv/bin/python bench/storm_day.py --target nginx --users 200,1000 --pace 5,0           # (gunicorn) behind nginx
    .venv/bin/python bench/storm_day.py --app-dir /path/to/other/checkout                    # compare two versions

Loopback only; it starts what it needs on free ports and stops it at the end: `embedded` is
`python app.py` (the web app with its in-process jobs, so the demo plows move); `gunicorn` is
gunicorn + `worker.py` against PostgreSQL and Redis; `nginx` is that behind the machine's nginx
running deploy/nginx.conf as shipped (microcache of the live GET; skipped with a message when
nginx is not installed). Every run is bounded: each phase lasts `--seconds` (plus the request
time-out), the server gets START_TIMEOUT_S to start, the whole run `--budget` seconds (the
configurations left are skipped, said so).

The mix (`--mix storm`, default) replays what Chromium requests: half the users are residents
on `/` (each view fetches the features of the layers shown by default, the GeoJSON URLs the
page's map asks for), half are road managers on `/snow` (every refresh asks for the live state
with the key of the state it holds, `GET /api/snow/live?since=<key>`, Accept-Encoding like
Chromium's, and keeps the key of the answer; a checkout that still refreshes through a Dash
callback POSTs that callback as dash-renderer does). `--mix snow`: all users on /snow. Each
simulated browser has its own keep-alive connection; all of a load process's browsers share one
asyncio event loop with a minimal HTTP/1.1 client (`Connection`), so the generator, which runs on
the same cores, takes little of the server's CPU.

For each users × pace configuration two phases run on the same server: the bare endpoints
(`/_bench/bare/<name>`, the very bytes of each real answer, same Content-Encoding: a bare Flask
view under the same Python server; under nginx a static file nginx serves itself, the ceiling
for nginx), then the real requests. `--pace 5` is a real page (each viewer every 5 s, start
times spread over the first 5 s), `--pace 0` back to back (saturation). Printed per request type:
requests, failures (errors and time-outs), req/s, p50/p95/p99 latency, server CPU per request of
the phase (web processes, and nginx), bytes on the wire per request; then `bytes per refresh` and
`refresh ratio vs bare: X.XX` (live req/s ÷ bare-live req/s) per configuration, the last line
being the last configuration's. `--py-spy S` adds a `py-spy top`-like summary of one web worker
during the first back-to-back real phase (S seconds of sampling, when py-spy is installed and
may attach).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ACCEPT = "gzip, deflate, br"  # what Chromium sends over HTTPS, less zstd (this client cannot read it)
CALLBACK_OUTPUT = ("..snow-roads.hideout...snow-delta.data...snow-key.data...snow-progress.children..."
                   "snow-progress-bars.children...snow-progress-title.children...snow-badge.children..."
                   "snow-badge.className...snow-mode.children...snow-mode.className..")
START_TIMEOUT_S = 240
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


# --- the server side (runs in the started process) --------------------------------------------

def add_bench_routes(server) -> None:
    """`GET /_bench/bare/<name>`: the bytes in $BENCH_BARE_DIR/<name>.bin (first line: Content-Encoding),
    as they are; `GET /_bench/home`: the GeoJSON URLs the map on / fetches for a first visitor."""
    from flask import Response, jsonify

    held: dict = {}

    def bare(name: str):
        if name not in held:
            path = Path(os.environ["BENCH_BARE_DIR"]) / f"{Path(name).name}.bin"
            if not path.exists():
                return Response(status=404)
            encoding, _, body = path.read_bytes().partition(b"\n")
            held[name] = (body, encoding.decode())
        body, encoding = held[name]
        resp = Response(body, mimetype="application/json")
        if encoding:
            resp.headers["Content-Encoding"] = encoding
        return resp

    def home():
        from components.map_state import DEFAULT_ZOOM
        from pages.home import visible_layers

        return jsonify([pl.spec.url for pl in visible_layers("ja", DEFAULT_ZOOM)
                        if pl.default_visible and pl.spec.type != "tiles" and pl.spec.url])

    server.add_url_rule("/_bench/bare/<name>", "bench_bare", bare)
    server.add_url_rule("/_bench/home", "bench_home", home)


def _import_app(app_dir: str):
    sys.path.insert(0, app_dir)
    os.chdir(app_dir)
    import app as appmod
    from settings import Settings

    return appmod, Settings


def serve_embedded(app_dir: str) -> None:
    """`python app.py`, plus the bench routes: the web app and its jobs in one process."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    appmod, Settings = _import_app(app_dir)
    settings = Settings.from_env(run_jobs=True)
    dash_app = appmod.create_app(settings)
    add_bench_routes(dash_app.server)
    from worker import JobRunner, build_jobs

    db = dash_app.server.extensions["ishikawa.db"]
    runner = JobRunner(build_jobs(settings, db), db)
    runner.run_once()
    runner.start()
    dash_app.run(host="127.0.0.1", port=settings.port, debug=False)


def wsgi():
    """gunicorn's app factory (`bench.storm_day:wsgi()`): app:server plus the bench routes."""
    appmod, Settings = _import_app(os.environ["BENCH_APP_DIR"])
    dash_app = appmod.create_app(Settings.from_env())
    add_bench_routes(dash_app.server)
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
        self.counted: list[subprocess.Popen] = []  # whose CPU (with their children's) is the server's
        self.app_base = f"http://127.0.0.1:{self.port}"
        self.base = self.app_base  # where the viewers go (nginx's port for --target nginx)
        (tmp / "bare").mkdir()
        self.env = dict(os.environ, INSTANCE_PATH=str(tmp / "instance"), PORT=str(self.port), HOST="127.0.0.1",
                        SECRET_KEY="bench", BENCH_BARE_DIR=str(tmp / "bare"),
                        BENCH_APP_DIR=str(args.app_dir), PYTHONPATH=str(ROOT))
        self.env.pop("ORION_URL", None)
        self.env["DEMO_FEED"] = "1"

    def _spawn(self, cmd: list[str], name: str, counted: bool = False) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "wb")
        proc = subprocess.Popen(cmd, cwd=str(self.args.app_dir), env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append(proc)
        if counted:
            self.counted.append(proc)
        return proc

    def start(self) -> None:
        py = sys.executable
        if self.args.target == "embedded":
            self.env["DATABASE_URL"] = f"sqlite:///{self.tmp / 'bench.sqlite3'}"
            self.web = self._spawn([py, str(Path(__file__).resolve()), "_serve", str(self.args.app_dir)], "web", True)
        else:
            self.env["DATABASE_URL"] = self.args.database_url
            self.env["CACHE_REDIS_URL"] = self.args.redis_url
            self._reset_services()
            # one process creates the tables and loads the shipped data first, then the others start
            subprocess.run([py, "-c", "import app; app.server"], cwd=str(self.args.app_dir), env=self.env,
                           check=True, timeout=START_TIMEOUT_S, stdout=subprocess.DEVNULL)
            gunicorn = shutil.which("gunicorn", path=str(Path(py).parent)) or "gunicorn"
            self.web = self._spawn([gunicorn, "-w", str(self.args.workers), "-k", "gthread", "--threads", "4",
                                    "-b", f"127.0.0.1:{self.port}", "--timeout", "60", "--keep-alive", "5",
                                    "bench.storm_day:wsgi()"], "web", True)
            self._spawn([py, "worker.py"], "worker")
        deadline = time.monotonic() + START_TIMEOUT_S
        import httpx

        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise SystemExit(f"the server stopped: see {self.tmp / 'web.log'}")
            try:
                if httpx.get(self.app_base + "/api/snow/network", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise SystemExit(f"the server did not start within {START_TIMEOUT_S} s: see {self.tmp / 'web.log'}")

    def start_nginx(self, bare: dict[str, str]) -> None:
        """deploy/nginx.conf as shipped, on loopback in front of the app; `bare` (name -> Content-Encoding):
        the bare answers as static files nginx serves itself."""
        tmp, port = self.tmp / "nginx", free_port()
        for sub in ("logs", "cache", "body", "proxy", "fcgi", "uwsgi", "scgi"):
            (tmp / sub).mkdir(parents=True)
        conf = (ROOT / "deploy" / "nginx.conf").read_text()
        conf = conf.replace("server 127.0.0.1:8050;", f"server 127.0.0.1:{self.port};")
        conf = conf.replace("listen 80;", f"listen 127.0.0.1:{port} backlog=4096;")
        conf = re.sub(r"\n\s*listen \[::\]:80;", "", conf)
        conf = conf.replace("/var/cache/nginx/", f"{tmp}/cache/")
        statics = "".join(
            f"    location = /_bench/bare/{name} {{\n        alias {self.tmp}/bare/{name}.body;\n"
            f"        default_type application/json;\n        gzip off;\n"
            + (f"        add_header Content-Encoding {enc};\n" if enc else "") + "    }\n"
            for name, enc in bare.items())
        conf = conf.replace("    location / {", statics + "    location / {", 1)
        (tmp / "site.conf").write_text(conf)
        user = "user root;\n" if os.geteuid() == 0 else ""
        (tmp / "nginx.conf").write_text(
            f"{user}worker_processes 1;\nworker_rlimit_nofile 16384;\npid {tmp}/nginx.pid;\n"
            f"error_log {tmp}/logs/error.log;\nevents {{ worker_connections 8192; }}\n"
            f"http {{\n  access_log off;\n  client_body_temp_path {tmp}/body;\n  proxy_temp_path {tmp}/proxy;\n"
            f"  fastcgi_temp_path {tmp}/fcgi;\n  uwsgi_temp_path {tmp}/uwsgi;\n  scgi_temp_path {tmp}/scgi;\n"
            f"  include {tmp}/site.conf;\n}}\n")
        args = [NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf")]
        check = subprocess.run([*args, "-t"], capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise SystemExit(f"nginx refused the configuration: {check.stderr}")
        self._spawn([*args, "-g", "daemon off;"], "nginx", True)
        self.base = f"http://127.0.0.1:{port}"
        import httpx

        for _ in range(100):
            try:
                httpx.get(self.base + "/_bench/home", timeout=2)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise SystemExit(f"nginx did not start: see {tmp / 'logs'}")

    def _reset_services(self) -> None:
        import redis
        import sqlalchemy as sa

        redis.Redis.from_url(self.args.redis_url).flushdb()  # the bench's own Redis database
        eng = sa.create_engine(self.args.database_url.replace("postgresql://", "postgresql+psycopg://", 1))
        with eng.begin() as c:
            c.execute(sa.text("drop schema public cascade"))
            c.execute(sa.text("create schema public"))
        eng.dispose()

    def pids(self) -> set[int]:
        pids = {p.pid for p in self.counted}
        for pid in list(pids):
            try:
                kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
                pids |= {int(k) for k in kids}
            except OSError:
                pass
        return pids

    def cpu_s(self) -> float:
        """CPU seconds used so far by the server processes (web and its workers, nginx)."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
            except OSError:
                pass
        return total

    def stop(self) -> None:
        for p in reversed(self.procs):
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


class Connection:
    """One browser's keep-alive HTTP/1.1 connection, on asyncio streams: a few microseconds of CPU per
    request, so a thousand simulated viewers in one event loop leave the cores to the server (a
    general client library costs about a millisecond per request, a thread per viewer more)."""

    def __init__(self, base: str):
        rest = base.split("://", 1)[1].rstrip("/")
        host, _, port = rest.partition(":")
        self.host, self.port = host, int(port or 80)
        self.reader = self.writer = None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method: str, path: str, body: bytes = b"",
                      headers: dict | None = None) -> tuple[int, dict, bytes]:
        """(status, headers with lower-case names, the body as sent — still compressed)."""
        import asyncio

        for attempt in (0, 1):
            reused = self.writer is not None
            if not reused:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Accept-Encoding: {ACCEPT}",
                    "Accept: */*"]
            head += [f"{k}: {v}" for k, v in (headers or {}).items()]
            if body or method == "POST":
                head.append(f"Content-Length: {len(body)}")
            self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            try:
                status_line = await self.reader.readline()
                if not status_line:
                    raise ConnectionResetError("closed")
            except (ConnectionError, OSError):
                self.close()
                if reused and attempt == 0:  # the server closed an idle keep-alive connection: again
                    continue
                raise
            return await self._answer(method, status_line)
        raise ConnectionResetError("closed")

    async def _answer(self, method: str, status_line: bytes) -> tuple[int, dict, bytes]:
        status = int(status_line.split()[1])
        hdrs: dict[str, str] = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            hdrs[name.strip().lower()] = value.strip()
        data = b""
        if method != "HEAD" and status not in (204, 304) and not 100 <= status < 200:
            if "chunked" in hdrs.get("transfer-encoding", "").lower():
                parts = []
                while True:
                    size = int((await self.reader.readline()).split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while (await self.reader.readline()) not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    parts.append(await self.reader.readexactly(size))
                    await self.reader.readexactly(2)
                data = b"".join(parts)
            elif "content-length" in hdrs:
                data = await self.reader.readexactly(int(hdrs["content-length"]))
            else:  # till the server closes
                data = await self.reader.read()
                hdrs["connection"] = "close"
        if hdrs.get("connection", "").lower() == "close":
            self.close()
        return status, hdrs, data


def decoded(hdrs: dict, data: bytes) -> bytes:
    encoding = hdrs.get("content-encoding", "")
    if encoding == "br":
        import brotli

        return brotli.decompress(data)
    if encoding == "gzip":
        import gzip

        return gzip.decompress(data)
    return data


LIVE_ETAG_RE = re.compile(r'^(?:W/)?"([LR]\d{1,12})-')


async def refresh_once(conn: Connection, mode: str, key: str | None) -> tuple[int, int, str | None]:
    """One refresh as the browser makes it: (status, bytes on the wire, the key now held)."""
    import orjson

    if mode == "live":
        status, hdrs, data = await conn.request("GET", "/api/snow/live" + (f"?since={key}" if key else ""))
        if status != 200:
            return status, len(data), key
        tagged = LIVE_ETAG_RE.match(hdrs.get("etag", ""))  # the answer's key leads its ETag: no need to unpack
        return status, len(data), tagged.group(1) if tagged else orjson.loads(decoded(hdrs, data)).get("key", key)
    status, hdrs, data = await conn.request("POST", "/_dash-update-component", orjson.dumps(callback_body(key)),
                                            {"Content-Type": "application/json"})
    if status == 204:  # nothing new for this browser
        return 200, len(data), key
    body = orjson.loads(decoded(hdrs, data)) if status == 200 else {}
    new = (body.get("response", {}).get("snow-key") or {}).get("data", key)
    return status, len(data), new


def viewers(base: str, roles: list[str], bare: bool, mode: str, home: list[str], seconds: float, pace: float,
            timeout: float, start_at: float, out) -> None:
    """One event loop for all entries of `roles` ("manager": /snow, "resident": /), each a browser with
    its own keep-alive connection, until `seconds` after `start_at`; puts {request type: (latencies,
    failures, bytes)} on the queue."""
    import asyncio

    stats: dict[str, list] = {}

    def note(kind: str, code: int, took: float, size: int) -> None:
        lat, fails, nbytes = stats.setdefault(kind, [[], [0], [0]])
        if code == 200:
            lat.append(took)
            nbytes[0] += size
        else:
            fails[0] += 1

    async def get(conn: Connection, kind: str, path: str) -> None:
        t0 = time.time()
        try:
            status, _h, data = await asyncio.wait_for(conn.request("GET", path), timeout)
            code, size = status, len(data)
        except (TimeoutError, OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            conn.close()  # no answer in time, or a broken one: a new connection next time
            code, size = 0, 0
        note(kind, code, time.time() - t0, size)

    async def one(role: str) -> None:
        conn = Connection(base)
        key = None
        if role == "manager" and not bare:  # the page as loaded: its layout brings the first state (untimed)
            try:
                _c, _s, key = await asyncio.wait_for(refresh_once(conn, mode, None), timeout)
            except (TimeoutError, OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                conn.close()
                key = None
        first = start_at + (random.uniform(0, pace) if pace else 0.0)  # real pages are not in step
        await asyncio.sleep(max(0.0, first - time.time()))
        end = start_at + seconds
        while True:
            t0 = time.time()
            if t0 >= end:
                break
            if role == "manager" and bare:
                await get(conn, "bare-live", "/_bench/bare/live")
            elif role == "manager":
                try:
                    code, size, key = await asyncio.wait_for(refresh_once(conn, mode, key), timeout)
                except (TimeoutError, OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                    conn.close()
                    code, size = 0, 0
                note("live" if mode == "live" else "callback", code, time.time() - t0, size)
            else:  # a resident's view of /: the default layers' features, one after the other
                for i, url in enumerate(home):
                    if bare:
                        await get(conn, "bare-features", f"/_bench/bare/features-{i}")
                    else:
                        await get(conn, "features", url)
            if pace:
                await asyncio.sleep(max(0.0, pace - (time.time() - t0)))
        conn.close()

    async def run() -> None:
        await asyncio.gather(*(one(role) for role in roles), return_exceptions=True)

    asyncio.run(run())
    out.put({k: (v[0][:], v[1][0], v[2][0]) for k, v in stats.items()})


def phase(server: Server, bare: bool, mode: str, home: list[str], users: int, pace: float, args) -> dict:
    roles = (["manager", "resident"] * users)[:users] if args.mix == "storm" else ["manager"] * users
    procs = max(1, min(args.procs, users))
    q = mp.Queue()
    start_at = time.time() + 3.0 + users / 400  # time for the threads to start and load their pages
    ps = [mp.Process(target=viewers, args=(server.base, roles[i::procs], bare, mode, home, args.seconds, pace,
                                            args.timeout, start_at, q)) for i in range(procs)]
    for p in ps:
        p.start()
    while time.time() < start_at:
        time.sleep(0.05)
    cpu0 = server.cpu_s()
    spy = None
    if args.py_spy and not bare and not pace and not getattr(args, "spied", False):
        spy = start_py_spy(server, args)
    results = []
    for _ in ps:
        try:
            results.append(q.get(timeout=args.seconds + args.timeout + 60))
        except Exception:  # a load process that died: its share is missing, said below
            results.append({})
    cpu = server.cpu_s() - cpu0
    for p in ps:
        p.join(timeout=10)
        if p.is_alive():
            p.kill()
    if spy is not None:
        finish_py_spy(spy, args)
    merged: dict[str, list] = {}
    for res in results:
        for kind, (lat, fails, nbytes) in res.items():
            m = merged.setdefault(kind, [[], 0, 0])
            m[0].extend(lat)
            m[1] += fails
            m[2] += nbytes
    total = sum(len(m[0]) + m[1] for m in merged.values())
    rows = []
    for kind, (lat, fails, nbytes) in sorted(merged.items()):
        lat.sort()

        def pct(p, lat=lat):
            return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000 if lat else float("nan")

        n = len(lat)
        rows.append({"kind": kind, "n": n, "fails": fails, "rps": n / args.seconds, "p50": pct(50), "p95": pct(95),
                     "p99": pct(99), "cpu_ms": cpu * 1000 / max(total, 1), "bytes": nbytes / max(n, 1)})
    if len(results) < procs or any(not r for r in results):
        print("  (a load process gave no results)", flush=True)
    return {"rows": rows}


# --- where the time goes -------------------------------------------------------------------------

def start_py_spy(server: Server, args):
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        print("py-spy: not installed (pip install py-spy), no profile", flush=True)
        return None
    pids = sorted(server.pids() - {p.pid for p in server.counted}) or [server.web.pid]
    pid = pids[0]  # one gunicorn worker (embedded: the one process)
    if args.target == "embedded":
        pid = server.web.pid
    args.spied = True
    out = server.tmp / "py-spy.txt"
    proc = subprocess.Popen([spy, "record", "--pid", str(pid), "--duration", str(int(args.py_spy)), "--format", "raw",
                             "--output", str(out), "--nonblocking", "--threads"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc, out, pid


def finish_py_spy(spy, args, top: int = 15) -> None:
    proc, out, pid = spy
    try:
        _o, err = proc.communicate(timeout=args.py_spy + 30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _o, err = proc.communicate()
    if not out.exists():
        print(f"py-spy: no profile ({(err or b'').decode(errors='replace').strip()[-200:]})", flush=True)
        return
    own: dict[str, int] = {}
    total_: dict[str, int] = {}
    samples = 0
    for line in out.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if f and not f.startswith(("thread", "process"))]
        if not frames:
            continue
        samples += n
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for f in set(frames):
            total_[f] = total_.get(f, 0) + n
    idle = sum(n for f, n in own.items() if re.search(r"\b(wait|select|poll|accept|_worker|sleep)\b", f))
    print(f"py-spy of worker {pid}: {samples} samples, {100 * idle / max(samples, 1):.0f} % waiting; "
          f"top functions by own time (and total time incl. callees):", flush=True)
    for f, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {100 * n / samples:5.1f} % own {100 * total_[f] / samples:5.1f} % total  {f[:110]}")


# --- the bytes of the real answers ----------------------------------------------------------------

def _raw(c, req) -> tuple[str, bytes]:
    r = c.send(req, stream=True)
    raw = b"".join(r.iter_raw())
    r.close()
    return r.headers.get("Content-Encoding", ""), raw


def capture_bare(server: Server, mode: str, home: list[str]) -> dict[str, str]:
    """The bytes of one refresh answer and of each features answer of /, as sent (compressed), for the
    bare endpoints; returns name -> Content-Encoding."""
    import httpx
    import orjson

    out: dict[str, str] = {}
    with httpx.Client(timeout=60) as c:
        if mode == "live":
            key = c.get(server.app_base + "/api/snow/live").json()["key"]
            req = c.build_request("GET", server.app_base + "/api/snow/live", params={"since": key},
                                  headers={"Accept-Encoding": ACCEPT})
        else:
            c.get(server.app_base + "/_dash-dependencies")
            first = c.post(server.app_base + "/_dash-update-component", content=orjson.dumps(callback_body(None)),
                           headers={"Content-Type": "application/json"}).json()
            key = first["response"]["snow-key"]["data"]
            req = c.build_request("POST", server.app_base + "/_dash-update-component",
                                  content=orjson.dumps(callback_body(key)),
                                  headers={"Content-Type": "application/json", "Accept-Encoding": ACCEPT})
        answers = {"live": _raw(c, req)}
        for i, url in enumerate(home):
            answers[f"features-{i}"] = _raw(c, c.build_request("GET", server.app_base + url,
                                                               headers={"Accept-Encoding": ACCEPT}))
    for name, (encoding, raw) in answers.items():
        (server.tmp / "bare" / f"{name}.bin").write_bytes(encoding.encode() + b"\n" + raw)
        (server.tmp / "bare" / f"{name}.body").write_bytes(raw)
        out[name] = encoding
    return out


def detect_mode(server: Server) -> str:
    import httpx

    return "live" if httpx.get(server.app_base + "/api/snow/live", timeout=30).status_code == 200 else "callback"


def home_urls(server: Server) -> list[str]:
    import httpx

    r = httpx.get(server.app_base + "/_bench/home", timeout=60)
    r.raise_for_status()
    return r.json()


def print_rows(rows: list[dict]) -> None:
    print(f"  {'request':<13} {'ok':>7} {'fail':>5} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'CPU ms/req':>10} {'bytes/req':>10}")
    for r in rows:
        print(f"  {r['kind']:<13} {r['n']:>7} {r['fails']:>5} {r['rps']:>8.1f} {r['p50']:>8.1f} {r['p95']:>8.1f} "
              f"{r['p99']:>8.1f} {r['cpu_ms']:>10.2f} {r['bytes']:>10.0f}", flush=True)


def _numbers(text: str, kind=int) -> list:
    return [kind(x) for x in str(text).split(",") if x.strip()]


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "_serve":
        serve_embedded(sys.argv[2])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", choices=["embedded", "gunicorn", "nginx"], default="embedded")
    ap.add_argument("--users", default="50", help="simulated browsers, or a list: 200,1000")
    ap.add_argument("--pace", default="0",
                    help="seconds between one viewer's refreshes (0: back to back), or a list: 5,0")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each phase (bare, then real)")
    ap.add_argument("--mix", choices=["storm", "snow"], default="storm",
                    help="storm: half residents on /, half road managers on /snow; snow: all on /snow")
    ap.add_argument("--timeout", type=float, default=10.0, help="a request taking longer counts as a failure")
    ap.add_argument("--budget", type=float, default=1800.0, help="the whole run stops starting phases after this")
    ap.add_argument("--procs", type=int, default=2, help="load-generating processes")
    ap.add_argument("--refresh", choices=["auto", "live", "callback"], default="auto")
    ap.add_argument("--app-dir", type=Path, default=ROOT, help="the checkout to run (default: this one)")
    ap.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    ap.add_argument("--py-spy", type=float, default=0.0, metavar="S",
                    help="profile one web worker for S seconds in the first back-to-back real phase")
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/stormlive"))
    ap.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1"))
    args = ap.parse_args()
    args.app_dir = args.app_dir.resolve()
    if args.target == "nginx" and NGINX is None:
        print("target nginx skipped: nginx is not installed (Debian: apt-get install nginx-light)")
        return
    configs = [(u, p) for p in _numbers(args.pace, float) for u in _numbers(args.users)]
    tmp = Path(tempfile.mkdtemp(prefix="storm-day-"))
    server = Server(args, tmp)
    t0 = time.time()
    ratio = float("nan")
    try:
        server.start()
        mode = detect_mode(server) if args.refresh == "auto" else args.refresh
        home = home_urls(server) if args.mix == "storm" else []
        time.sleep(2)  # the first demo fixes
        bare = capture_bare(server, mode, home)
        if args.target == "nginx":
            server.start_nginx(bare)
        ver = subprocess.run(["git", "-C", str(args.app_dir), "log", "-1", "--format=%h"], capture_output=True,
                             text=True).stdout.strip()
        print(f"target {args.target} ({args.app_dir} {ver}), mix {args.mix}, {args.seconds:g} s per phase, "
              f"refresh by {mode}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} at start; "
              f"server up in {time.time() - t0:.0f} s", flush=True)
        if home:
            print(f"a resident's view of /: {len(home)} features GETs ({', '.join(u.split('?')[0] for u in home)})")
        for users, pace in configs:
            if time.time() - t0 > args.budget:
                print(f"skipped {users} users pace {pace:g} s: the run's budget of {args.budget:g} s is spent")
                continue
            label = f"paced, each viewer every {pace:g} s" if pace else "back to back"
            print(f"\n{users} users, {label} (load {os.getloadavg()[0]:.1f}):", flush=True)
            rows = phase(server, True, mode, home, users, pace, args)["rows"]
            rows += phase(server, False, mode, home, users, pace, args)["rows"]
            print_rows(rows)
            by = {r["kind"]: r for r in rows}
            real = by.get("live") or by.get("callback")
            if real:
                print(f"  bytes per refresh: {real['bytes']:.0f}")
            bare_rps = by.get("bare-live", {}).get("rps")
            ratio = real["rps"] / bare_rps if real and bare_rps else float("nan")
            print(f"  refresh ratio vs bare: {ratio:.2f}", flush=True)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"refresh ratio vs bare: {ratio:.2f}")


if __name__ == "__main__":
    main()
