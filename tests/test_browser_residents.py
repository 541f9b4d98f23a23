"""What a resident does on the public map, in headless Chromium: AEDs at one spot, points under
outlines, checking a place (hazards there, the nearest AEDs and shelters), sharing, old links."""
from __future__ import annotations

import json
import time

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.by import By

from tests.browser_helpers import app_errors, free_port, popup_over_controls, popup_text, query, wait_until

pytestmark = pytest.mark.browser

CITY_HALL = (36.514427, 136.565833)  # 白山市役所本庁舎 and 市民交流センター share this spot


def open_map(dash_duo, dash_app, path="/"):
    if not getattr(dash_duo, "server_url", None):
        dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.get(dash_duo.server_url + path)
    dash_duo.wait_for_element("#home-map", timeout=15)


def test_aeds_at_one_spot_spread_out_so_each_opens(dash_duo, dash_app):
    open_map(dash_duo, dash_app, f"/?lat={CITY_HALL[0]}&lon={CITY_HALL[1]}&z=18&layers=aed")
    cluster = wait_until(lambda: [c for c in dash_duo.find_elements(".aed-cluster") if c.text.strip() == "2"],
                         what="the two AEDs of the city hall as one count")[0]
    cluster.click()
    hall = wait_until(lambda: [m for m in dash_duo.find_elements(".aed-marker")
                               if m.get_attribute("title") == "白山市役所本庁舎"], what="spread-out markers")[0]
    other = [m for m in dash_duo.find_elements(".aed-marker") if m.get_attribute("title") == "市民交流センター"]
    assert other and hall.location != other[0].location
    hall.click()
    popup_text(dash_duo, "白山市役所本庁舎")
    assert not app_errors(dash_duo)


def _upload_points(client, app_db) -> str:
    from tests.staff_helpers import make_person, upload

    person = make_person(app_db, "hakui")
    # points inside 羽咋市, drawn as circles (SVG, like the outlines)
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [136.775 + i * 0.01, 36.89]},
              "properties": {"name": f"集合場所{i}", "緯度": "36.89000000", "経度": f"{136.775 + i * 0.01:.8f}",
                             "folder": "kml-folder", "description": "駐車場の奥"}} for i in range(3)]
    body = json.dumps({"type": "FeatureCollection", "features": feats}).encode()
    r = upload(client, person, data=body, filename="points.geojson", name="集合場所", name_en="Meeting points")
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.get_json()["id"]


def test_outlines_never_take_taps_from_points(dash_duo, dash_app, app_db):
    layer_id = _upload_points(dash_app.server.test_client(), app_db)
    path = f"/?lat=36.89&lon=136.785&z=13&layers=boundaries,{layer_id}"
    for attempt in range(4):  # the layers load in any order: every load must behave
        open_map(dash_duo, dash_app, path)
        wait_until(lambda: len(dash_duo.find_elements(".leaflet-overlay-pane path")) >= 19, what="outlines")
        points = wait_until(lambda: dash_duo.find_elements("path.uploaded-point"), what="points")
        # no outline is a click target; a real click at the point opens its popup
        assert not dash_duo.find_elements(".leaflet-overlay-pane path.leaflet-interactive:not(.uploaded-point)")
        ActionChains(dash_duo.driver).move_to_element(points[attempt % len(points)]).click().perform()
        popup = popup_text(dash_duo, "集合場所", css=".leaflet-popup-content .popup")
        # sensible defaults: no coordinates, no KML folder, raw 'description' under a plain label
        assert "緯度" not in popup and "folder" not in popup and "kml-folder" not in popup
        assert "説明" in popup and "駐車場の奥" in popup and "description" not in popup
    # its default colour is its own, not the blue of the snow sensors
    fill = dash_duo.find_elements("path.uploaded-point")[0].get_attribute("fill").lower()
    assert fill not in ("#1d70b8", "#4292c6", "#d7263d")


@pytest.fixture
def hazard_tiles(monkeypatch, dash_app, loopback_sources):
    from layers import hazard
    from tests.hazard_tiles import TileServer

    server = TileServer().start()
    monkeypatch.setattr(hazard, "TILE_URL", server.url)
    yield server
    server.stop()


def test_check_a_tapped_place_hazards_and_nearest(dash_duo, dash_app, hazard_tiles, monkeypatch):
    from layers import hazard_point

    # a small flood tile (3–5 m) and a sediment tile at the place; nothing else there
    lat, lon = 36.5205, 136.5705
    tx, ty, _px, _py = hazard_point.tile_pixel(lat, lon)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            hazard_tiles.tiles[("01_flood_l2_shinsuishin_data", 17, tx + dx, ty + dy)] = \
                __import__("tests.hazard_tiles", fromlist=["png"]).png("#FFB7B7")
            hazard_tiles.tiles[("05_dosekiryukeikaikuiki", 17, tx + dx, ty + dy)] = \
                __import__("tests.hazard_tiles", fromlist=["png"]).png("#A50021", mode="P")
    open_map(dash_duo, dash_app, f"/?lat={lat}&lon={lon}&z=17&layers=&lang=ja")
    dash_duo.find_element("#home-tools-open").click()
    dash_duo.wait_for_element("#home-tool-tap").click()
    dash_duo.wait_for_contains_text("#home-notice", "タップ")  # the card steps aside for the tap
    wait_until(lambda: not dash_duo.find_element("#home-info").is_displayed(), what="card aside")
    map_el = dash_duo.find_element("#home-map")
    ActionChains(dash_duo.driver).move_to_element(map_el).click().perform()  # the map's centre
    flood = dash_duo.wait_for_element('#home-hazard li[data-hazard="flood"]', timeout=15)
    assert flood.get_attribute("data-status") == "in" and "3〜5m" in flood.text
    sediment = dash_duo.find_element('#home-hazard li[data-hazard="sediment"]')
    assert "土石流 特別警戒区域" in sediment.text
    assert dash_duo.find_element('#home-hazard li[data-hazard="tsunami"]').get_attribute("data-status") == "none"
    assert "安全を意味しません" in dash_duo.find_element("#home-hazard").text
    assert "ハザードマップポータルサイト" in dash_duo.find_element("#home-hazard").text
    # the nearest AEDs, sorted, with distance and direction; a tap shows one on the map
    items = dash_duo.find_elements("#home-near-aed .near-item")
    assert len(items) == 5
    dists = [i.find_element(By.CSS_SELECTOR, ".near-dist").text for i in items]
    assert all(("m" in d) and any(w in d for w in "北東南西") for d in dists)
    assert dash_duo.find_elements("#home-near-shelters .near-item")
    assert dash_duo.find_elements(".point-marker")
    before = query(dash_duo)
    items[2].click()
    wait_until(lambda: query(dash_duo).get("z") == "18" and query(dash_duo).get("lat") != before.get("lat"),
               what="the map moved to the AED")
    assert not app_errors(dash_duo)


def test_check_my_location_and_address_search_offline(dash_duo, dash_app, monkeypatch):
    from sources import geocode

    monkeypatch.setattr(geocode, "GEOCODE_URL", "http://127.0.0.1:9/address-search/AddressSearch")
    open_map(dash_duo, dash_app, "/?lang=en")
    dash_duo.driver.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": dash_duo.server_url, "permissions": ["geolocation"]})
    dash_duo.driver.execute_cdp_cmd("Emulation.setGeolocationOverride", {
        "latitude": CITY_HALL[0], "longitude": CITY_HALL[1], "accuracy": 10})
    dash_duo.find_element("#home-tools-open").click()
    dash_duo.wait_for_element("#home-tool-locate").click()
    first = dash_duo.wait_for_element("#home-near-aed .near-item", timeout=15)
    name = first.find_element(By.CSS_SELECTOR, ".near-name").text.splitlines()[0]
    assert name in ("白山市役所本庁舎", "市民交流センター")
    assert "Your location" in dash_duo.find_element("#home-info-results").text
    wait_until(lambda: query(dash_duo).get("z") == "15", what="the map flew to the location")
    # address search needs the internet: offline it says so, and the rest keeps working
    box = dash_duo.find_element("#home-address")
    box.send_keys("白山市倉光二丁目1")
    dash_duo.find_element("#home-address-go").click()
    dash_duo.wait_for_contains_text("#home-info-msg", "not available", timeout=10)
    assert dash_duo.find_elements("#home-near-aed .near-item")


def test_share_copies_the_link_and_shows_a_qr_code(dash_duo, dash_app):
    open_map(dash_duo, dash_app, "/?lat=36.5&lon=136.6&z=12&layers=aed&lang=en")
    wait_until(lambda: "z" in query(dash_duo), what="url sync")
    dash_duo.find_element("#home-share-open").click()
    url = wait_until(lambda: dash_duo.find_element("#home-share-url").get_attribute("value"), what="link")
    assert url.startswith(dash_duo.server_url) and "z=12" in url and "layers=aed" in url
    qr = dash_duo.find_element("#home-share-qr")
    wait_until(lambda: dash_duo.driver.execute_script("return arguments[0].naturalWidth", qr) > 0, what="QR")
    assert "/api/share/qr.svg?path=" in qr.get_attribute("src")
    dash_duo.find_element("#home-share-copy").click()
    wait_until(lambda: dash_duo.find_element("#home-share-copied").text, what="copy answer")
    assert dash_duo.find_element("#home-share-copied").text in ("Copied",
                                                                "Could not copy; select the link and copy it.")
    dash_duo.find_element("#home-share-close").click()
    wait_until(lambda: not dash_duo.find_element("#home-share").is_displayed(), what="closed")
    assert not app_errors(dash_duo)


def test_old_link_to_a_private_layer_says_so(dash_duo, dash_app, app_db):
    from store.models import PRIVATE, Layer

    layer_id = _upload_points(dash_app.server.test_client(), app_db)
    with app_db.session() as s:
        s.get(Layer, layer_id).visibility = PRIVATE
    open_map(dash_duo, dash_app, f"/?lat=36.89&lon=136.78&z=12&layers={layer_id}")
    notice = dash_duo.wait_for_element("#home-notice p").text
    assert layer_id in notice and "既定のレイヤー" in notice
    assert dash_duo.find_element('input[value="aed"]').is_selected()  # the default layers instead
    # an unknown layer reads exactly the same (a private layer's existence is not given away)
    open_map(dash_duo, dash_app, "/?layers=u-0000000000")
    text = dash_duo.wait_for_element("#home-notice p").text
    assert text.replace("u-0000000000", layer_id) == notice
    time.sleep(0.2)


def test_shelter_popup_says_which_hazards_its_spot_lies_in(dash_duo, dash_app, hazard_tiles):
    import json as _json

    from settings import ROOT
    from tests.hazard_tiles import png

    feat = _json.loads((ROOT / "data/shelters/gsi_evacuation_172073_hakui.geojson").read_text())["features"][0]
    lon, lat = feat["geometry"]["coordinates"]
    from layers.hazard_point import tile_pixel

    tx, ty, _px, _py = tile_pixel(lat, lon)
    hazard_tiles.tiles[("04_tsunami_newlegend_data", 17, tx, ty)] = png("#FFD8C0")
    open_map(dash_duo, dash_app, f"/?lat={lat}&lon={lon}&z=18&layers=shelters")
    name = feat["properties"]["施設・場所名"]
    marker = wait_until(lambda: [m for m in dash_duo.find_elements(".square-marker")
                                 if m.get_attribute("title") == name], what="the shelter")[0]
    dash_duo.driver.execute_script("arguments[0].click()", marker)
    text = popup_text(dash_duo, "この場所の想定", timeout=15)
    assert feat["properties"]["施設・場所名"] in text
    assert "津波浸水想定" in text and "0.5〜3m" in text and "安全を意味しません" in text


def test_phone_aed_popup_opens_clear_of_the_map_buttons(dash_duo, dash_app):
    dash_duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": 375, "height": 740, "deviceScaleFactor": 2, "mobile": True})
    # an AED close to the top-left corner, where the zoom / full-screen / location buttons are
    open_map(dash_duo, dash_app, "/?lat=36.50900&lon=136.57600&z=16&layers=aed")
    markers = wait_until(lambda: [m for m in dash_duo.find_elements(".aed-marker")
                                  if m.rect["y"] < 260 and m.rect["x"] < 160], what="an AED near the buttons")
    dash_duo.driver.execute_script("arguments[0].click()", markers[0])
    dash_duo.wait_for_element(".leaflet-popup-content-wrapper", timeout=10)
    assert popup_over_controls(dash_duo, "#home-map") == []



def test_desktop_popup_opens_below_the_tools_over_the_map(dash_duo, dash_app):
    # "check a place" and "share" sit over the map's top-right corner on wide screens
    open_map(dash_duo, dash_app, "/?lat=36.50900&lon=136.57600&z=16&layers=aed")
    marker = wait_until(lambda: dash_duo.find_elements("#home-map .aed-marker"), what="AEDs")[0]
    boxes = ("var m = arguments[0].getBoundingClientRect(),"
             " t = document.querySelector('.map-tools').getBoundingClientRect();")
    spot = dash_duo.driver.execute_script(
        boxes + "return [m.left + m.width / 2, m.top + m.height / 2, t.left + t.width / 2, t.bottom + 12];", marker)
    # drag the map so that the AED sits just under the tools
    builder = ActionBuilder(dash_duo.driver)
    drag = builder.pointer_action
    drag.move_to_location(int(spot[0]), int(spot[1]) + 25).pointer_down()
    for step in range(1, 11):  # slowly, and still before letting go: no throw of the map
        drag.move_to_location(int(spot[0] + (spot[2] - spot[0]) * step / 10),
                              int(spot[1] + 25 + (spot[3] - spot[1]) * step / 10)).pause(0.05)
    drag.pause(0.4).pointer_up()
    builder.perform()
    wait_until(lambda: dash_duo.driver.execute_script(
        boxes + "return m.top < t.bottom + 40 && m.right > t.left;", marker), what="the AED under the tools")
    time.sleep(1)  # the map reports the move to Dash, which hands the view back a moment later
    ActionChains(dash_duo.driver).move_to_element(marker).click().perform()  # a real tap: the map was dragged
    dash_duo.wait_for_element(".leaflet-popup-content-wrapper", timeout=10)
    assert popup_over_controls(dash_duo, "#home-map", also=".map-tools .map-tool") == []
