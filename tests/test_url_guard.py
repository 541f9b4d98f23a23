"""Staff-registered sources cannot make the server read internal services (SSRF), secure by default,
and SOURCE_HOSTS names what is allowed (sources/url_guard.py)."""
from __future__ import annotations

import logging
import socket
import threading
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import orjson
import pytest

from sources.ckan import CkanClient
from sources.ngsi import NgsiClient, NgsiError
from sources.source_config import clean_source
from sources.url_guard import UrlRefused, check_url

GENERIC = "接続できませんでした"


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]:1026/v2", "http://0.0.0.0:1026",
    "http://224.0.0.1/", "ftp://orion.example/", "http://127.0.0.1:1026", "http://localhost:5432/",
    "http://10.20.1.5:1026/v2", "http://172.16.0.1/", "http://192.168.1.1/", "http://[fc00::1]/",
    "http://[::1]:8050/", "http://[::ffff:127.0.0.1]/", "http://100.64.0.1/", "http://240.0.0.1/"])
def test_internal_and_odd_addresses_are_refused_by_default(url, monkeypatch):
    monkeypatch.delenv("SOURCE_HOSTS", raising=False)
    monkeypatch.delenv("ORION_URL", raising=False)
    with pytest.raises(UrlRefused) as exc:
        check_url(url)
    assert str(exc.value) == f"{GENERIC} / could not connect"  # the detail only in exc.detail / the log


def test_public_addresses_are_allowed_by_default(monkeypatch):
    monkeypatch.delenv("SOURCE_HOSTS", raising=False)
    assert str(check_url("http://203.0.114.7:1026/v2")) == "203.0.114.7"
    assert str(check_url("https://[2a00:1450:4001::1]/")) == "2a00:1450:4001::1"


def test_a_name_that_does_not_resolve_is_refused(monkeypatch):
    monkeypatch.delenv("SOURCE_HOSTS", raising=False)
    with pytest.raises(UrlRefused) as exc:
        check_url("http://no-such-host.invalid/")
    assert "does not resolve" in exc.value.detail
    with pytest.raises(UrlRefused):
        check_url("http://no-such-host.invalid/", ["no-such-host.invalid"])  # even when listed


def test_source_hosts_is_an_allow_list():
    allowed = ["localhost", "10.20.0.0/16", "127.0.0.1"]
    check_url("http://LOCALHOST:1026/v2", allowed)
    check_url("http://10.20.3.4:1026", allowed)
    check_url("http://127.0.0.1:9", allowed)
    for url in ("http://10.21.0.1", "http://192.168.0.1", "http://203.0.114.7/"):
        with pytest.raises(UrlRefused):
            check_url(url, allowed)


def test_the_operators_broker_stays_allowed(monkeypatch):
    monkeypatch.delenv("SOURCE_HOSTS", raising=False)
    monkeypatch.setenv("ORION_URL", "http://127.0.0.1:1026")
    check_url("http://127.0.0.1:1026/v2/entities")
    with pytest.raises(UrlRefused):
        check_url("http://10.0.0.1:1026/v2/entities")


def test_registering_an_internal_url_is_refused(monkeypatch):
    monkeypatch.delenv("SOURCE_HOSTS", raising=False)
    for url in ("http://169.254.169.254", "http://127.0.0.1:1026", "http://10.0.0.8:5432"):
        _values, errors = clean_source({"name": "x", "base_url": url})
        assert [e["field"] for e in errors] == ["base_url"] and GENERIC in errors[0]["message"]
        assert "10.0.0.8" not in errors[0]["message"] and "5432" not in errors[0]["message"]
    monkeypatch.setenv("SOURCE_HOSTS", "127.0.0.1")
    assert clean_source({"name": "x", "base_url": "http://127.0.0.1:1026"})[1] == []


def test_clients_check_every_request_before_connecting(monkeypatch):
    monkeypatch.delenv("SOURCE_HOSTS", raising=False)
    client = NgsiClient("http://169.254.169.254:1026", retries=0, guarded=True)
    with pytest.raises(NgsiError) as exc:
        client.list_entities("WeatherObserved")
    assert not exc.value.retryable and GENERIC in str(exc.value)
    # a CKAN resource URL (named by the remote site) is checked the same way
    with pytest.raises(NgsiError):
        CkanClient("http://127.0.0.1:9").download("http://169.254.169.254/latest/meta-data/")


def test_redirects_are_checked_too(monkeypatch):
    monkeypatch.delenv("SOURCE_HOSTS", raising=False)

    def handler(request):
        if request.url.host == "ckan.example":
            return httpx.Response(302, headers={"Location": "http://169.254.169.254/secret"})
        return httpx.Response(200, text="secret")

    from sources.url_guard import guard_hook

    http = httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=True,
                        event_hooks={"request": [guard_hook]})
    with pytest.raises(NgsiError):
        CkanClient("http://ckan.example", client=http).download("http://ckan.example/r.csv")


class _Server:
    """A loopback HTTP server: `/ok` answers JSON, `/redirect` sends to 127.0.0.2 (also loopback),
    `/huge` streams `huge_mb` MB of data in 64 KB chunks and counts what it managed to send."""

    def __init__(self, huge_mb: int = 300):
        self.sent = 0
        self.hosts: list[str] = []
        srv = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                srv.hosts.append(self.headers.get("Host", ""))
                if self.path.startswith("/redirect"):
                    self.send_response(302)
                    self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path.startswith("/huge"):
                    self.send_response(200)
                    self.end_headers()  # no Content-Length: the limit must be enforced while reading
                    chunk = b"x" * 65536
                    try:
                        for _ in range(huge_mb * 16):
                            self.wfile.write(chunk)
                            srv.sent += len(chunk)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                body = orjson.dumps({"ok": True})
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


@pytest.fixture
def server():
    s = _Server()
    yield s
    s.stop()


def test_the_connection_goes_to_the_checked_address(monkeypatch, server):
    """DNS rebinding: the name answers 127.0.0.1 when checked and an unreachable address after;
    the one answer that was checked is the one connected to, with the name kept in Host."""
    monkeypatch.setenv("SOURCE_HOSTS", "ckan.rebind.test")
    real = socket.getaddrinfo
    asked = []

    def fake(host, *a, **kw):
        if host == "ckan.rebind.test":
            asked.append(host)
            ip = "127.0.0.1" if len(asked) == 1 else "192.0.2.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, 0))]
        return real(host, *a, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with CkanClient(f"http://ckan.rebind.test:{server.port}", timeout=3) as c:
        assert c.download(f"http://ckan.rebind.test:{server.port}/ok") == b'{"ok":true}'
    assert asked == ["ckan.rebind.test"] and server.hosts == [f"ckan.rebind.test:{server.port}"]


def test_a_refused_address_and_a_closed_port_read_the_same(monkeypatch, caplog):
    """No port scanning through error messages: what staff see is one text; the log has the detail."""
    monkeypatch.delenv("SOURCE_HOSTS", raising=False)
    caplog.set_level(logging.WARNING)
    messages = []
    for url in ("http://10.1.2.3:22", "http://127.0.0.1:1"):
        with pytest.raises(NgsiError) as exc:
            NgsiClient(url, retries=0, guarded=True).list_entities("WeatherObserved")
        messages.append(str(exc.value))
    monkeypatch.setenv("SOURCE_HOSTS", "127.0.0.1")
    with pytest.raises(NgsiError) as exc:
        NgsiClient("http://127.0.0.1:1", retries=0, guarded=True).list_entities("WeatherObserved")
    messages.append(str(exc.value))
    assert len(set(messages)) == 1 and GENERIC in messages[0]
    assert "10.1.2.3" in caplog.text and "ConnectError" in caplog.text


def test_a_redirect_to_an_internal_address_is_refused(monkeypatch, server):
    monkeypatch.setenv("SOURCE_HOSTS", "127.0.0.1")
    with CkanClient(f"http://127.0.0.1:{server.port}", timeout=3) as c:
        with pytest.raises(NgsiError):
            c.download(f"http://127.0.0.1:{server.port}/redirect")
    assert len(server.hosts) == 1


def test_a_huge_download_stops_at_the_limit(monkeypatch, server):
    """A 300 MB answer is read only up to the limit: neither the memory nor the transfer grows with it."""
    import sources.ckan as ckan

    monkeypatch.setenv("SOURCE_HOSTS", "127.0.0.1")
    monkeypatch.setattr(ckan, "MAX_BYTES", 2 * 1024 * 1024)
    tracemalloc.start()
    try:
        with CkanClient(f"http://127.0.0.1:{server.port}", timeout=10) as c:
            with pytest.raises(NgsiError) as exc:
                c._get(f"http://127.0.0.1:{server.port}/huge", limit=ckan.MAX_BYTES)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "MB" in str(exc.value)
    assert peak < 20 * 1024 * 1024, peak
    assert server.sent < 50 * 1024 * 1024, server.sent  # the server could not push the 300 MB


def test_the_download_limit_applies_to_the_real_download(monkeypatch, server):
    import sources.ckan as ckan

    monkeypatch.setenv("SOURCE_HOSTS", "127.0.0.1")
    monkeypatch.setattr(ckan, "MAX_BYTES", 1024 * 1024)
    with CkanClient(f"http://127.0.0.1:{server.port}", timeout=10) as c:
        with pytest.raises(NgsiError):
            c.download(f"http://127.0.0.1:{server.port}/huge")
    assert server.sent < 50 * 1024 * 1024
