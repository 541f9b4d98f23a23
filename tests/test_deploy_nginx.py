"""deploy/nginx.conf as shipped, run by the machine's nginx on loopback in front of a stand-in app:
the live GET is answered once a second from the microcache (requests with credentials always pass),
static bundles are gzipped and kept. Skips when nginx is not installed (Debian: nginx-light)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest

from tests.browser_helpers import free_port
from tests.loopback import serve

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


class _App(BaseHTTPRequestHandler):
    hits: dict[str, int] = {}

    def do_GET(self):  # noqa: N802 (http.server's name)
        path = self.path.split("?")[0]
        _App.hits[path] = _App.hits.get(path, 0) + 1
        if path == "/api/snow/live":
            body, ctype, cache = b'{"bucket": 1, "segments": []}' * 40, "application/json", "public, max-age=1"
        elif path.startswith("/_dash-component-suites/"):
            body, ctype, cache = b"window.x = 1;\n" * 500, "application/javascript", "public, max-age=31536000"
        else:
            body, ctype, cache = b"ok", "text/plain", "no-store"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", cache)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def proxied(tmp_path):
    if NGINX is None:
        pytest.skip("nginx recipe test: nginx is not installed (Debian: apt-get install nginx-light)")
    app_port, port = free_port(), free_port()
    with serve(_App, app_port):
        yield from _nginx(tmp_path, app_port, port)


def _nginx(tmp_path, app_port: int, port: int):
    """The machine's nginx with deploy/nginx.conf on `port`, in front of `app_port`: yields its base URL."""
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    conf = conf.replace("server 127.0.0.1:8050;", f"server 127.0.0.1:{app_port};")
    conf = re.sub(r"listen 80;", f"listen 127.0.0.1:{port};", conf)
    conf = re.sub(r"\n\s*listen \[::\]:80;", "", conf)
    conf = conf.replace("/var/cache/nginx/", f"{tmp_path}/cache/")
    (tmp_path / "site.conf").write_text(conf)
    (tmp_path / "logs").mkdir()
    (tmp_path / "cache").mkdir()
    user = "user root;\n" if os.geteuid() == 0 else ""
    (tmp_path / "nginx.conf").write_text(
        f"{user}worker_processes 1;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/logs/error.log;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path}/body;\n  proxy_temp_path {tmp_path}/proxy;\n"
        f"  fastcgi_temp_path {tmp_path}/fcgi;\n  uwsgi_temp_path {tmp_path}/uwsgi;\n"
        f"  scgi_temp_path {tmp_path}/scgi;\n"
        f"  include {tmp_path}/site.conf;\n}}\n")
    args = [NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
    check = subprocess.run([*args, "-t"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([*args, "-g", "daemon off;"], stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    for _ in range(50):
        try:
            httpx.get(base + "/", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    _App.hits = {}
    yield base
    proc.terminate()
    proc.wait(10)


def test_the_live_get_is_microcached_and_static_files_gzipped(proxied):
    with httpx.Client(base_url=proxied, timeout=5) as c:
        answers = [c.get("/api/snow/live?bucket=1") for _ in range(20)]
        assert all(r.status_code == 200 for r in answers)
        assert _App.hits["/api/snow/live"] == 1  # nineteen viewers served by nginx
        assert answers[-1].headers["X-Cache"] == "HIT"
        private = c.get("/api/snow/live?bucket=1", headers={"Authorization": "Bearer abc"})
        assert private.headers["X-Cache"] == "BYPASS" and _App.hits["/api/snow/live"] == 2
        time.sleep(1.2)
        c.get("/api/snow/live?bucket=1")
        c.get("/api/snow/live?bucket=1")
        assert _App.hits["/api/snow/live"] <= 4  # a fresh answer after a second (at most one behind)

        raw = c.get("/_dash-component-suites/dash/bundle.v1.js", headers={"Accept-Encoding": "gzip"})
        assert raw.headers["Content-Encoding"] == "gzip"
        assert raw.text.startswith("window.x")  # httpx undid the gzip
        again = c.get("/_dash-component-suites/dash/bundle.v1.js", headers={"Accept-Encoding": "gzip"})
        assert again.headers["X-Cache"] == "HIT" and _App.hits["/_dash-component-suites/dash/bundle.v1.js"] == 1

        assert c.get("/metrics").status_code == 200  # loopback may scrape (the app asks for its token)
        assert c.get("/").text == "ok"
