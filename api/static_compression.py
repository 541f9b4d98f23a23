"""Dash's bundles (`/_dash-component-suites/…`) and our `assets/` compressed once, not per request.

Each file version is compressed once per encoding (brotli, else gzip) on its first request and
kept in memory; later requests get those bytes. Versioned URLs (Dash's fingerprinted bundles, the
`?m=<mtime>` Dash adds to assets) are sent with `Cache-Control: public, max-age=31536000, immutable`;
unversioned ones with a day and their ETag (each encoding its own), so a revalidation is a 304.
Flask-Compress (Dash's `compress=True`) leaves these answers alone: they already carry their
`Content-Encoding`.
"""
from __future__ import annotations

import gzip
import threading

from dash.fingerprint import check_fingerprint
from flask import request

from keylock import key_lock

try:
    import brotli
except ImportError:  # pragma: no cover - brotli is a dependency; without it gzip still works
    brotli = None

YEAR_S = 31_536_000
UNVERSIONED_S = 86_400
COMPRESSIBLE = {"application/javascript", "text/javascript", "text/css", "application/json", "image/svg+xml",
                "text/plain", "application/geo+json", "application/manifest+json"}
BR_QUALITY = 9  # ~2 s for the largest Dash bundle, once; 11 would take a minute for a few % less
GZIP_LEVEL = 9
MIN_SIZE = 500


class StaticCompression:
    """The compressed bytes of every static file version served so far, per encoding."""

    def __init__(self, prefixes: tuple[str, ...]):
        self.prefixes = prefixes
        self.store: dict[tuple, bytes] = {}
        self.compressions = 0  # how many times something was compressed (tests, benchmark)
        self._lock = threading.Lock()

    def choose(self, accept: str) -> str | None:
        names = {p.split(";")[0].strip().lower() for p in accept.split(",") if not p.replace(" ", "").endswith(";q=0")}
        if brotli is not None and "br" in names:
            return "br"
        if "gzip" in names or "*" in names:
            return "gzip"
        return None

    def after_request(self, resp):
        path = request.path
        if request.method not in ("GET", "HEAD") or not path.startswith(self.prefixes):
            return resp
        if resp.status_code == 200:
            _plain, fingerprinted = check_fingerprint(path)
            versioned = fingerprinted or bool(request.args.get("m"))
            resp.headers["Cache-Control"] = (f"public, max-age={YEAR_S}, immutable" if versioned
                                             else f"public, max-age={UNVERSIONED_S}")
        if resp.status_code != 200 or "Content-Encoding" in resp.headers or resp.mimetype not in COMPRESSIBLE:
            return resp
        vary = resp.headers.get("Vary", "")
        if "accept-encoding" not in vary.lower():
            resp.headers["Vary"] = f"{vary}, Accept-Encoding" if vary else "Accept-Encoding"
        algo = self.choose(request.headers.get("Accept-Encoding", ""))
        if algo is None or (resp.content_length is not None and resp.content_length < MIN_SIZE):
            return resp
        etag, _weak = resp.get_etag()
        version = etag or str(resp.last_modified or "") or request.full_path
        key = (path, request.args.get("m", ""), version, algo)
        body = self.store.get(key)
        if body is None:
            with key_lock(f"static:{key}"):  # the first viewers of a new file wait for one compression
                body = self.store.get(key)
                if body is None:
                    resp.direct_passthrough = False
                    data = resp.get_data()
                    body = (brotli.compress(data, quality=BR_QUALITY) if algo == "br"
                            else gzip.compress(data, GZIP_LEVEL, mtime=0))
                    with self._lock:
                        self.store[key] = body
                        self.compressions += 1
        resp.close()  # the file it would have sent stays unread
        resp.direct_passthrough = False
        resp.set_data(body)
        resp.headers["Content-Encoding"] = algo
        if etag:
            resp.set_etag(f"{etag}.{algo}")
            resp.make_conditional(request)  # the browser holding this encoding's bytes: 304
        return resp


def install(server, app) -> StaticCompression:
    """Hook in after Dash (Flask runs the last registered after-request hook first, so this runs
    before Flask-Compress, which then sees the encoding and leaves the answer alone)."""
    prefix = app.config.requests_pathname_prefix
    assets = prefix + app.config.assets_url_path.strip("/") + "/"
    static = StaticCompression((prefix + "_dash-component-suites/", assets))
    server.after_request(static.after_request)
    server.extensions["ishikawa.static_compression"] = static
    return static
