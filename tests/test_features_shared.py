"""Layers' features as shared bytes: built and compressed once per data version, the same bytes for
every visitor, never marked shareable when the layer is private."""
import gzip
import uuid

import brotli
import orjson
import pytest

from layers.shared_bytes import BytesMemo, pack
from store.features import replace_features
from store.layers import upsert_layer
from store.models import PRIVATE, Layer, Organisation


def _point(name: str) -> dict:
    return {"type": "Feature", "id": name, "properties": {"name": name},
            "geometry": {"type": "Point", "coordinates": [136.3, 36.3]}}


@pytest.fixture
def kaga_private_layer(app_db):
    """A private layer of 加賀市 in the shared app."""
    layer_id = f"kaga-private-{uuid.uuid4().hex[:6]}"
    with app_db.session() as s:
        org = s.query(Organisation).filter_by(code="kaga").one()
        layer = upsert_layer(s, layer_id, kind="aed", name_ja="加賀の非公開", name_en="Kaga private",
                             group="iryou", visibility=PRIVATE, organisation_id=org.id, options={})
        replace_features(s, layer, [_point("加賀の秘密")])
    yield layer_id
    with app_db.session() as s:
        s.delete(s.get(Layer, layer_id))


def test_features_are_compressed_once_for_every_visitor(client, dash_app, monkeypatch):
    from registry import LAYER_KINDS as KINDS

    calls, compressions = [], []
    original = KINDS["shelters"].features
    monkeypatch.setattr(KINDS["shelters"], "features", lambda *a, **k: calls.append(1) or original(*a, **k))
    real_gzip = gzip.compress
    monkeypatch.setattr("layers.shared_bytes.gzip.compress",
                        lambda *a, **k: compressions.append(1) or real_gzip(*a, **k))
    url = "/api/layers/shelters/features?bbox=136.6,36.5,136.7,36.6"
    answers = [client.get(url, headers={"Accept-Encoding": enc}) for enc in ("br", "gzip", "identity", "br, gzip")]
    assert len(calls) <= 1 and len(compressions) <= 1  # none at all when another test built it already
    br, gz, plain, both = answers
    assert br.headers["Content-Encoding"] == "br" and both.headers["Content-Encoding"] == "br"
    assert gz.headers["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain.headers
    assert brotli.decompress(br.data) == gzip.decompress(gz.data) == plain.data
    assert orjson.loads(plain.data)["type"] == "FeatureCollection"
    assert all("Accept-Encoding" in r.headers["Vary"] and "Cookie" not in r.headers["Vary"] for r in answers)
    assert {r.headers["ETag"] for r in answers} == {br.headers["ETag"]}
    assert all(r.headers["Cache-Control"].startswith("public") and "Set-Cookie" not in r.headers for r in answers)


def test_new_data_version_is_a_new_answer(client, app_db):
    layer_id = f"shared-{uuid.uuid4().hex[:6]}"
    with app_db.session() as s:
        layer = upsert_layer(s, layer_id, kind="aed", name_ja="共有", name_en="Shared", group="iryou",
                             visibility="public", options={})
        replace_features(s, layer, [_point("一つ目")])
    try:
        first = client.get(f"/api/layers/{layer_id}/features")
        assert [f["id"] for f in orjson.loads(first.data)["features"]] == ["一つ目"]
        with app_db.session() as s:
            replace_features(s, s.get(Layer, layer_id), [_point("一つ目"), _point("二つ目")])
        second = client.get(f"/api/layers/{layer_id}/features", headers={"If-None-Match": first.headers["ETag"]})
        assert second.status_code == 200 and second.headers["ETag"] != first.headers["ETag"]
        assert len(orjson.loads(second.data)["features"]) == 2
    finally:
        with app_db.session() as s:
            s.delete(s.get(Layer, layer_id))


def test_private_layer_is_never_shared_across_people(dash_app, app_db, kaga, hakui, kaga_private_layer):
    """Staff of the owning organisation get the features marked private (no shared cache may keep
    them, and they vary by cookie); the same URL right after, from another organisation or without
    a session, is the plain 404 — not the bytes kept for the first person."""
    from tests.staff_helpers import login

    url = f"/api/layers/{kaga_private_layer}/features"
    owner = login(dash_app.server.test_client(), kaga.email)
    for headers in ({"Accept-Encoding": "br"}, {}):
        mine = owner.get(url, headers=headers)
        assert mine.status_code == 200
        assert mine.headers["Cache-Control"] == "private, no-cache"
        assert "public" not in mine.headers["Cache-Control"] and "max-age" not in mine.headers["Cache-Control"]
        assert {"Cookie", "Authorization"} <= {v.strip() for v in mine.headers["Vary"].split(",")}
    by_token = dash_app.server.test_client().get(url, headers=kaga.auth)
    assert by_token.status_code == 200 and by_token.headers["Cache-Control"] == "private, no-cache"
    # a 304 for the owner is private as well
    again = owner.get(url, headers={"If-None-Match": mine.headers["ETag"]})
    assert again.status_code == 304 and again.headers["Cache-Control"] == "private, no-cache"
    other = login(dash_app.server.test_client(), hakui.email)
    for c, headers in ((other, {}), (dash_app.server.test_client(), {}), (dash_app.server.test_client(), hakui.auth),
                       (dash_app.server.test_client(), {"If-None-Match": mine.headers["ETag"]})):
        r = c.get(url, headers={"Accept-Encoding": "br", **headers})
        assert r.status_code == 404 and "加賀の秘密".encode() not in r.data
        assert "public" not in r.headers.get("Cache-Control", "")


def test_layer_made_private_is_not_served_from_memory(client, app_db):
    layer_id = f"turns-private-{uuid.uuid4().hex[:6]}"
    with app_db.session() as s:
        layer = upsert_layer(s, layer_id, kind="aed", name_ja="公開", name_en="Public", group="iryou",
                             visibility="public", options={})
        replace_features(s, layer, [_point("公開中")])
    try:
        assert client.get(f"/api/layers/{layer_id}/features").status_code == 200
        with app_db.session() as s:  # same data version: only the visibility changes
            s.get(Layer, layer_id).visibility = PRIVATE
        assert client.get(f"/api/layers/{layer_id}/features").status_code == 404
    finally:
        with app_db.session() as s:
            s.delete(s.get(Layer, layer_id))


def test_memo_keeps_within_its_size_and_time():
    now = [0.0]
    memo = BytesMemo(max_bytes=3000, ttl=10, clock=lambda: now[0])
    bodies = {n: pack(bytes(range(256)) * 4, 0, tag=n) for n in "abc"}  # about 1.4 kB each
    for name, body in bodies.items():
        memo.put(name, body)
    assert memo.used <= 3000 and memo.get("a") is None and memo.get("c") is bodies["c"]
    assert memo.used == sum(b.size for n, b in bodies.items() if memo.get(n) is not None)
    now[0] = 10.5
    assert memo.get("c") is None and memo.used == sum(b.size for n, b in bodies.items() if memo.get(n))
    memo.put("huge", pack(bytes(range(256)) * 100, 0))
    assert memo.get("huge") is None  # bigger than the whole budget: not kept



def test_answers_for_visitors_without_session_are_forgotten_on_change_or_time(app_db):
    from layers.shared_bytes import AnonMemo, layers_generation

    now = [0.0]
    memo = AnonMemo(ttl=1.0, clock=lambda: now[0])
    body = pack(b'{"type": "FeatureCollection", "features": []}', 0)
    memo.put("aed:None:None", body, 7, layers_generation())
    assert memo.get("aed:None:None").version == 7
    now[0] = 1.5
    assert memo.get("aed:None:None") is None  # another process may have changed the layer meanwhile
    memo.put("aed:None:None", body, 7, layers_generation())
    with app_db.session() as s:  # any change to a layer through this process
        s.get(Layer, "aed").name_en = s.get(Layer, "aed").name_en + " "
    try:
        assert memo.get("aed:None:None") is None
    finally:
        with app_db.session() as s:
            s.get(Layer, "aed").name_en = s.get(Layer, "aed").name_en.rstrip()
