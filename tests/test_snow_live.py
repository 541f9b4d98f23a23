"""The /snow live state (GET /api/snow/live) and /api/snow/status from the shared snapshot: the same
compressed bytes for every viewer of a refresh interval, HTTP caching, and no geometry read."""
from __future__ import annotations

import gzip
import threading
import time

import brotli
import orjson
import pytest
from sqlalchemy import event

from layers.snow import live, snapshot as snap


@pytest.fixture
def fresh(dash_app):
    """The session app's caches emptied: every test starts without shared answers."""
    from store.cache import cache

    with dash_app.server.app_context():
        cache.clear()
    live._MEMO.clear()
    return dash_app


@pytest.fixture
def fed(app_db, dash_app):
    """The demo fleet's last day in the session's store (once per session, shared with the other snow tests)."""
    from sources import demo_plows
    from store.db import utcnow
    from tests.test_snow_browser import _FED

    if not _FED:
        demo_plows.tick(app_db, dash_app.server.extensions["ishikawa.settings"].data_path, utcnow())
        _FED["done"] = True
    return app_db


def test_live_state_is_cacheable_compressed_and_conditional(fresh, fed):
    c = fresh.server.test_client()
    r = c.get("/api/snow/live", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert r.headers["Content-Encoding"] == "br" and "Accept-Encoding" in r.headers["Vary"]
    assert r.headers["Cache-Control"] == f"public, max-age={snap.REFRESH_S}"
    etag = r.headers["ETag"]
    body = orjson.loads(brotli.decompress(r.get_data()))
    assert body["reset"] is True and body["live"] is True and body["key"].startswith("L")
    assert len(body["roads"]) > 100 and body["vehicles"]
    # progress travels as numbers: metres per window, per area and per route
    prog = body["progress"]
    assert prog["hours"] == [1, 3, 6, 12, 24] and len(prog["total"]["cleared_m"]) == 5
    assert prog["area"]["names"] and all(isinstance(x, int) for x in prog["route"]["total_m"])
    assert abs(prog["total"]["total_m"] - sum(prog["area"]["total_m"])) <= len(prog["area"]["names"])  # whole metres
    # gzip for a client without brotli, the same content
    g = c.get("/api/snow/live", headers={"Accept-Encoding": "gzip"})
    assert g.headers["Content-Encoding"] == "gzip" and orjson.loads(gzip.decompress(g.get_data())) == body
    plain = c.get("/api/snow/live", headers={"Accept-Encoding": "identity"})
    if plain.headers.get("Content-Encoding") is None:
        assert orjson.loads(plain.get_data()) == body
    # the browser (or a shared cache) holding these bytes gets a 304
    again = c.get("/api/snow/live", headers={"If-None-Match": etag, "Accept-Encoding": "gzip"})
    if body["key"] == snap.live_key(time.time()):  # still the same interval
        assert again.status_code == 304 and again.headers["ETag"] == etag and not again.get_data()
    # a browser holding this key gets only what changed since: much smaller
    d = c.get(f"/api/snow/live?since={body['key']}", headers={"Accept-Encoding": "gzip"})
    delta = orjson.loads(gzip.decompress(d.get_data()))
    assert delta["reset"] is False and delta["since"] == body["key"]
    assert len(d.get_data()) < len(g.get_data()) / 3


def test_same_bytes_for_every_viewer_built_once(fresh, fed):
    from store.cache import cache

    with fresh.server.app_context():
        snap.snapshot(fed, snap.live_key(time.time()), cache)  # what the viewers' pages were built with
    key = snap.live_key(time.time())
    before_build, before_snap = live.BUILD_COUNT["live"], snap.COMPUTE_COUNT["live"]
    answers, barrier = [], threading.Barrier(40)

    def viewer():
        c = fresh.server.test_client()
        barrier.wait()
        r = c.get(f"/api/snow/live?since={key}", headers={"Accept-Encoding": "gzip"})
        answers.append((r.status_code, r.headers["ETag"], r.get_data()))

    start = time.time()
    threads = [threading.Thread(target=viewer) for _ in range(40)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    buckets = len({snap.live_key(start), snap.live_key(time.time())})
    assert all(code == 200 for code, _e, _b in answers)
    assert len({b for _c, _e, b in answers}) <= buckets  # the same bytes for everyone in an interval
    assert live.BUILD_COUNT["live"] - before_build <= buckets
    assert snap.COMPUTE_COUNT["live"] - before_snap <= buckets


def test_replay_and_bad_parameters(fresh, fed):
    c = fresh.server.test_client()
    at = int(time.time() - 3600) // 60 * 60
    r = c.get(f"/api/snow/live?at={at}", headers={"Accept-Encoding": "gzip"})
    body = orjson.loads(gzip.decompress(r.get_data()))
    assert r.status_code == 200 and body["key"] == f"R{at}" and body["live"] is False
    assert r.headers["Cache-Control"] == "public, max-age=60"
    iso = c.get("/api/snow/live?at=2020-01-01T00:00:00Z")  # further back than 24 hours: the oldest replay
    assert iso.status_code == 200
    for bad in ("since=x", "since=L1;drop", "at=soon", "at=nan"):
        r = c.get(f"/api/snow/live?{bad}&lang=en")
        assert r.status_code == 400, bad
        assert r.get_json()["error"] in ("bad_since", "bad_time") and r.get_json()["message"]
    assert c.get("/api/snow/live?since=L0").get_json()["reset"] is True  # a state no longer here: everything


def test_status_without_geometry_reads_no_geometry(fresh, fed):
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement.lower())

    engine = fed.engine
    c = fresh.server.test_client()
    c.get("/api/snow/live")  # the snapshot of this interval exists (any viewer made it)
    event.listen(engine, "before_cursor_execute", seen)
    try:
        r = c.get("/api/snow/status?geometry=false")
        r2 = c.get("/api/snow/status?geometry=false")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert r.status_code == r2.status_code == 200
    rows = r.get_json()["segments"]
    assert len(rows) > 1000 and "geometry" not in rows[0] and "_geometry" not in rows[0]
    assert not [s for s in statements if "geometry" in s], statements
    assert r.headers["ETag"] and r.headers["Cache-Control"] == f"public, max-age={snap.REFRESH_S}"
    # with geometry: a GeoJSON feature per segment, geometries read once per network version
    g = c.get("/api/snow/status")
    doc = g.get_json()
    assert g.mimetype == "application/geo+json" and len(doc["features"]) == len(rows)
    assert doc["features"][0]["geometry"]["type"] == "LineString"
