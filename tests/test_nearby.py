"""Nearest AEDs and shelters, and the hazard classes at a point (no browser)."""
from __future__ import annotations

import math

import pytest

from layers import hazard, hazard_point
from layers.hazard_point import classify, hazard_at, tile_pixel
from layers.nearby import bearing_deg, direction_key, distance_m, nearest, parse_point
from refusal import Refused
from tests.hazard_tiles import TileServer, png

CITY_HALL = (36.514427, 136.565833)  # 白山市役所本庁舎 and 市民交流センター share this spot


@pytest.fixture
def tiles(monkeypatch, loopback_sources):
    server = TileServer().start()
    monkeypatch.setattr(hazard, "TILE_URL", server.url)
    yield server
    server.stop()


def test_distance_and_direction():
    # one minute of latitude is one nautical mile
    assert distance_m(36.0, 136.0, 36.0 + 1 / 60, 136.0) == pytest.approx(1853, rel=0.002)
    assert direction_key(bearing_deg(36.0, 136.0, 36.1, 136.0)) == "nearby.dir.n"
    assert direction_key(bearing_deg(36.0, 136.0, 36.0, 136.1)) == "nearby.dir.e"
    assert direction_key(bearing_deg(36.0, 136.0, 35.9, 135.9)) == "nearby.dir.sw"
    assert direction_key(bearing_deg(36.0, 136.0, 36.1, 135.88)) == "nearby.dir.nw"


def test_parse_point_refuses_nonsense():
    assert parse_point("36.5", "136.6") == (36.5, 136.6)
    for lat, lon in [("nan", "136"), ("91", "0"), ("x", "1"), (None, "1"), ("1e309", "1")]:
        with pytest.raises(Refused) as e:
            parse_point(lat, lon)
        assert e.value.status == 400


def test_nearest_aeds_are_sorted_and_match_a_full_scan(app_db):
    from settings import ROOT
    from sources.aed_csv import read_aed_csv

    feats = read_aed_csv((ROOT / "data/aed/hakusan_aed_cp932.csv").read_bytes(), source="x").features
    lat, lon = 36.53, 136.60
    truth = sorted(distance_m(lat, lon, f["geometry"]["coordinates"][1], f["geometry"]["coordinates"][0])
                   for f in feats)[:8]
    with app_db.session() as s:
        got = nearest(s, lat, lon, "aed", 8, "ja")
    assert [round(g["distance_m"], 1) for g in got] == [round(float(d), 1) for d in truth]
    assert all(a["distance_m"] <= b["distance_m"] for a, b in zip(got, got[1:]))
    assert got[0]["direction"] in ("北", "北東", "東", "南東", "南", "南西", "西", "北西")
    assert got[0]["distance_text"].endswith("m")


def test_both_aeds_of_one_spot_are_listed(app_db):
    with app_db.session() as s:
        got = nearest(s, *CITY_HALL, "aed", 3, "en")
    names = {g["name"] for g in got[:2]}
    assert names == {"白山市役所本庁舎", "市民交流センター"}
    assert got[0]["distance_m"] < 1 and got[0]["distance_text"] == "0 m"


def test_far_point_still_finds_the_nearest(app_db):
    with app_db.session() as s:  # the sea off Noto: the box widens until the nearest are surely in it
        got = nearest(s, 37.8, 137.5, "shelters", 2, "en")
    assert len(got) == 2 and got[0]["distance_m"] > 50_000 and got[0]["direction"] == "south-west"


def test_private_layers_are_never_used(app_db):
    from store.models import PRIVATE, PUBLIC, Layer

    with app_db.session() as s:
        s.get(Layer, "aed").visibility = PRIVATE
    try:
        with app_db.session() as s:
            assert nearest(s, *CITY_HALL, "aed", 3, "ja") == []
    finally:
        with app_db.session() as s:
            s.get(Layer, "aed").visibility = PUBLIC


def test_api_nearby(client):
    r = client.get(f"/api/nearby?lat={CITY_HALL[0]}&lon={CITY_HALL[1]}&limit=3&lang=en")
    assert r.status_code == 200
    body = r.get_json()
    assert len(body["aed"]) == 3 and len(body["shelters"]) == 3
    assert {"name", "lat", "lon", "distance_m", "direction", "bearing_deg"} <= set(body["aed"][0])
    for bad in ["lat=x&lon=1", "lat=1", "lat=1&lon=1&limit=0", "lat=1&lon=1&limit=999", "lat=1&lon=1&kind=secret"]:
        r = client.get("/api/nearby?" + bad)
        assert r.status_code == 400 and r.get_json()["error"]


def test_tile_pixel_matches_the_slippy_map_formula():
    tx, ty, px, py = tile_pixel(36.514427, 136.565833, 17)
    n = 2 ** 17
    assert tx == int((136.565833 + 180) / 360 * n)
    lat = math.radians(36.514427)
    assert ty == int((1 - math.log(math.tan(lat) + 1 / math.cos(lat)) / math.pi) / 2 * n)
    assert 0 <= px < 256 and 0 <= py < 256


def test_classify_colours():
    assert classify((0xFF, 0xD8, 0xC0, 255), hazard_point.DEPTH_CLASSES)[0] == "legend.depth.05_3"
    assert classify((0xFF, 0xB9, 0xB5, 255), hazard_point.DEPTH_CLASSES)[0] == "legend.depth.3_5"  # blended edge
    assert classify((0, 0, 0, 0), hazard_point.DEPTH_CLASSES) is None
    assert classify((10, 200, 10, 255), hazard_point.DEPTH_CLASSES) is None  # not a legend colour
    assert classify((0xFA, 0x28, 0x00, 255), hazard_point.SLOPE_CLASSES)[0] == "legend.sediment.slope_special"


def test_hazard_at_reads_each_overlay(tiles, dash_app):
    lat, lon = 36.52, 136.56
    tiles.paint("01_flood_l2_shinsuishin_data", lat, lon, "#FFB7B7")
    tiles.paint("05_kyukeishakeikaikuiki", lat, lon, "#FAE600", mode="P")
    tiles.paint("04_tsunami_newlegend_data", lat, lon, None)  # a tile, but nothing at the point
    # storm surge and debris flow: no tile at all (404)
    with dash_app.server.test_request_context():
        got = {h["key"]: h for h in hazard_at(lat, lon, "ja")["hazards"]}
    assert got["flood"]["status"] == "in" and got["flood"]["label"] == "3〜5m"
    assert got["sediment"]["status"] == "in" and got["sediment"]["label"] == "急傾斜地の崩壊 警戒区域"
    assert got["tsunami"]["status"] == "none" and got["storm_surge"]["status"] == "none"
    n = len(tiles.requests)
    with dash_app.server.test_request_context():
        hazard_at(lat, lon, "ja")
    assert len(tiles.requests) == n  # the second look comes from the cache


def test_hazard_at_offline_says_unknown(monkeypatch, dash_app):
    # nothing listens there: every tile fails, and the answer says "unknown", never "safe"
    monkeypatch.setattr(hazard, "TILE_URL", "http://127.0.0.1:9/raster/{id}/{{z}}/{{x}}/{{y}}.png")
    monkeypatch.setenv("SOURCE_HOSTS", "127.0.0.1")
    with dash_app.server.test_request_context():
        body = hazard_at(36.1, 136.2, "en")
    assert {h["status"] for h in body["hazards"]} == {"unknown"}
    assert "does not mean safe" in body["caveat"]


def test_hazard_tiles_go_through_the_outbound_guard(monkeypatch, dash_app):
    # loopback is refused unless SOURCE_HOSTS allows it
    server = TileServer().start()
    try:
        monkeypatch.setattr(hazard, "TILE_URL", server.url)
        monkeypatch.delenv("SOURCE_HOSTS", raising=False)
        server.paint("01_flood_l2_shinsuishin_data", 36.3, 136.3, "#FFB7B7")
        with dash_app.server.test_request_context():
            body = hazard_at(36.3, 136.3, "en")
        assert body["hazards"][0]["status"] == "unknown" and not server.requests
    finally:
        server.stop()


def test_api_hazard_at_and_png_helper(client, tiles):
    assert png("#FFD8C0")[:8] == b"\x89PNG\r\n\x1a\n"
    tiles.paint("03_hightide_l2_shinsuishin_data", 36.6, 136.6, "#F7F5A9")
    r = client.get("/api/hazard-at?lat=36.6&lon=136.6&lang=en")
    assert r.status_code == 200
    surge = [h for h in r.get_json()["hazards"] if h["key"] == "storm_surge"][0]
    assert surge["status"] == "in" and surge["label"] == "< 0.5 m"
    assert client.get("/api/hazard-at?lat=abc&lon=1").status_code == 400


def test_share_qr_is_an_svg_of_our_own_link(client):
    r = client.get("/api/share/qr.svg?path=/%3Flat%3D36.5%26lon%3D136.6%26z%3D12")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml" and b"<svg" in r.data
    for bad in ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "/" + "a" * 3000]:
        r = client.get("/api/share/qr.svg", query_string={"path": bad})
        assert r.status_code == 400 and r.get_json()["error"] == "bad_path"


def test_geocode_offline_is_a_clear_503(client, monkeypatch):
    from sources import geocode

    monkeypatch.setattr(geocode, "GEOCODE_URL", "http://127.0.0.1:9/address-search/AddressSearch")
    monkeypatch.setenv("SOURCE_HOSTS", "127.0.0.1")
    r = client.get("/api/geocode?q=白山市倉光", headers={"Accept-Language": "en"})
    assert r.status_code == 503 and "not available" in r.get_json()["message"]
    assert client.get("/api/geocode?q=").status_code == 400


def test_openapi_lists_the_place_routes(client):
    paths = client.get("/api/openapi.json").json["paths"]
    for route in ("/api/nearby", "/api/hazard-at", "/api/geocode", "/api/share/qr.svg"):
        assert route in paths and paths[route]["get"]["responses"]["200"]


def test_unavailable_layers_of_an_old_link():
    from components.map_state import unavailable_layers

    known = {"aed", "boundaries"}
    assert unavailable_layers({"layers": "aed,u-gone,boundaries,u-x"}, known) == ["u-gone", "u-x"]
    assert unavailable_layers({"layers": ""}, known) == [] and unavailable_layers({}, known) == []
    assert unavailable_layers({"layers": "x" * 500}, known) == ["x" * 60]


def test_uploaded_popup_defaults_and_colours():
    from types import SimpleNamespace

    from layers.uploaded import PALETTE, display_color, popup_for

    cols = ["name", "緯度", "経度", "folder", "description", "所在地"]
    layer = SimpleNamespace(id="u-abc", options={
        "color": "#1d70b8", "columns": cols,
        "popup": {"title": "name", "fields": [[c, c, c] for c in cols if c != "name"]}})
    ja = popup_for(layer, "ja")
    assert ja["title"] == "name" and ja["fields"] == [["description", "説明"], ["所在地", "所在地"]]
    assert popup_for(layer, "en")["fields"][0] == ["description", "Description"]
    # a label staff chose is kept, even for a coordinate column
    layer.options["popup"]["fields"].append(["緯度", "緯度（度）", "Latitude"])
    assert ["緯度", "Latitude"] in popup_for(layer, "en")["fields"]
    assert display_color(layer) in PALETTE
    others = {display_color(SimpleNamespace(id=f"u-{i}", options={})) for i in range(40)}
    assert len(others) == len(PALETTE) and "#1d70b8" not in others
    layer.options["color"] = "#aa3300"
    assert display_color(layer) == "#aa3300"


def test_geocode_online_through_the_guard(client, monkeypatch, dash_app, loopback_sources):
    """GSI's answer shape (a JSON list of GeoJSON-like features), from a loopback server."""
    import json
    from http.server import BaseHTTPRequestHandler

    from sources import geocode
    from tests.loopback import serve

    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.path)
            body = json.dumps([{"geometry": {"coordinates": [136.5658, 36.5144], "type": "Point"},
                                "type": "Feature",
                                "properties": {"addressCode": "", "title": "石川県白山市倉光二丁目"}},
                               {"geometry": {"coordinates": ["x", 1]}, "properties": {}}]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    with serve(Handler) as url:
        monkeypatch.setattr(geocode, "GEOCODE_URL", f"{url}/AddressSearch")
        r = client.get("/api/geocode", query_string={"q": "白山市倉光二丁目 テスト"})
        assert r.status_code == 200
        assert r.get_json()["results"] == [{"name": "石川県白山市倉光二丁目", "lat": 36.5144, "lon": 136.5658}]
        assert seen and "q=" in seen[0]


def test_nearest_shelters_can_leave_out_the_flood_area(app_db, tiles, dash_app):
    from layers.hazard_point import tile_pixel

    lat, lon = 36.3, 136.32
    with app_db.session() as s:
        plain = nearest(s, lat, lon, "shelters", 4, "ja")
    first = plain[0]
    tx, ty, _px, _py = tile_pixel(first["lat"], first["lon"])
    tiles.tiles[("01_flood_l2_shinsuishin_data", 17, tx, ty)] = png("#F7F5A9")
    with dash_app.server.test_request_context(), app_db.session() as s:
        dry = nearest(s, lat, lon, "shelters", 3, "ja", avoid_flood=True)
    assert first["id"] not in [d["id"] for d in dry] and len(dry) == 3
    assert [d["id"] for d in dry] == [p["id"] for p in plain[1:4]]  # the next nearest instead
    assert all(d["flood"] == "none" for d in dry)
    assert all(a["distance_m"] <= b["distance_m"] for a, b in zip(dry, dry[1:]))


def test_api_nearby_avoid(client):
    assert client.get("/api/nearby?lat=36.3&lon=136.3&avoid=nonsense").status_code == 400
    r = client.get("/api/nearby?lat=36.3&lon=136.3&kind=shelters&avoid=flood&limit=2")
    assert r.status_code == 200  # tiles out of reach: kept, marked unknown
    assert [x["flood"] for x in r.get_json()["shelters"]] == ["unknown", "unknown"]
