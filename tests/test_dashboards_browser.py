"""Dashboards as people use them, in headless Chromium: a resident opens a public dashboard, changes
the time range (the URL follows), and a city's web page shows it in an iframe."""
from __future__ import annotations

import http.server

import pytest

from tests.browser_helpers import app_errors, free_port, query, wait_until
from tests.loopback import serve

pytestmark = pytest.mark.browser


def test_public_dashboard_list_view_and_time_range(dash_duo, dash_app):
    dash_duo.driver.set_window_size(1280, 1000)
    dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.get(dash_duo.server_url + "/dashboards")
    link = dash_duo.wait_for_element("a[href^='/dashboards/hakui-snow']", timeout=15)
    assert link.text == "羽咋の積雪と除雪"
    link.click()
    dash_duo.wait_for_element(".dash-grid .dash-panel", timeout=15)
    assert len(dash_duo.find_elements(".dash-panel")) == 8
    value = dash_duo.wait_for_element(".dash-stat-value", timeout=10)
    assert value.text.endswith("cm")
    wait_until(lambda: dash_duo.find_elements(".dash-panel-timeseries .js-plotly-plot"), what="series chart")
    wait_until(lambda: dash_duo.find_elements(".dash-panel-table .ag-row"), what="table rows")
    assert wait_until(lambda: dash_duo.driver.title.startswith("羽咋の積雪と除雪"), what="tab title")
    # the time range: pick 直近7日 and the URL carries it
    dash_duo.select_dcc_dropdown("#dashv-range", value="直近7日")
    wait_until(lambda: query(dash_duo).get("from") == "now-7d", what="from=now-7d in the URL")
    assert query(dash_duo).get("var-area") == "羽咋市"
    wait_until(lambda: "from=now-7d" in dash_duo.find_elements(".dash-panel-tool")[0].get_attribute("href"),
               what="CSV links follow the time range")
    assert app_errors(dash_duo) == []


def test_english_view(dash_duo, dash_app):
    dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.get(dash_duo.server_url + "/dashboards/shelters-aed?lang=en")
    dash_duo.wait_for_text_to_equal(".dash-title", "Shelters and AEDs", timeout=15)
    assert wait_until(lambda: dash_duo.driver.title.startswith("Shelters and AEDs"), what="English tab title")
    assert "Designated shelters" in dash_duo.find_element(".dash-grid").text


class _Page(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def test_embedded_in_a_city_page(dash_duo, dash_app):
    app_port, page_port = free_port(), free_port()
    origin = f"http://127.0.0.1:{page_port}"
    server = dash_app.server
    settings = server.extensions["ishikawa.settings"]
    server.extensions["ishikawa.settings"] = settings.with_(embed_origins=(origin,))
    handler = type("Page", (_Page,), {"body": (
        '<!doctype html><html lang="ja"><body><h1>加賀市のページ</h1>'
        f'<iframe id="dash" src="http://127.0.0.1:{app_port}/embed/dashboards/shelters-aed" '
        'width="1000" height="900"></iframe></body></html>').encode()})
    try:
        with serve(handler, page_port):
            dash_duo.start_server(dash_app, port=app_port)
            dash_duo.driver.get(origin + "/")
            frame = dash_duo.wait_for_element("#dash", timeout=10)
            dash_duo.driver.switch_to.frame(frame)
            wait_until(lambda: dash_duo.driver.find_elements("css selector", ".dash-panel"), timeout=20,
                       what="panels inside the iframe")
            assert not dash_duo.driver.find_elements("css selector", ".topbar")  # no header when embedded
            dash_duo.driver.switch_to.default_content()
    finally:
        server.extensions["ishikawa.settings"] = settings
