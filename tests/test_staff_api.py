"""The staff API: upload, replace, settings, delete, rollback, downloads, errors."""
from __future__ import annotations

import csv
import io

import orjson
import pytest
from sqlalchemy import func, select

from store.layer_versions import LayerVersion
from store.models import Feature, Layer
from tests.staff_helpers import BOM_CSV, CP932_CSV, GEOJSON, KML, upload


def rows_of(path=BOM_CSV) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def csv_bytes(rows) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode("cp932")


def test_upload_cp932_csv_and_see_it_publicly(client, app_people):
    resp = upload(client, app_people["kaga"], CP932_CSV, name="ドクターヘリ ランデブーポイント")
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["feature_count"] == 251 and body["skipped"] == [] and body["format"] == "csv"
    layer_id = body["id"]
    listed = {x["id"]: x for x in client.get("/api/layers").json["layers"]}
    assert listed[layer_id]["name"]["ja"] == "ドクターヘリ ランデブーポイント"
    assert listed[layer_id]["organisation"]["code"] == "kaga" and listed[layer_id]["group"] == "bousai"
    fc = client.get(f"/api/layers/{layer_id}/features").json
    assert len(fc["features"]) == 251
    assert fc["features"][0]["properties"]["名称"] == "能越道大泊IC除雪車回転場"
    assert fc["features"][0]["geometry"]["coordinates"] == [137.047636, 36.971283]


def test_kml_and_geojson_uploads(client, app_people):
    for path in (KML, GEOJSON):
        resp = upload(client, app_people["hakui"], path)
        assert resp.status_code == 201, resp.json
    assert resp.json["feature_count"] == 22


def test_unplaceable_rows_refused_with_422_unless_skip(client, app_people, app_db):
    rows = rows_of()[:6]
    rows[2][4] = ""  # row 3: no latitude
    rows[4][5] = "東経百三十七度"  # row 5: not a number
    data = csv_bytes(rows)
    before = _counts(app_db)
    resp = upload(client, app_people["kaga"], data=data, filename="rows.csv")
    assert resp.status_code == 422
    assert resp.json["error"] == "unplaceable_rows"
    assert [(d["row"], d["reason"]) for d in resp.json["details"]] == [(3, "row_no_coords"), (5, "row_bad_coords")]
    assert "緯度・経度が空欄" in resp.json["details"][0]["message"]
    assert _counts(app_db) == before  # nothing stored
    resp = upload(client, app_people["kaga"], data=data, filename="rows.csv", on_invalid="skip")
    assert resp.status_code == 201 and resp.json["feature_count"] == 3
    assert [d["row"] for d in resp.json["skipped"]] == [3, 5]
    en = client.post("/api/layers", data={"file": (io.BytesIO(data), "r.csv"), "name": "x", "visibility": "public",
                                          "group": "bousai"},
                     headers={**app_people["kaga"].auth, "Accept-Language": "en"})
    assert en.status_code == 422 and "cannot be placed" in en.json["message"]
    assert en.json["details"][0]["message"] == "Latitude/longitude is empty"


def test_column_and_crs_overrides(client, app_people):
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4326", "EPSG:6675", always_xy=True)
    rows = rows_of()[1:6]
    out = [["名称", "北", "東"]]
    for r in rows:
        e, n = tr.transform(float(r[5]), float(r[4]))
        out.append([r[2], f"{n:.3f}", f"{e:.3f}"])
    data = csv_bytes(out)
    assert upload(client, app_people["kaga"], data=data).status_code == 422  # no coordinate columns found
    resp = upload(client, app_people["kaga"], data=data, crs="EPSG:6675", lat_column="北", lon_column="東")
    assert resp.status_code == 201 and resp.json["crs"] == "EPSG:6675"
    fc = client.get(f"/api/layers/{resp.json['id']}/features").json
    expected = [float(rows[0][5]), float(rows[0][4])]
    assert fc["features"][0]["geometry"]["coordinates"] == pytest.approx(expected, abs=2e-6)
    bad = upload(client, app_people["kaga"], data=data, crs="EPSG:0000001", lat_column="北", lon_column="東")
    assert bad.status_code == 400 and bad.json["error"] == "bad_crs"


@pytest.mark.parametrize("case,status,code", [
    ("no_token", 401, "unauthorized"), ("png", 415, "unsupported_type"), ("bad_visibility", 400, "bad_request"),
    ("no_file", 400, "no_file"), ("no_name", 400, "bad_request"), ("bad_group", 400, "bad_request"),
    ("empty", 422, "empty_file"), ("excel", 415, "unsupported_type"),
])
def test_upload_errors(client, app_people, case, status, code):
    kaga = app_people["kaga"]
    if case == "no_token":
        resp = upload(client, None, CP932_CSV)
    elif case == "png":
        resp = upload(client, kaga, data=b"\x89PNG\r\n\x1a\n\x00\x00", filename="points.csv")
    elif case == "bad_visibility":
        resp = upload(client, kaga, CP932_CSV, visibility="everyone")
    elif case == "no_file":
        resp = client.post("/api/layers", data={"name": "x", "visibility": "public", "group": "bousai"},
                           headers=kaga.auth)
    elif case == "no_name":
        resp = upload(client, kaga, CP932_CSV, name="  ")
    elif case == "bad_group":
        resp = upload(client, kaga, CP932_CSV, group="no-such-group")
    elif case == "empty":
        resp = upload(client, kaga, data=b"", filename="x.csv")
    else:
        resp = upload(client, kaga, data=b"\xd0\xcf\x11\xe0" + b"\x00" * 100, filename="book.xls")
    assert resp.status_code == status, resp.json
    assert resp.json["error"] == code and resp.json["message"] and isinstance(resp.json["details"], list)


def test_too_large_is_413(client, app_people, dash_app, monkeypatch):
    server = dash_app.server
    monkeypatch.setitem(server.extensions, "ishikawa.settings",
                        server.extensions["ishikawa.settings"].with_(upload_max_mb=0))
    resp = upload(client, app_people["kaga"], CP932_CSV)
    assert resp.status_code == 413 and resp.json["error"] == "too_large"
    # and when the whole request is over the server's limit, before any view runs
    monkeypatch.setitem(server.config, "MAX_CONTENT_LENGTH", 1000)
    resp = upload(client, app_people["kaga"], CP932_CSV)
    assert resp.status_code == 413 and resp.json["error"] == "too_large"


def _counts(db):
    with db.session() as s:
        return (s.scalar(select(func.count()).select_from(Layer)), s.scalar(select(func.count()).select_from(Feature)),
                s.scalar(select(func.count()).select_from(LayerVersion)))


def test_replace_keeps_the_previous_version_and_rollback_restores_it(client, app_people, app_db):
    kaga = app_people["kaga"]
    layer_id = upload(client, kaga, CP932_CSV).json["id"]
    resp = client.put(f"/api/layers/{layer_id}/data", headers=kaga.auth, content_type="multipart/form-data",
                      data={"file": (io.BytesIO(GEOJSON.read_bytes()), "hakui.geojson")})
    assert resp.status_code == 200 and resp.json["feature_count"] == 22
    assert len(client.get(f"/api/layers/{layer_id}/features").json["features"]) == 22
    resp = client.post(f"/api/layers/{layer_id}/rollback", headers=kaga.auth)
    assert resp.status_code == 200 and resp.json["feature_count"] == 251
    fc = client.get(f"/api/layers/{layer_id}/features").json
    assert len(fc["features"]) == 251 and fc["features"][0]["properties"]["名称"] == "能越道大泊IC除雪車回転場"
    # the rollback can itself be rolled back
    assert client.post(f"/api/layers/{layer_id}/rollback", headers=kaga.auth).json["feature_count"] == 22


def test_a_failed_replace_leaves_the_store_as_it_was(client, app_people, app_db, monkeypatch):
    import store.features as features

    kaga = app_people["kaga"]
    layer_id = upload(client, kaga, CP932_CSV).json["id"]
    before = _counts(app_db)
    with app_db.session() as s:
        version_before = s.get(Layer, layer_id).version
    calls = []
    real_insert = features._insert

    def failing_insert(s, rows, chunk=5000):
        calls.append(len(rows))
        real_insert(s, rows[:5])  # half-way…
        raise RuntimeError("disk full")  # …then the failure

    monkeypatch.setattr(features, "_insert", failing_insert)
    resp = client.put(f"/api/layers/{layer_id}/data", headers=kaga.auth, content_type="multipart/form-data",
                      data={"file": (io.BytesIO(GEOJSON.read_bytes()), "hakui.geojson")})
    assert resp.status_code == 500
    assert upload(client, kaga, KML).status_code == 500
    assert calls == [22, 251]
    assert _counts(app_db) == before
    with app_db.session() as s:
        assert s.get(Layer, layer_id).version == version_before
    assert len(client.get(f"/api/layers/{layer_id}/features").json["features"]) == 251


def test_patch_settings(client, app_people):
    kaga = app_people["kaga"]
    layer_id = upload(client, kaga, CP932_CSV).json["id"]
    resp = client.patch(f"/api/layers/{layer_id}", headers=kaga.auth, json={
        "name": "ランデブーポイント", "name_en": "Rendezvous points", "color": "#AA3300", "shape": "square",
        "popup": {"title": "名称", "fields": [["所在地", "所在地", "Address"], ["市町", "市町", "City"]]}})
    assert resp.status_code == 200, resp.json
    assert resp.json["name"] == {"ja": "ランデブーポイント", "en": "Rendezvous points"}
    assert resp.json["color"] == "#aa3300" and resp.json["popup"]["fields"][0] == ["所在地", "所在地", "Address"]
    for bad in ({"color": "red;background:url(x)"}, {"visibility": "world"}, {"popup": {"fields": [["nope"]]}},
                {"organisation_id": 1}, {"name": ""}):
        r = client.patch(f"/api/layers/{layer_id}", headers=kaga.auth, json=bad)
        assert r.status_code == 400, bad
    assert client.patch(f"/api/layers/{layer_id}", headers=kaga.auth, data="x").status_code == 400


def test_delete(client, app_people, app_db):
    kaga = app_people["kaga"]
    layer_id = upload(client, kaga, CP932_CSV).json["id"]
    client.post(f"/api/layers/{layer_id}/rollback", headers=kaga.auth)  # nothing to roll back to
    assert client.delete(f"/api/layers/{layer_id}", headers=kaga.auth).status_code == 204
    assert client.get(f"/api/layers/{layer_id}/features").status_code == 404
    with app_db.session() as s:
        assert s.scalar(select(func.count()).select_from(Feature).where(Feature.layer_id == layer_id)) == 0
    assert client.delete(f"/api/layers/{layer_id}", headers=kaga.auth).status_code == 404


def test_downloads_geojson_and_csv_with_bom_and_neutralised_cells(client, app_people):
    rows = rows_of()[:4]
    rows[1][2] = "=HYPERLINK(\"http://evil.example\",\"click\")"
    rows[2][2] = "+81-76-000"
    rows[3][2] = "@SUM(A1)"
    rows[3][3] = "-2+3"
    layer_id = upload(client, app_people["kaga"], data=csv_bytes(rows), filename="x.csv").json["id"]
    gj = client.get(f"/api/layers/{layer_id}/download.geojson")
    assert gj.status_code == 200 and "attachment" in gj.headers["Content-Disposition"]
    assert orjson.loads(gj.data)["features"][0]["properties"]["名称"].startswith("=HYPERLINK")  # data unchanged
    resp = client.get(f"/api/layers/{layer_id}/download.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert table[0] == ["id", "市町", "医療圏", "名称", "所在地", "緯度", "経度"]
    assert [r[3] for r in table[1:]] == ["'=HYPERLINK(\"http://evil.example\",\"click\")", "'+81-76-000", "'@SUM(A1)"]
    assert table[3][4] == "'-2+3"
    assert float(table[1][5]) == pytest.approx(float(rows[1][4]), abs=1e-6)
    assert all(not c.startswith(("=", "+", "-", "@")) for r in table for c in r)


def test_openapi(client):
    spec = client.get("/api/openapi.json").json
    assert spec["openapi"].startswith("3.")
    for path, method in [("/api/layers", "post"), ("/api/layers/{layer_id}/data", "put"),
                         ("/api/layers/{layer_id}", "patch"), ("/api/layers/{layer_id}", "delete")]:
        op = spec["paths"][path][method]
        assert op["security"] == [{"bearer": []}]
        assert {"401", "403"} <= set(op["responses"])
        assert "{" not in path or "404" in op["responses"]
        assert method not in ("post", "put") or {"413", "415", "422"} <= set(op["responses"])
