"""Snow removal in headless Chromium: the /snow live page and the public 除雪状況 layer."""
from __future__ import annotations

from datetime import timedelta

import pytest
from selenium.webdriver.common.keys import Keys

from layers.snowplow import BAND_COLORS, NOT_CLEARED_COLOR
from tests.browser_helpers import app_errors, free_port, wait_until

pytestmark = pytest.mark.browser
_FED = {}


@pytest.fixture
def plows(dash_app, app_db):
    """The demo fleet's last 24 hours in the session's store (once per session)."""
    from sources import demo_plows
    from store.db import utcnow

    settings = dash_app.server.extensions["ishikawa.settings"]
    if not _FED:
        demo_plows.tick(app_db, settings.data_path, utcnow())
        _FED["done"] = True
    return lambda ahead_s: demo_plows.tick(app_db, settings.data_path, utcnow() + timedelta(seconds=ahead_s))


def count(dash_duo, css: str) -> int:
    """Elements matching css, counted in the page (the map re-renders under our feet)."""
    return dash_duo.driver.execute_script("return document.querySelectorAll(arguments[0]).length", css)


def road_paths(dash_duo, color=None) -> int:
    css = "#snow-map path.leaflet-interactive" if color is None else f'#snow-map path[stroke="{color}"]'
    return count(dash_duo, css)


def marker_positions(dash_duo) -> dict:
    return dash_duo.driver.execute_script(
        "var o = {}; document.querySelectorAll('#snow-map .plow-marker').forEach(function (m) {"
        " o[m.getAttribute('title')] = m.style.transform; }); return o;")


def text(dash_duo, css: str) -> str:
    return dash_duo.driver.execute_script(
        "var e = document.querySelector(arguments[0]); return e ? e.innerText : '';", css)


def test_snow_page_shows_roads_plows_and_they_move(dash_duo, dash_app, plows, tmp_path_factory):
    dash_duo.driver.set_window_size(1400, 1000)
    dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.get(dash_duo.server_url + "/snow")
    dash_duo.wait_for_element("#snow-map", timeout=15)
    wait_until(lambda: road_paths(dash_duo) > 1000, timeout=20, what="road segments")
    coloured = sum(road_paths(dash_duo, c) for c in BAND_COLORS)
    assert coloured > 500  # a day of plowing: most roads carry a cleared colour
    wait_until(lambda: len(marker_positions(dash_duo)) >= 12, timeout=15, what="plow markers")
    wait_until(lambda: count(dash_duo, "#snow-vehicles tbody tr") >= 13, what="vehicle rows")
    table = text(dash_duo, "#snow-vehicles")
    assert "hakui-01" in table and ("走行中" in table or "停車中" in table) and "除外" in table
    assert "最終更新" in dash_duo.find_element("#snow-badge").text
    assert "全体" in dash_duo.find_element("#snow-progress").text
    assert count(dash_duo, "#snow-progress-bars .bar-route .bar-fill") >= 10
    assert count(dash_duo, "#snow-map path:not(.leaflet-interactive)") >= 10  # 30-minute trails
    before = marker_positions(dash_duo)
    before_table = text(dash_duo, "#snow-vehicles")
    plows(20)  # the next fixes arrive
    moved = wait_until(lambda: [k for k, v in marker_positions(dash_duo).items() if k in before and before[k] != v],
                       timeout=20, what="plows moving")
    assert len(moved) >= 6
    wait_until(lambda: text(dash_duo, "#snow-vehicles") != before_table, what="table update")
    shots = tmp_path_factory.mktemp("screenshots")
    dash_duo.driver.save_screenshot(str(shots / "snow.png"))
    print("screenshot:", shots / "snow.png")
    assert not app_errors(dash_duo)


def test_slider_replays_the_roads_of_a_past_moment(dash_duo, dash_app, plows):
    dash_duo.driver.set_window_size(1400, 1000)
    dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.get(dash_duo.server_url + "/snow?lang=en")
    dash_duo.wait_for_element("#snow-map", timeout=15)
    wait_until(lambda: road_paths(dash_duo) > 1000, timeout=20, what="road segments")
    live_red = road_paths(dash_duo, NOT_CLEARED_COLOR)
    total = road_paths(dash_duo)
    assert live_red < total / 2
    assert dash_duo.find_element("#snow-mode").text == "Live"
    thumb = dash_duo.find_element('#snow-time [role="slider"]')
    thumb.click()
    thumb.send_keys(Keys.HOME)  # 24 hours back: the demo's night had not started
    wait_until(lambda: "Replaying" in dash_duo.find_element("#snow-mode").text, timeout=15, what="replay mode")
    wait_until(lambda: road_paths(dash_duo, NOT_CLEARED_COLOR) > total * 0.9, timeout=15, what="replayed colours")
    for _ in range(48):  # 12 hours later in the replay, part of the network is cleared again
        thumb.send_keys(Keys.ARROW_RIGHT)
    wait_until(lambda: 0 < road_paths(dash_duo, NOT_CLEARED_COLOR) < total * 0.9, timeout=15, what="half-way")
    # play: the replayed moment moves forward by itself, pause stops it
    paused_at = text(dash_duo, "#snow-mode")
    dash_duo.find_element("#snow-play-button").click()
    wait_until(lambda: text(dash_duo, "#snow-play-button").startswith("⏸"), what="playing")
    wait_until(lambda: text(dash_duo, "#snow-mode") != paused_at, timeout=15, what="replay advancing")
    dash_duo.find_element("#snow-play-button").click()
    wait_until(lambda: text(dash_duo, "#snow-play-button").startswith("▶"), what="paused")
    assert "Replaying" in text(dash_duo, "#snow-mode")
    dash_duo.find_element("#snow-live-button").click()
    wait_until(lambda: dash_duo.find_element("#snow-mode").text == "Live", timeout=15, what="live again")
    wait_until(lambda: road_paths(dash_duo, NOT_CLEARED_COLOR) <= live_red + 20, timeout=15, what="live colours")
    assert not app_errors(dash_duo)


def test_public_map_snow_removal_layer_toggles(dash_duo, dash_app, plows, tmp_path_factory):
    dash_duo.driver.set_window_size(1400, 1000)
    dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.get(dash_duo.server_url + "/?layers=boundaries&lat=36.93&lon=136.80&z=11")
    dash_duo.wait_for_element("#home-map", timeout=15)
    box = dash_duo.find_element('input[value="snow-removal"]')
    label = dash_duo.driver.execute_script(
        "return document.querySelector('input[value=\"snow-removal\"]').closest('label').innerText")
    assert label.strip() == "除雪状況"
    coloured = lambda: sum(count(dash_duo, f'#home-map path[stroke="{c}"]')  # noqa: E731
                           for c in BAND_COLORS + [NOT_CLEARED_COLOR])
    assert coloured() == 0
    box.click()
    wait_until(lambda: coloured() > 1000, timeout=20, what="road colours")
    wait_until(lambda: sum(count(dash_duo, f'#home-map path[stroke="{c}"]') for c in BAND_COLORS) > 500,
               timeout=20, what="cleared colours from the status API")
    legend = dash_duo.find_element("#home-legend").text
    assert "除雪状況" in legend and "除雪後 1時間未満" in legend and "24時間以内の除雪なし" in legend
    assert not dash_duo.find_elements("#home-map .plow-marker")  # residents see roads, not vehicles
    shots = tmp_path_factory.mktemp("screenshots")
    dash_duo.driver.save_screenshot(str(shots / "public_snow.png"))
    print("screenshot:", shots / "public_snow.png")
    dash_duo.find_element('input[value="snow-removal"]').click()
    wait_until(lambda: coloured() == 0, timeout=15, what="layer off")
    assert not app_errors(dash_duo)
