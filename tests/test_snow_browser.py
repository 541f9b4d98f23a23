"""Snow removal in headless Chromium: the /snow live page and the public 除雪状況 layer."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from selenium.webdriver.common.keys import Keys

from layers.snow.style import BAND_COLORS, NOT_CLEARED_COLOR, TRAIL_COLORS
from tests.browser_helpers import app_errors, free_port, text, wait_until

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
    """Roads on the map drawn in `color` (None: in any road colour). The roads draw on a canvas:
    what it draws is each road layer's style (checked against the canvas's pixels below)."""
    colors = BAND_COLORS + [NOT_CLEARED_COLOR] if color is None else [color]
    return dash_duo.driver.execute_script(
        "var ls = window.ishikawaMap.snowRoadLayers(), want = arguments[0], n = 0;"
        "Object.keys(ls).forEach(function (k) { var l = ls[k];"
        "  if (l._map && want.indexOf(l.options.color) >= 0) { n++; } });"
        "return n;", colors)


# a road whose middle is well inside the map, `arguments[0]` px below it the canvas is on top:
# [x, y, the road's colour]
ROAD_SPOT = (
    "var ls = window.ishikawaMap.snowRoadLayers(), ids = Object.keys(ls);"
    "for (var i = 0; i < ids.length; i++) {"
    "  var l = ls[ids[i]], map = l._map; if (!map) { continue; }"
    "  var p = map.latLngToContainerPoint(l.getCenter()), r = map.getContainer().getBoundingClientRect();"
    "  var x = r.left + p.x, y = r.top + p.y;"
    "  if (x > r.left + 60 && x < r.right - 60 && y > r.top + 80 && y < r.bottom - 40) {"
    "    var el = document.elementFromPoint(x, y + arguments[0]);"
    "    if (el && el.tagName === 'CANVAS') { return [x, y, l.options.color]; } } }"
    "return null;")
# the middle of a plow's trail (a path drawn in one of `arguments[0]`) inside the map, where what takes a tap
# is the road canvas: [x, y]
TRAIL_SPOT = (
    "var m = document.getElementById('snow-map').getBoundingClientRect(), colours = arguments[0];"
    "var ps = Array.from(document.querySelectorAll('#snow-map .leaflet-overlay-pane path'))"
    "  .filter(function (p) { return colours.indexOf(p.getAttribute('stroke')) >= 0; });"
    "for (var i = 0; i < ps.length; i++) {"
    "  var p = ps[i], len = p.getTotalLength(); if (len < 20) { continue; }"
    "  var q = p.getPointAtLength(len / 2), c = p.getScreenCTM();"
    "  var x = c.a * q.x + c.c * q.y + c.e, y = c.b * q.x + c.d * q.y + c.f;"
    "  if (x < m.left + 60 || x > m.right - 60 || y < m.top + 120 || y > m.bottom - 40) { continue; }"
    "  var el = document.elementFromPoint(x, y);"
    "  if (el && el.tagName === 'CANVAS') { return [x, y]; } }"
    "return null;")
# the colours of the roads drawn at the screen point (x, y): the road whose middle it is, and any
# road the canvas draws after it that covers the point (roads cross and overlap)
ROAD_COLOURS_AT = (
    "var ls = window.ishikawaMap.snowRoadLayers(), out = [], x = arguments[0], y = arguments[1];"
    "Object.keys(ls).forEach(function (k) { var l = ls[k], map = l._map; if (!map || !l._parts) { return; }"
    "  var r = map.getContainer().getBoundingClientRect();"
    "  var p = map.containerPointToLayerPoint([x - r.left, y - r.top]);"
    "  var reach = (l.options.weight || 3) / 2 + 1.5;"
    "  l._parts.forEach(function (part) { for (var i = 1; i < part.length; i++) {"
    "    if (L.LineUtil.pointToSegmentDistance(p, part[i - 1], part[i]) <= reach && out.indexOf(l.options.color) < 0) {"
    "      out.push(l.options.color); } } }); });"
    "return out;")
# the colour the canvas shows at (x, y): [r, g, b, a]
CANVAS_PIXEL = (
    "var c = document.elementFromPoint(arguments[0], arguments[1]);"
    "if (!c || c.tagName !== 'CANVAS') { return null; }"
    "var r = c.getBoundingClientRect(), sx = c.width / r.width, sy = c.height / r.height;"
    "return Array.from(c.getContext('2d').getImageData(Math.round((arguments[0] - r.left) * sx),"
    "                                                 Math.round((arguments[1] - r.top) * sy), 1, 1).data);")


def marker_positions(dash_duo) -> dict:
    return dash_duo.driver.execute_script(
        "var o = {}; document.querySelectorAll('#snow-map .plow-marker').forEach(function (m) {"
        " o[m.getAttribute('title')] = m.style.transform; }); return o;")


def test_snow_page_shows_roads_plows_and_they_move(dash_duo, dash_app, plows, tmp_path_factory):
    dash_duo.driver.set_window_size(1400, 1000)
    dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.get(dash_duo.server_url + "/snow")
    dash_duo.wait_for_element("#snow-map", timeout=15)
    wait_until(lambda: road_paths(dash_duo) > 1000, timeout=20, what="road segments")
    coloured = sum(road_paths(dash_duo, c) for c in BAND_COLORS)
    assert coloured > 500  # a day of plowing: most roads carry a cleared colour
    # the canvas shows a road's colour in the middle of the road
    x, y, color = wait_until(lambda: dash_duo.driver.execute_script(ROAD_SPOT, 0), timeout=10, what="a road")
    rgba = wait_until(lambda: dash_duo.driver.execute_script(CANVAS_PIXEL, x, y), timeout=5, what="the canvas")
    colours = dash_duo.driver.execute_script(ROAD_COLOURS_AT, x, y)
    assert color in colours

    def near(c):
        return all(abs(a - int(c[i:i + 2], 16)) <= 60 for a, i in zip(rgba[:3], (1, 3, 5)))

    assert rgba[3] > 100 and any(near(c) for c in colours), (rgba, colours)
    wait_until(lambda: len(marker_positions(dash_duo)) >= 12, timeout=15, what="plow markers")
    wait_until(lambda: count(dash_duo, "#snow-vehicles tbody tr") >= 13, what="vehicle rows")
    table = text(dash_duo, "#snow-vehicles")
    assert "hakui-01" in table and ("走行中" in table or "停車中" in table) and "除外" in table
    assert "最終更新" in dash_duo.find_element("#snow-badge").text
    assert "全体" in dash_duo.find_element("#snow-progress").text
    assert count(dash_duo, "#snow-progress-bars .bar-route .bar-fill") >= 10
    assert sum(count(dash_duo, f'#snow-map path[stroke="{c}"]') for c in TRAIL_COLORS.values()) >= 10  # trails
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


def test_the_window_recolours_the_map_and_the_legend(dash_duo, dash_app, plows):
    dash_duo.driver.set_window_size(1400, 1000)
    dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.get(dash_duo.server_url + "/snow?lang=en")
    dash_duo.wait_for_element("#snow-map", timeout=15)
    wait_until(lambda: road_paths(dash_duo) > 1000, timeout=20, what="road segments")
    total = road_paths(dash_duo)
    red_24 = road_paths(dash_duo, NOT_CLEARED_COLOR)
    old = sum(road_paths(dash_duo, c) for c in BAND_COLORS[1:])
    assert old > 100  # the full day: many roads cleared more than an hour ago
    assert "Not cleared in 24 h" in text(dash_duo, "#snow-road-legend")
    # beside the map, the legend (kept in the side panel) sits over the map's bottom-right corner and
    # stays there while the panel scrolls
    where = ("var l = document.getElementById('snow-road-legend').getBoundingClientRect(),"
             " m = document.getElementById('snow-map').getBoundingClientRect();"
             "return [l.left >= m.left, l.right <= m.right, l.top >= m.top, l.bottom <= m.bottom,"
             " m.right - l.right, l.top];")
    before = dash_duo.driver.execute_script(where)
    assert before[:4] == [True, True, True, True] and before[4] < 30, before
    dash_duo.driver.execute_script("document.querySelector('.snow-side').scrollTop = 500")
    assert dash_duo.driver.execute_script(where) == before
    dash_duo.find_element('#snow-hours input[value="1"]').click()
    wait_until(lambda: sum(road_paths(dash_duo, c) for c in BAND_COLORS[1:]) == 0, timeout=15, what="recoloured")
    red_1 = road_paths(dash_duo, NOT_CLEARED_COLOR)
    assert red_1 >= red_24 + old * 0.9 and red_1 < total
    assert road_paths(dash_duo, BAND_COLORS[0]) == total - red_1  # what is left: cleared within the hour
    legend_text = text(dash_duo, "#snow-road-legend")
    assert "Not cleared in 1 h" in legend_text and "1–3 h" not in legend_text
    assert "Plow state" in legend_text and "Idle" in legend_text and "Trail (30 min)" in legend_text
    assert "1 h" in text(dash_duo, "#snow-progress-title")
    dash_duo.find_element('#snow-hours input[value="24"]').click()
    wait_until(lambda: road_paths(dash_duo, NOT_CLEARED_COLOR) <= red_24 + 20, timeout=15, what="back to 24 h")
    assert not app_errors(dash_duo)


def test_replay_speed_and_a_vehicle_row_focuses_the_map(dash_duo, dash_app, plows):
    dash_duo.driver.set_window_size(1400, 1000)
    dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.get(dash_duo.server_url + "/snow?lang=en")
    dash_duo.wait_for_element("#snow-map", timeout=15)
    wait_until(lambda: count(dash_duo, "#snow-vehicles tbody tr") >= 13, timeout=20, what="vehicle rows")
    # a moving plow (it has a 30-minute trail)
    wait_until(lambda: "Active" in text(dash_duo, "#snow-vehicles"), timeout=20, what="an active plow")
    active = dash_duo.driver.execute_script(
        "var out = [], rows = document.querySelectorAll('#snow-vehicles tbody tr');"
        "for (var i = 0; i < rows.length; i++) {"
        "  var st = rows[i].querySelector('td[data-col=\"state\"]');"
        "  if (st && st.innerText.trim() === 'Active') { out.push(i); } } return out;")
    assert active
    # a plow that just left a stop may have no trail yet: try the active ones until one shows its trail
    for row in active:
        target = dash_duo.find_elements("#snow-vehicles tbody tr")[row].find_element(
            "css selector", 'td[data-col="id"]')
        cell = target.text
        target.click()
        wait_until(lambda: count(dash_duo, "#snow-map .plow-focus") == 1, timeout=15, what="focused marker")
        focused = dash_duo.driver.execute_script(
            "return document.querySelector('#snow-map .plow-focus').getAttribute('title')")
        assert focused == cell
        try:
            wait_until(lambda: count(dash_duo, "#snow-map path.snow-trail-focus") == 1, timeout=5,
                       what="focused trail")
            break
        except AssertionError:
            continue
    else:
        raise AssertionError("no active plow showed its focused trail")
    # the map flew to the vehicle: its marker is near the middle of the map
    wait_until(lambda: dash_duo.driver.execute_script(
        "var m = document.querySelector('#snow-map').getBoundingClientRect(),"
        " p = document.querySelector('#snow-map .plow-focus').getBoundingClientRect();"
        "return Math.abs((p.left + p.right) / 2 - (m.left + m.right) / 2) < 40 &&"
        " Math.abs((p.top + p.bottom) / 2 - (m.top + m.bottom) / 2) < 40;"), timeout=15, what="map centred")
    # replay at 60 minutes a second
    thumb = dash_duo.find_element('#snow-time [role="slider"]')
    thumb.click()
    thumb.send_keys(Keys.HOME)
    wait_until(lambda: "Replaying" in text(dash_duo, "#snow-mode"), timeout=15, what="replay mode")
    dash_duo.find_element('#snow-speed input[value="60"]').click()
    wait_until(lambda: text(dash_duo, "#snow-speed-text") == "60 min/s", what="speed shown")
    start = text(dash_duo, "#snow-mode")
    dash_duo.find_element("#snow-play-button").click()
    wait_until(lambda: text(dash_duo, "#snow-mode") != start, timeout=15, what="replay advancing")
    dash_duo.find_element("#snow-play-button").click()
    value = dash_duo.driver.execute_script(
        "return Number(document.querySelector('#snow-time [role=\"slider\"]').getAttribute('aria-valuenow'))")
    assert value > -1440 and (value + 1440) % 60 == 0  # whole hours a tick
    assert not app_errors(dash_duo)


def _jst_window_args():
    from store.db import utcnow
    from timezones import JST

    now = utcnow().astimezone(JST)
    start = (now - timedelta(hours=23)).strftime("%Y-%m-%d %H:%M")
    return start, now.strftime("%Y-%m-%d %H:%M")


def test_storm_report_page(dash_duo, dash_app, plows, tmp_path_factory):
    dash_duo.driver.set_window_size(1280, 1000)
    dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.get(dash_duo.server_url + "/snow?lang=en")
    dash_duo.wait_for_element("#snow-report-link", timeout=15).click()
    dash_duo.wait_for_element("#snow-report-areas", timeout=15)
    assert "Storm report" in text(dash_duo, "h1")
    start, end = _jst_window_args()
    field = dash_duo.find_element("#snow-report-start")
    field.clear()
    field.send_keys(start)
    field = dash_duo.find_element("#snow-report-end")
    field.clear()
    field.send_keys(end)
    dash_duo.find_element("#snow-report-show").click()
    wait_until(lambda: start in text(dash_duo, "#snow-report-window"), timeout=15, what="the chosen period")
    assert "start=" in dash_duo.driver.current_url
    areas = text(dash_duo, "#snow-report-areas")
    assert "羽咋市" in areas and "Total" in areas and "Within 3 h" in areas
    assert count(dash_duo, "#snow-report-routes tbody tr") >= 10
    vehicles = text(dash_duo, "#snow-report-vehicles")
    assert "hakui-01" in vehicles and "Km plowed" in vehicles
    href = dash_duo.find_element("#snow-report-csv-vehicles").get_attribute("href")
    assert "/api/snow/report.csv?" in href and "part=vehicles" in href and "lang=en" in href
    # printed: the form and the buttons are left out, the tables stay
    dash_duo.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    hidden = dash_duo.driver.execute_script(
        "return [getComputedStyle(document.querySelector('.report-form')).display,"
        " getComputedStyle(document.querySelector('.report-actions')).display,"
        " getComputedStyle(document.querySelector('#snow-report-areas')).display]")
    assert hidden == ["none", "none", "table"]
    dash_duo.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    # a period the form cannot read: a message, the default night shown
    dash_duo.driver.get(dash_duo.server_url + "/snow/report?start=soon")
    assert "読み取れません" in dash_duo.wait_for_element("#snow-report-error", timeout=15).text
    shots = tmp_path_factory.mktemp("screenshots")
    dash_duo.driver.save_screenshot(str(shots / "snow_report.png"))
    assert not app_errors(dash_duo)


def test_snow_on_a_phone_title_back_link_table_and_road_taps(dash_duo, dash_app, plows):
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": 375, "height": 800, "deviceScaleFactor": 1, "mobile": True})
    try:
        dash_duo.driver.get(dash_duo.server_url + "/snow?lang=en")
        dash_duo.wait_for_element("#snow-map", timeout=15)
        wait_until(lambda: road_paths(dash_duo) > 1000, timeout=20, what="road segments")
        sizes = dash_duo.driver.execute_script(
            "var t = document.querySelector('.app-title'), h = document.querySelector('#snow-home-link');"
            "var hr = h.getBoundingClientRect();"
            "return [t.scrollWidth, t.clientWidth, hr.width, hr.right, document.documentElement.scrollWidth];")
        assert sizes[0] <= sizes[1]  # the title is whole
        assert sizes[2] > 40 and sizes[3] <= 375 and sizes[4] <= 375  # the way back shows; nothing sticks out
        assert dash_duo.find_element("#snow-home-link").get_attribute("href").endswith("/?lang=en")
        assert text(dash_duo, ".app-title") == "Snow removal live map"
        wait_until(lambda: count(dash_duo, "#snow-vehicles tbody tr") >= 13, timeout=20, what="vehicle rows")
        box = dash_duo.driver.execute_script(
            "var b = document.querySelector('#snow-vehicles table');"
            "while (b && getComputedStyle(b).overflowX !== 'auto') { b = b.parentElement; }"
            "var r = b.getBoundingClientRect(); return [r.right, b.scrollWidth, b.clientWidth];")
        assert box[0] <= 375 and box[1] >= box[2]  # the table scrolls inside its own box
        # a tap 8 px beside a 3–5 px road still opens its popup
        spot = dash_duo.driver.execute_script(ROAD_SPOT, 8)
        assert spot is not None, "no road with the road canvas 8 px beside it"
        tap = ActionBuilder(dash_duo.driver)
        tap.pointer_action.move_to_location(int(spot[0]), int(spot[1]) + 8)
        tap.pointer_action.click()
        tap.perform()
        wait_until(lambda: count(dash_duo, "#snow-map .leaflet-popup .popup-title") == 1, timeout=10, what="popup")
        assert "Area" in text(dash_duo, "#snow-map .leaflet-popup")
        dash_duo.driver.execute_script("document.querySelector('#snow-map .leaflet-popup-close-button').click()")
        wait_until(lambda: count(dash_duo, "#snow-map .leaflet-popup") == 0, 10, "the popup closed")
        # a plow's trail lies on the road it cleared: a tap on it opens the road's popup, the trail takes none
        spot = wait_until(lambda: dash_duo.driver.execute_script(TRAIL_SPOT, list(TRAIL_COLORS.values())), 15,
                          "a trail over a road with nothing else on it")
        tap = ActionBuilder(dash_duo.driver)
        tap.pointer_action.move_to_location(int(spot[0]), int(spot[1]))
        tap.pointer_action.click()
        tap.perform()
        wait_until(lambda: count(dash_duo, "#snow-map .leaflet-popup .popup-title") == 1, timeout=10, what="popup")
        assert "Area" in text(dash_duo, "#snow-map .leaflet-popup")
        # on a phone the legend follows the map in the side panel
        below = dash_duo.driver.execute_script(
            "return document.getElementById('snow-road-legend').getBoundingClientRect().top >="
            " document.getElementById('snow-map').getBoundingClientRect().bottom")
        assert below
        # the overlay list stays open with every overlay, inside the map (measured once per frame)
        control = ("var c = document.querySelector('#snow-map .leaflet-control-layers'),"
                   " m = document.getElementById('snow-map').getBoundingClientRect();"
                   "return c ? [c.classList.contains('leaflet-control-layers-expanded'),"
                   " c.querySelectorAll('.leaflet-control-layers-overlays label').length,"
                   " c.getBoundingClientRect().bottom <= m.bottom] : null;")
        wait_until(lambda: dash_duo.driver.execute_script(control) == [True, 3, True], 10, "the open overlay list")
        # popups size themselves by the window's width, read again after the window changes
        assert dash_duo.driver.execute_script("return window.ishikawaMap.screenWidth()") == 375
        dash_duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                        {"width": 360, "height": 780, "deviceScaleFactor": 1, "mobile": True})
        wait_until(lambda: dash_duo.driver.execute_script("return window.ishikawaMap.screenWidth()") == 360,
                   10, "the width after a resize")
    finally:
        dash_duo.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert not app_errors(dash_duo)


def _melter_titles(dash_duo) -> list[str]:
    return dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('#snow-map .melter-marker')).map(function (m) {"
        " return m.getAttribute('title') || ''; })")


def _login(dash_duo, email):
    from tests.staff_helpers import PASSWORD

    dash_duo.driver.get(dash_duo.server_url + "/login")
    dash_duo.wait_for_element("#login-email", timeout=10).send_keys(email)
    dash_duo.find_element("#login-password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    dash_duo.wait_for_element("#staff-layers-list, .staff-content", timeout=15)


def _restriction_popups(dash_duo, state: str) -> list[str]:
    """The popup text of every restriction /snow draws as `state` (upcoming, ended)."""
    return dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('#snow-map path.restriction-' + arguments[0]))"
        ".map(function (p) { p.dispatchEvent(new MouseEvent('click', {bubbles: true}));"
        " var boxes = document.querySelectorAll('#snow-map .leaflet-popup-content');"  # the last: the one opened
        " return boxes.length ? boxes[boxes.length - 1].innerText : ''; })", state)


def test_snow_overlays_cameras_devices_and_restrictions_by_viewer_and_replay(dash_duo, dash_app, app_db, plows):
    """Cameras, snow-melting devices and restrictions in force beside the roads, each switched on and off
    by the map's control; a private device only for its organisation's staff; restrictions follow the
    replay moment."""
    import uuid

    from layers.restrictions import COLORS as RESTRICTION_COLORS
    from store.db import utcnow
    from store.melters import FAULT, MeltingDevice, report_state
    from store.models import Organisation
    from store.restrictions import RoadRestriction
    from tests.staff_helpers import make_person

    hakui, kaga = make_person(app_db, "hakui"), make_person(app_db, "kaga")
    did, rid = f"snow-page-secret-{uuid.uuid4().hex[:6]}", f"snow-page-new-{uuid.uuid4().hex[:6]}"
    now = utcnow()
    with app_db.session() as s:
        org = s.query(Organisation).filter_by(code="hakui").one()
        dev = MeltingDevice(id=did, organisation_id=org.id, name_ja="非公開の消雪装置", name_en="Secret melter",
                            lon=136.79, lat=36.90, visibility="private")
        s.add(dev)
        s.flush()
        report_state(s, dev, FAULT, now - timedelta(minutes=1))
        pub = MeltingDevice(id=did + "-pub", organisation_id=org.id, name_ja="公開の消雪装置", name_en="Public melter",
                            lon=136.78, lat=36.90, visibility="public")
        s.add(pub)
        s.flush()
        report_state(s, pub, FAULT, now - timedelta(minutes=1))
        # a closure that began ten minutes ago: in force now, not three hours back
        s.add(RoadRestriction(id=rid, organisation_id=org.id, kind="closure", kind_text="通行止め", road="テスト道路",
                              geometry='{"type": "LineString", "coordinates": [[136.77, 36.89], [136.78, 36.90]]}',
                              starts_at=now - timedelta(minutes=10), ends_at=None, visibility="public",
                              origin="api", minx=136.77, miny=36.89, maxx=136.78, maxy=36.90))
        # a private closure of hakui from the day after tomorrow: upcoming, only for hakui's staff
        s.add(RoadRestriction(id=rid + "-private", organisation_id=org.id, kind="closure", kind_text="通行止め",
                              road="非公開の予定道路", visibility="private", origin="api",
                              geometry='{"type": "LineString", "coordinates": [[136.75, 36.89], [136.76, 36.90]]}',
                              starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=3),
                              minx=136.75, miny=36.89, maxx=136.76, maxy=36.90))
    client = dash_app.server.test_client()

    def listed(headers=None):
        answer = client.get("/api/restrictions?all=1", headers=headers or {}).get_json()
        return {r["id"] for r in answer["restrictions"]}

    assert rid + "-private" not in listed() and rid in listed()  # the route: anonymous, public ones only
    assert rid + "-private" not in listed(kaga.auth) and rid + "-private" in listed(hakui.auth)
    closure = f'#snow-map path[stroke="{RESTRICTION_COLORS["closure"]}"][stroke-width="7"]'
    dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.get(dash_duo.server_url + "/snow?lang=en")
    wait_until(lambda: any("Public melter" in x for x in _melter_titles(dash_duo)), 15, "devices drawn")
    wait_until(lambda: count(dash_duo, closure) > 0, 15, "the closure in force drawn")
    assert not any("Secret" in x for x in _melter_titles(dash_duo))  # anonymous: public devices only
    labels = dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('#snow-map .leaflet-control-layers-overlays label'))"
        ".map(function (l) { return l.innerText.trim(); })")
    assert sorted(labels) == ["Live cameras", "Road restrictions", "Snow-melting devices"]
    # switch the devices off and on again
    toggle = ("Array.from(document.querySelectorAll('#snow-map .leaflet-control-layers-overlays label'))"
              ".find(function (l) { return l.innerText.indexOf('Snow-melting') >= 0; }).querySelector('input').click()")
    dash_duo.driver.execute_script(toggle)
    wait_until(lambda: count(dash_duo, "#snow-map .melter-marker") == 0, 10, "devices switched off")
    dash_duo.driver.execute_script(toggle)
    wait_until(lambda: count(dash_duo, "#snow-map .melter-marker") > 0, 10, "devices switched on")
    # three hours back: the new closure was not in force yet
    drawn = count(dash_duo, closure)
    dash_duo.driver.execute_script("window.dash_clientside.set_props('snow-time', {value: -180})")
    wait_until(lambda: count(dash_duo, closure) < drawn, 15, "the replay drops the closure")
    wait_until(lambda: any("テスト道路" in x and "Upcoming" in x for x in _restriction_popups(dash_duo, "upcoming")),
               15, "the closure drawn as upcoming three hours back")
    assert not any("非公開" in x for x in _restriction_popups(dash_duo, "upcoming"))  # the page: anonymous, public only
    assert "Upcoming (starts within 7 days)" in text(dash_duo, "#snow-restriction-states")
    assert not app_errors(dash_duo)
    # the device's organisation sees it; another organisation does not
    _login(dash_duo, hakui.email)
    dash_duo.driver.get(dash_duo.server_url + "/snow?lang=en")
    wait_until(lambda: any("Secret melter" in x for x in _melter_titles(dash_duo)), 15,
               "the private device for its staff")
    wait_until(lambda: any("非公開の予定道路" in x for x in _restriction_popups(dash_duo, "upcoming")), 15,
               "the private upcoming closure for its staff")
    dash_duo.driver.delete_all_cookies()
    _login(dash_duo, kaga.email)
    dash_duo.driver.get(dash_duo.server_url + "/snow?lang=en")
    wait_until(lambda: count(dash_duo, "#snow-map .melter-marker") > 0, 15, "devices drawn for another city")
    assert not any("Secret" in x for x in _melter_titles(dash_duo))
    wait_until(lambda: count(dash_duo, closure) > 0, 15, "restrictions drawn for another city")
    assert not any("非公開" in x for x in _restriction_popups(dash_duo, "upcoming"))


# move the map so that a road's middle is at (arguments[0], arguments[1]) in the map: the road's id
ROAD_TO = (
    "var ls = window.ishikawaMap.snowRoadLayers(), ids = Object.keys(ls).filter(function (k) { return ls[k]._map; });"
    "var l = ls[ids[0]], map = l._map, p = map.latLngToContainerPoint(l.getCenter());"
    "map.panBy([p.x - arguments[0], p.y - arguments[1]], {animate: false});"
    "return ids[0];")
# open the popup of the road `arguments[0]` at its middle, as a tap there does
ROAD_POPUP = "var l = window.ishikawaMap.snowRoadLayers()[arguments[0]]; l.openPopup(l.getCenter());"
# the map reports a move to Dash, which hands the view back to the map a moment later: a popup opened within
# that moment is panned back with the map (a person's tap comes later than that)
SETTLE_S = 1.0


def test_snow_popups_on_a_phone_open_clear_of_the_map_controls(dash_duo, dash_app, app_db, plows):
    """A road tapped in the map's top-left corner, one in the top-right corner, a snow-melting device at the
    top left: each popup opens beside the zoom / full-screen buttons and below the open overlay list, not
    under them."""
    import uuid

    from store.db import utcnow
    from store.melters import FAULT, MeltingDevice, report_state
    from store.models import Organisation
    from tests.browser_helpers import popup_over_controls

    did = f"snow-corner-{uuid.uuid4().hex[:6]}"
    with app_db.session() as s:
        org = s.query(Organisation).filter_by(code="hakui").one()
        dev = MeltingDevice(id=did, organisation_id=org.id, name_ja="角の消雪装置", name_en="Corner melter",
                            lon=136.77, lat=36.91, visibility="public")
        s.add(dev)
        s.flush()
        report_state(s, dev, FAULT, utcnow() - timedelta(minutes=1))
    dash_duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": 375, "height": 740, "deviceScaleFactor": 2, "mobile": True})
    try:
        dash_duo.start_server(dash_app, port=free_port())
        dash_duo.driver.get(dash_duo.server_url + "/snow")
        wait_until(lambda: road_paths(dash_duo) > 1000, timeout=20, what="road segments")
        for corner in ([30, 30], [345, 30]):
            road = dash_duo.driver.execute_script(ROAD_TO, *corner)
            time.sleep(SETTLE_S)
            dash_duo.driver.execute_script(ROAD_POPUP, road)
            wait_until(lambda: count(dash_duo, "#snow-map .leaflet-popup .popup-title") == 1, 10, "the road's popup")
            assert popup_over_controls(dash_duo, "#snow-map") == [], corner
            dash_duo.driver.execute_script("document.querySelector('#snow-map .leaflet-popup-close-button').click()")
            wait_until(lambda: count(dash_duo, "#snow-map .leaflet-popup") == 0, 10, "the popup closed")
        # the device's marker moved to the corner, then tapped
        marker = wait_until(lambda: [m for m in dash_duo.find_elements("#snow-map .melter-marker")
                                     if "Corner" in (m.get_attribute("title") or "")
                                     or "角の" in (m.get_attribute("title") or "")], 15, "the device")[0]
        dash_duo.driver.execute_script(
            "var m = arguments[0], map = document.getElementById('snow-map'), r = map.getBoundingClientRect(),"
            " b = m.getBoundingClientRect(), ls = window.ishikawaMap.snowRoadLayers(),"
            " lm = ls[Object.keys(ls).filter(function (k) { return ls[k]._map; })[0]]._map;"
            "lm.panBy([b.left + b.width / 2 - r.left - 30, b.top + b.height / 2 - r.top - 30], {animate: false});",
            marker)
        time.sleep(SETTLE_S)
        dash_duo.driver.execute_script("arguments[0].click()", marker)
        wait_until(lambda: "角の消雪装置" in text(dash_duo, "#snow-map .leaflet-popup-content"), 10, "its popup")
        assert popup_over_controls(dash_duo, "#snow-map") == []
    finally:
        dash_duo.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert not app_errors(dash_duo)


def test_a_road_popup_stays_open_while_the_roads_change(dash_duo, dash_app, plows):
    """The roads take new colours in place (live updates, replay): the road layers stay the same ones and a
    road's open popup stays open."""
    dash_duo.driver.set_window_size(1400, 1000)
    dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.get(dash_duo.server_url + "/snow?lang=en")
    wait_until(lambda: road_paths(dash_duo) > 1000, timeout=20, what="road segments")
    wait_until(lambda: text(dash_duo, "#snow-mode") == "Live", timeout=15, what="the live state")
    road = dash_duo.driver.execute_script(ROAD_TO, 400, 400)
    time.sleep(SETTLE_S)
    dash_duo.driver.execute_script(ROAD_POPUP, road)
    wait_until(lambda: count(dash_duo, "#snow-map .leaflet-popup .popup-title") == 1, 10, "the road's popup")
    dash_duo.driver.execute_script(
        "var ls = window.ishikawaMap.snowRoadLayers(); Object.keys(ls).forEach(function (k) { ls[k]._probe = 1; });")
    live_red = road_paths(dash_duo, NOT_CLEARED_COLOR)
    dash_duo.driver.execute_script("window.dash_clientside.set_props('snow-time', {value: -1440})")  # 24 h back
    wait_until(lambda: road_paths(dash_duo, NOT_CLEARED_COLOR) > live_red + 50, timeout=15, what="replayed colours")
    dash_duo.driver.execute_script("window.dash_clientside.set_props('snow-time', {value: 0})")
    wait_until(lambda: road_paths(dash_duo, NOT_CLEARED_COLOR) <= live_red + 20, timeout=15, what="live colours")
    assert count(dash_duo, "#snow-map .leaflet-popup .popup-title") == 1
    rebuilt = dash_duo.driver.execute_script(
        "var ls = window.ishikawaMap.snowRoadLayers();"
        "return Object.keys(ls).filter(function (k) { return ls[k]._map && !ls[k]._probe; }).length;")
    assert rebuilt == 0
    assert not app_errors(dash_duo)
