"""Flows a resident does on the public map, in headless Chromium (dash_duo)."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.browser_helpers import app_errors, click_when_still, free_port, popup_text, query, wait_until

pytestmark = pytest.mark.browser


def open_map(dash_duo, dash_app, path="/"):
    dash_duo.start_server(dash_app, port=free_port())
    if path != "/":
        dash_duo.driver.get(dash_duo.server_url + path)
    dash_duo.wait_for_element("#home-map", timeout=15)


def test_map_loads_with_clustered_aeds_and_sensors(dash_duo, dash_app, tmp_path_factory):
    dash_duo.driver.set_window_size(1400, 1100)  # the whole prefecture in view
    open_map(dash_duo, dash_app)
    clusters = dash_duo.wait_for_element(".map-cluster", timeout=15)
    assert clusters.text.strip().isdigit()
    counts = wait_until(lambda: [int(e.text) for e in dash_duo.find_elements(".map-cluster") if e.text.strip()],
                        what="cluster counts")
    assert sum(counts) + len(dash_duo.find_elements(".aed-marker")) == 211
    sensors = wait_until(lambda: dash_duo.find_elements(".snow-marker"), what="snow sensors")
    assert len(sensors) == 10
    assert all(s.text.strip() for s in sensors)  # each shows its depth (or – without data)
    assert len(dash_duo.find_elements(".leaflet-overlay-pane path")) >= 19  # the municipal outlines
    # Japanese panel with a legend for every default layer
    assert dash_duo.find_element(".app-title").text == "石川県 データ連携基盤 マップ"
    legend = dash_duo.find_element("#home-legend").text
    for word in ["市町境界", "AED設置場所", "積雪深（センサー）", "100cm以上"]:
        assert word in legend
    shots = tmp_path_factory.mktemp("screenshots")
    dash_duo.driver.save_screenshot(str(shots / "public_map.png"))
    print("screenshot:", shots / "public_map.png")
    assert not app_errors(dash_duo)


def test_sensor_popup_shows_value_time_and_history_link(dash_duo, dash_app):
    open_map(dash_duo, dash_app)
    sensor = wait_until(lambda: dash_duo.find_elements(".snow-marker"), what="sensors")[0]
    # Hakui's sensors overlap at the default zoom: click this one's own element
    dash_duo.driver.execute_script("arguments[0].click()", sensor)
    text = popup_text(dash_duo, "観測時刻")
    assert "積雪深" in text and "cm" in text
    popup = dash_duo.find_element(".leaflet-popup-content .popup")
    link = popup.find_element(By.CSS_SELECTOR, "a.popup-link")
    assert link.text == "観測履歴を見る" and "/sensors?sensor=snow-" in link.get_attribute("href")
    click_when_still(dash_duo, link)
    dash_duo.wait_for_element("#sensors-graph .main-svg", timeout=15)
    assert "最新値" in dash_duo.find_element("#sensors-summary").text


def test_hazard_overlay_toggles_on_and_off(dash_duo, dash_app):
    open_map(dash_duo, dash_app)
    tiles = 'img.leaflet-tile[src*="01_flood_l2_shinsuishin_data"]'
    assert not dash_duo.find_elements(tiles)
    checkbox = dash_duo.find_element('input[value="hazard-flood"]')
    checkbox.click()
    wait_until(lambda: dash_duo.find_elements(tiles), what="flood tiles")
    dash_duo.wait_for_contains_text("#home-legend", "洪水浸水想定区域（想定最大規模）")
    assert "20m以上" in dash_duo.find_element("#home-legend").text
    assert "hazard-flood" in wait_until(lambda: query(dash_duo).get("layers"), what="url")
    # the tsunami layer shares the depth colours: choosing it turns the flood layer off
    dash_duo.find_element('input[value="hazard-tsunami"]').click()
    wait_until(lambda: not dash_duo.find_element('input[value="hazard-flood"]').is_selected(), what="exclusive")
    wait_until(lambda: not dash_duo.find_elements(tiles), what="flood tiles gone")
    dash_duo.find_element('input[value="hazard-tsunami"]').click()
    wait_until(lambda: not dash_duo.find_elements('img.leaflet-tile[src*="04_tsunami"]'), what="tsunami gone")
    assert "洪水浸水" not in dash_duo.find_element("#home-legend").text


def test_language_switch_changes_the_panel(dash_duo, dash_app):
    open_map(dash_duo, dash_app)
    dash_duo.wait_for_contains_text("#home-legend", "AED設置場所")
    link = dash_duo.find_element("#home-lang-link")
    assert link.text == "English"
    wait_until(lambda: "lang=en" in (link.get_attribute("href") or ""), what="link state")
    link.click()
    dash_duo.wait_for_contains_text(".app-title", "Ishikawa Data Platform Map", timeout=15)
    panel = dash_duo.find_element("#home-panel").text
    for word in ["Layers", "Base map", "AED locations", "Disaster prevention", "Legend"]:
        assert word in panel
    assert "AED設置場所" not in panel
    assert dash_duo.find_element("#home-lang-link").text == "日本語"
    assert query(dash_duo)["lang"] == "en"


def test_shared_url_restores_the_view(dash_duo, dash_app):
    path = "/?lat=36.30000&lon=136.35000&z=12&layers=hazard-tsunami,snow-depth&base=pale&lang=en"
    open_map(dash_duo, dash_app, path)
    dash_duo.wait_for_contains_text(".app-title", "Ishikawa")
    assert dash_duo.find_element('input[value="hazard-tsunami"]').is_selected()
    assert dash_duo.find_element('input[value="snow-depth"]').is_selected()
    assert not dash_duo.find_element('input[value="aed"]').is_selected()
    assert dash_duo.find_element('#home-basemap input[value="pale"]').is_selected()
    wait_until(lambda: dash_duo.find_elements('img.leaflet-tile[src*="/pale/12/"]'), what="pale tiles at z12")
    assert not dash_duo.find_elements(".map-cluster")
    # the page writes back what the map really shows: the same view
    q = wait_until(lambda: query(dash_duo) if "z" in query(dash_duo) else None, what="url sync")
    assert q["z"] == "12" and abs(float(q["lat"]) - 36.3) < 1e-3 and abs(float(q["lon"]) - 136.35) < 1e-3
    assert q["layers"] == "hazard-tsunami,snow-depth" and q["base"] == "pale"


def test_phone_width_panel_is_a_drawer(dash_duo, dash_app):
    # a real 375 px viewport (a desktop window cannot be made that narrow)
    dash_duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": 375, "height": 740, "deviceScaleFactor": 2, "mobile": True})
    open_map(dash_duo, dash_app)
    assert dash_duo.driver.execute_script("return window.innerWidth") == 375
    panel = dash_duo.find_element("#home-panel")
    wait_until(lambda: panel.rect["x"] + panel.rect["width"] <= 0, what="panel hidden")
    map_el = dash_duo.find_element("#home-map")
    assert 370 <= map_el.rect["width"] <= 375
    title = dash_duo.find_element(".app-title")
    assert title.rect["x"] + title.rect["width"] <= dash_duo.find_element("#home-lang-link").rect["x"]
    dash_duo.find_element("#home-panel-toggle").click()
    wait_until(lambda: panel.rect["x"] >= 0, what="panel open")
    assert dash_duo.find_element('input[value="aed"]').is_displayed()
    dash_duo.find_element("#home-panel-close").click()
    wait_until(lambda: panel.rect["x"] + panel.rect["width"] <= 0, what="panel closed")


def test_panel_links_to_the_other_public_pages(dash_duo, dash_app):
    open_map(dash_duo, dash_app, "/?lang=en")
    for name, path in [("snow", "/snow"), ("sensors", "/sensors"), ("subscribe", "/alerts/subscribe")]:
        link = dash_duo.find_element(f"#home-link-{name}")
        assert link.get_attribute("href").endswith(f"{path}?lang=en") and link.text
    dash_duo.find_element("#home-link-subscribe").click()
    wait_until(lambda: "/alerts/subscribe" in dash_duo.driver.current_url, what="subscribe page")
