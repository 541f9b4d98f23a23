"""deploy/nginx.conf as shipped, on loopback in front of a stand-in app: public layers' features are
kept a few seconds for visitors without a session, answers marked private never are, staff always
reach the app, and the live GET is shared with logged-in staff. Skips when nginx is not installed."""
from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from tests import test_deploy_nginx as recipe


class _Layers(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        path = self.path.split("?")[0]
        recipe._App.hits[path] = recipe._App.hits.get(path, 0) + 1
        if path == "/api/layers/secret/features":
            cache = "private, no-cache"
        elif path.endswith("/features") or path == "/api/snow/live":
            cache = "public, max-age=86400, immutable"
        else:
            cache = "no-store"
        body = b'{"type": "FeatureCollection", "features": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/geo+json")
        self.send_header("Cache-Control", cache)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def proxied(tmp_path, monkeypatch):
    monkeypatch.setattr(recipe._App, "do_GET", _Layers.do_GET)
    yield from recipe.proxied.__wrapped__(tmp_path)


def test_public_features_are_kept_briefly_private_ones_never(proxied):
    hits = recipe._App.hits
    with httpx.Client(base_url=proxied, timeout=5) as c:
        for _ in range(5):
            assert c.get("/api/layers/aed/features?v=3").status_code == 200
        assert hits["/api/layers/aed/features"] == 1  # four visitors answered by nginx
        for _ in range(3):
            assert c.get("/api/layers/secret/features").headers["X-Cache"] != "HIT"
        assert hits["/api/layers/secret/features"] == 3
        staff = c.get("/api/layers/aed/features?v=3", headers={"Cookie": "session=abc"})
        assert staff.headers["X-Cache"] == "BYPASS" and hits["/api/layers/aed/features"] == 2
        # the live state: one copy for visitors and logged-in staff alike
        c.get("/api/snow/live?since=L1")
        live = c.get("/api/snow/live?since=L1", headers={"Cookie": "session=abc"})
        assert live.headers["X-Cache"] == "HIT" and hits["/api/snow/live"] == 1
