"""Dash's bundles and our assets/ are compressed once and sent with long-lived cache headers."""
from __future__ import annotations

import gzip
import re

import brotli


def _bundles(client) -> list[str]:
    html = client.get("/snow").get_data(as_text=True)
    return re.findall(r'<script src="([^"]+)"', html) + re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)


def test_a_bundle_is_compressed_once_and_cached_long(client, dash_app):
    static = dash_app.server.extensions["ishikawa.static_compression"]
    urls = _bundles(client)
    suite = next(u for u in urls if "/_dash-component-suites/dash_leaflet/" in u)
    before = static.compressions
    first = client.get(suite, headers={"Accept-Encoding": "gzip"})
    second = client.get(suite, headers={"Accept-Encoding": "gzip"})
    assert first.status_code == second.status_code == 200
    assert first.headers["Content-Encoding"] == second.headers["Content-Encoding"] == "gzip"
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Accept-Encoding" in first.headers["Vary"]
    assert first.get_data() == second.get_data()
    raw = gzip.decompress(second.get_data())
    assert len(raw) > len(second.get_data()) and b"leaflet" in raw.lower()
    assert static.compressions - before <= 1  # the second answer reused the first compression
    # brotli for browsers that take it, also compressed once
    b1 = client.get(suite, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    b2 = client.get(suite, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert b1.headers["Content-Encoding"] == "br" and brotli.decompress(b2.get_data()) == raw
    assert static.compressions - before <= 2


def test_our_assets_are_compressed_once_with_a_validator(client, dash_app):
    static = dash_app.server.extensions["ishikawa.static_compression"]
    asset = next(u for u in _bundles(client) if "/assets/snow.js" in u)
    assert "?m=" in asset  # Dash versions asset URLs by modification time
    before = static.compressions
    first = client.get(asset, headers={"Accept-Encoding": "gzip"})
    second = client.get(asset, headers={"Accept-Encoding": "gzip"})
    assert first.headers["Content-Encoding"] == "gzip" and first.get_data() == second.get_data()
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert b"applyDelta" in gzip.decompress(first.get_data())
    assert static.compressions - before <= 1
    # unversioned: a day, and the encoding's own ETag gives a 304
    bare = client.get("/assets/snow.js", headers={"Accept-Encoding": "gzip"})
    assert bare.headers["Cache-Control"] == "public, max-age=86400" and bare.headers["ETag"].endswith('.gzip"')
    again = client.get("/assets/snow.js", headers={"Accept-Encoding": "gzip", "If-None-Match": bare.headers["ETag"]})
    assert again.status_code == 304
    plain = client.get("/assets/snow.js", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and b"applyDelta" in plain.get_data()
