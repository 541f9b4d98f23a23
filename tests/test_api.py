import orjson
import pytest


def test_layer_list(client):
    r = client.get("/api/layers")
    assert r.status_code == 200
    layers = {layer["id"]: layer for layer in r.get_json()["layers"]}
    assert {"boundaries", "aed", "snow-depth", "hazard-flood", "hazard-sediment", "hazard-tsunami",
            "hazard-storm-surge", "shelters"} <= set(layers)
    aed = layers["aed"]
    assert aed["name"] == {"ja": "AED設置場所", "en": "AED locations"}
    assert aed["kind"] == "aed" and aed["feature_count"] == 211
    assert aed["organisation"]["name"]["ja"] == "石川県"
    assert aed["updated_at"].endswith("+00:00")
    assert "白山市" in aed["attribution"]["ja"] and aed["license"]
    assert layers["snow-depth"]["feature_count"] == 10
    assert layers["hazard-flood"]["tiles"][0].startswith("https://disaportaldata.gsi.go.jp/raster/01_flood_l2")
    assert "features_url" not in layers["hazard-flood"]


def test_features_geojson_and_bbox(client):
    r = client.get("/api/layers/aed/features")
    assert r.status_code == 200 and r.mimetype == "application/geo+json"
    fc = orjson.loads(r.data)
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 211
    # 白山市's old centre (松任) only
    r = client.get("/api/layers/aed/features?bbox=136.55,36.50,136.60,36.54")
    small = orjson.loads(r.data)["features"]
    assert 0 < len(small) < 211
    for f in small:
        lon, lat = f["geometry"]["coordinates"]
        assert 136.55 <= lon <= 136.60 and 36.50 <= lat <= 36.54
    r = client.get("/api/layers/aed/features?bbox=130,30,131,31")
    assert orjson.loads(r.data)["features"] == []


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "136,36,135,37", "136,91,137,92", "nan,1,2,3", "1,2,3,4,5"])
def test_bad_bbox_is_400_with_message(client, bbox):
    r = client.get(f"/api/layers/aed/features?bbox={bbox}")
    assert r.status_code == 400
    body = r.get_json()
    assert body["error"] == "bad_bbox" and "bbox" in body["message"] and body["details"]


def test_error_language_follows_request(client):
    ja = client.get("/api/layers/aed/features?bbox=x").get_json()["message"]
    en = client.get("/api/layers/aed/features?bbox=x", headers={"Accept-Language": "en-US,en"}).get_json()
    assert "最小経度" in ja and en["message"].startswith("bbox must be")


def test_unknown_and_private_layers_are_404(client, private_layer):
    for layer_id in ["no-such-layer", private_layer]:
        r = client.get(f"/api/layers/{layer_id}/features")
        assert r.status_code == 404 and r.get_json()["error"] == "not_found"
    assert private_layer not in [x["id"] for x in client.get("/api/layers").get_json()["layers"]]
    # the two answers are identical, so a private layer's existence does not leak
    assert client.get(f"/api/layers/{private_layer}/features").data == client.get(
        "/api/layers/no-such-layer/features").data


def test_tile_layers_have_no_features(client):
    r = client.get("/api/layers/hazard-flood/features")
    assert r.status_code == 404


def test_features_are_cached_per_version(client, dash_app, monkeypatch):
    from registry import LAYER_KINDS as KINDS

    calls = []
    original = KINDS["shelters"].features
    monkeypatch.setattr(KINDS["shelters"], "features", lambda *a, **k: calls.append(1) or original(*a, **k))
    first = client.get("/api/layers/shelters/features?bbox=136.7,36.8,136.9,37.0")
    second = client.get("/api/layers/shelters/features?bbox=136.7,36.8,136.9,37.0")
    assert first.data == second.data and len(calls) <= 1
    etag = first.headers["ETag"]
    again = client.get("/api/layers/shelters/features?bbox=136.7,36.8,136.9,37.0", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_versioned_urls_are_immutable(client):
    version = client.get("/api/layers/aed/features").headers["ETag"].strip('"').rsplit("-", 1)[1]
    r = client.get(f"/api/layers/aed/features?v={version}")
    assert "immutable" in r.headers["Cache-Control"]
    assert "immutable" not in client.get("/api/layers/aed/features?v=0").headers["Cache-Control"]


def test_responses_are_compressed(client):
    r = client.get("/api/layers/boundaries/features", headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("Content-Encoding") == "gzip"


def test_healthz(client, dash_app):
    # the demo feed ran just now (the session's app was built minutes ago: its first run may be stale)
    from sources import demo_snow
    from store.db import utcnow

    server = dash_app.server
    demo_snow.tick(server.extensions["ishikawa.db"], server.extensions["ishikawa.settings"].data_path, utcnow())
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ok" and body["database"]["ok"] is True
    assert body["feeds"]["demo-snow"]["status"] == "ok"


def test_healthz_reports_a_broken_database(tmp_path):
    from flask import Flask

    from api.public import bp
    from store.db import Database

    server = Flask(__name__)
    server.extensions["ishikawa.db"] = Database("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    from settings import Settings
    from store.cache import init_cache

    init_cache(server, Settings.from_env({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x",
                                          "INSTANCE_PATH": str(tmp_path)}))
    server.register_blueprint(bp, name="public_api_broken")
    r = server.test_client().get("/healthz")
    assert r.status_code == 503
    assert r.get_json()["database"]["ok"] is False


def test_sensor_readings(client):
    r = client.get("/api/sensors/snow-hakui-01/readings")
    assert r.status_code == 200
    body = r.get_json()
    assert body["sensor"]["name"]["ja"] == "羽咋市 羽咋小学校"
    assert len(body["readings"]) >= 100  # the first start backfills the last 24 hours
    assert client.get("/api/sensors/none/readings").status_code == 404
    assert client.get("/api/sensors/snow-hakui-01/readings?since=yesterday").status_code == 400


def test_outlines_are_simplified_for_low_zoom(client):
    full = client.get("/api/layers/boundaries/features").data
    low = client.get("/api/layers/boundaries/features?zoom=9").data
    mid = client.get("/api/layers/boundaries/features?zoom=11").data
    assert len(low) < len(mid) < len(full) and len(low) < len(full) / 3
    fc = orjson.loads(low)
    assert len(fc["features"]) == 19  # every municipality is still there
    assert {f["properties"]["name"] for f in fc["features"]} >= {"加賀市", "羽咋市", "能美市", "金沢市"}
    assert client.get("/api/layers/boundaries/features?zoom=18").data == full


@pytest.mark.parametrize("zoom", ["-1", "abc", "99", "1.5"])
def test_bad_zoom_is_400(client, zoom):
    r = client.get(f"/api/layers/boundaries/features?zoom={zoom}")
    assert r.status_code == 400 and r.get_json()["error"] == "bad_zoom"
