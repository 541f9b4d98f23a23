"""Staff-registered sources, tried as an attacker would, through the real routes:

- the CKAN API key goes only to the CKAN site's own origin (scheme, host and port);
- registered sources cannot read internal services unless SOURCE_HOSTS names them, and what an
  editor sees does not tell an open port from a closed one;
- the notification secret travels in a header and never appears in a log line.
"""
from __future__ import annotations

import logging
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import orjson
import pytest

from store.brokers import Source
from store.models import Layer
from tests.staff_helpers import make_person

GENERIC = "接続できませんでした"
SOURCE_NAME = "sec-src"  # the sources `cleanup` deletes
POINTS = orjson.dumps({"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"name": "七尾港"},
     "geometry": {"type": "Point", "coordinates": [136.96, 37.05]}}]})


class Site:
    """A loopback HTTP server that records each request's path and Authorization header."""

    def __init__(self, files: dict[str, bytes] | None = None):
        self.files = dict(files or {})
        self.seen: list[tuple[str, str | None]] = []
        site = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                site.seen.append((urlparse(self.path).path, self.headers.get("Authorization")))
                body = site.files.get(urlparse(self.path).path)
                if callable(body):
                    body = body()
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def package(resource_url: str) -> bytes:
    return orjson.dumps({"success": True, "result": {"id": "ports", "name": "ports", "license_title": "CC BY",
                                                      "resources": [{"id": "r1", "format": "GeoJSON",
                                                                     "name": "ports.geojson", "url": resource_url}]}})


@pytest.fixture
def editor(app_db):
    return make_person(app_db, "kaga")


def register(client, person, body) -> dict:
    r = client.post("/api/sources", data=orjson.dumps({"name": f"sec-src {uuid.uuid4().hex[:6]}", **body}),
                    headers=person.auth, content_type="application/json")
    return r


def test_the_ckan_key_goes_only_to_the_ckan_sites_origin(client, editor, cleanup, loopback_sources):
    other = Site({"/ports.geojson": POINTS})           # another origin: same address, other port
    ckan = Site()
    ckan.files["/api/3/action/package_show"] = package(other.url + "/ports.geojson")
    ckan.files["/own.geojson"] = POINTS
    try:
        r = register(client, editor, {"kind": "ckan", "base_url": ckan.url, "ckan_dataset": "ports",
                                      "token": "ckan-api-key-1234"})
        assert r.status_code == 201, r.get_json()
        sid = r.get_json()["id"]
        poll = client.post(f"/api/sources/{sid}/poll", headers=editor.auth)
        assert poll.status_code == 200 and poll.get_json()["result"]["points"] == 1
        assert ckan.seen == [("/api/3/action/package_show", "ckan-api-key-1234")]
        assert other.seen == [("/ports.geojson", None)]  # the download on another origin: no key
        # a resource on the site itself gets the key
        ckan.files["/api/3/action/package_show"] = package(ckan.url + "/own.geojson")
        POINTS2 = POINTS.replace("七尾港".encode(), "輪島港".encode())
        ckan.files["/own.geojson"] = POINTS2
        assert client.post(f"/api/sources/{sid}/poll", headers=editor.auth).status_code == 200
        assert ckan.seen[-1] == ("/own.geojson", "ckan-api-key-1234")
        # same host and port but another scheme, or the default port spelt out, decide alike
        from sources.ckan import CkanClient

        c = CkanClient(ckan.url, token="k")
        assert c.headers_for(f"https://127.0.0.1:{ckan.port}/own.geojson") == {}
        assert c.headers_for(f"http://127.0.0.1:{ckan.port + 1}/own.geojson") == {}
        assert c.headers_for(f"http://localhost:{ckan.port}/own.geojson") == {}
        assert c.headers_for(f"HTTP://127.0.0.1:{ckan.port}/x") == {"Authorization": "k"}
        site = CkanClient("https://ckan.example", token="k")
        assert site.headers_for("https://ckan.example:443/r") == {"Authorization": "k"}
        c.close()
    finally:
        ckan.stop()
        other.stop()


def test_internal_services_are_refused_by_default(client, editor, app_db, cleanup, caplog):
    """No SOURCE_HOSTS: a CKAN site or broker on loopback/private addresses cannot be registered,
    and a public site's dataset naming an internal resource is not fetched."""
    caplog.set_level(logging.WARNING)
    for url in ("http://127.0.0.1:5432", "http://10.0.0.8:6379", "http://169.254.169.254", "http://[::1]:8050"):
        r = register(client, editor, {"kind": "ckan", "base_url": url, "ckan_dataset": "x"})
        assert r.status_code == 400
        text = str(r.get_json()["details"])
        assert GENERIC in text and "internal" not in text and "SOURCE_HOSTS" not in text
    assert "10.0.0.8" in caplog.text  # the log keeps the detail
    # a source stored before (or an allowed name that now points inside) is refused at fetch time
    internal = Site({"/api/3/action/package_show": package("http://127.0.0.1:1/x.geojson")})
    try:
        with app_db.session() as s:
            src = Source(name="sec-src old", kind="ckan", base_url=internal.url, ckan_dataset="ports",
                         organisation_id=editor_org(s, editor))
            s.add(src)
            s.flush()
            sid = src.id
        r = client.post(f"/api/sources/{sid}/poll", headers=editor.auth)
        assert r.status_code == 502 and GENERIC in r.get_json()["result"]["error"]
        assert internal.seen == []  # nothing was read from the internal service
        status = client.get(f"/api/sources/{sid}", headers=editor.auth).get_json()["status"]
        assert GENERIC in status["last_error"] and str(internal.port) not in status["last_error"]
    finally:
        internal.stop()


def editor_org(s, person) -> int:
    from store.users import get_user_by_email

    return get_user_by_email(s, person.email).organisation_id


def test_an_open_port_and_a_closed_one_read_the_same(client, editor, cleanup, loopback_sources):
    """With loopback allowed, a port that answers something else and a closed port both read
    "could not connect" (HTTP errors of a real site still show their status)."""
    import socket

    raw = socket.socket()
    raw.bind(("127.0.0.1", 0))
    raw.listen(1)  # open, but closes every connection without an answer

    def drop():
        while True:
            try:
                conn, _ = raw.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=drop, daemon=True).start()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    errors = []
    try:
        for port in (raw.getsockname()[1], closed_port):
            r = register(client, editor, {"kind": "ckan", "base_url": f"http://127.0.0.1:{port}", "ckan_dataset": "x"})
            sid = r.get_json()["id"]
            errors.append(client.post(f"/api/sources/{sid}/poll", headers=editor.auth).get_json()["result"]["error"])
    finally:
        raw.close()
    assert errors[0] == errors[1] and GENERIC in errors[0]



@pytest.fixture
def push_source(app_db):
    with app_db.session() as s:
        src = Source(name="sec-src push", base_url="http://127.0.0.1:1", layer_prefix="secpush", target="auto")
        s.add(src)
        s.flush()
        sid, secret = src.id, src.notify_secret
    yield sid, secret
    with app_db.session() as s:
        for layer in s.query(Layer).filter(Layer.id.like("secpush-%")):
            s.delete(layer)
        s.flush()
        s.delete(s.get(Source, sid))


def test_the_notify_secret_comes_in_a_header_and_the_old_query_still_works(client, push_source):
    sid, secret = push_source
    body = orjson.dumps({"data": []})
    assert client.post(f"/ngsi/notify/{sid}", data=body, content_type="application/json",
                       headers={"X-Notify-Token": secret}).status_code == 200
    old = client.post(f"/ngsi/notify/{sid}?token={secret}", data=body, content_type="application/json")
    assert old.status_code == 200
    for headers in ({"X-Notify-Token": "wrong"}, {}):
        assert client.post(f"/ngsi/notify/{sid}", data=body, content_type="application/json",
                           headers=headers).status_code == 401


def test_token_values_never_reach_the_logs(dash_app, push_source, caplog):
    """A real server (werkzeug's access log) and a real HTTP client (httpx's request log line)."""
    import httpx
    from werkzeug.serving import make_server

    sid, secret = push_source
    caplog.set_level(logging.INFO)
    server = make_server("127.0.0.1", 0, dash_app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/ngsi/notify/{sid}?token={secret}"
        r = httpx.post(url, content=b'{"data": []}', headers={"Content-Type": "application/json"})
        assert r.status_code == 200
        httpx.post(f"http://127.0.0.1:{server.server_port}/ngsi/notify/{sid}?lang=en&token=guess-123",
                   content=b'{"data": []}', headers={"Content-Type": "application/json"})
        logging.getLogger("api.ngsi_notify").warning("notify URL was %s", url)
    finally:
        server.shutdown()
    lines = [rec.getMessage() for rec in caplog.records]
    access = [m for m in lines if "/ngsi/notify/" in m and "HTTP/1.1" in m]
    assert len(access) >= 2 and all("token=[redacted]" in m for m in access), lines
    assert any(m.startswith("HTTP Request: POST") for m in lines)
    assert secret not in caplog.text and "guess-123" not in caplog.text
