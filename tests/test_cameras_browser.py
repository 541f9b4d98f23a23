"""The camera layer on the public map, in headless Chromium: a marker per camera, a popup with the
latest thumbnail (loaded by URL from our own API), its time in JST and the demo label."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.browser_helpers import app_errors, free_port, wait_until

pytestmark = pytest.mark.browser


def test_camera_popup_shows_the_latest_thumbnail(dash_duo, dash_app):
    from sources import cameras as cf

    server = dash_app.server
    cf.demo_tick(server.extensions["ishikawa.db"], server.extensions["ishikawa.settings"].instance_path)
    dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.get(dash_duo.server_url + "/?lat=36.9&lon=136.775&z=14&layers=cameras")
    dash_duo.wait_for_element("#home-map", timeout=15)
    markers = wait_until(lambda: dash_duo.find_elements(".camera-marker"), what="camera markers")
    assert len(markers) >= len(cf.DEMO_CAMERAS)
    assert "カメラ" in dash_duo.find_element("#home-legend").text
    dash_duo.driver.execute_script("arguments[0].click()", markers[0])
    dash_duo.wait_for_contains_text(".leaflet-popup-content", "撮影", timeout=10)
    popup = dash_duo.find_element(".leaflet-popup-content .camera-popup")
    text = popup.get_attribute("textContent")  # the title may sit above the map's edge while it pans
    assert "デモ画像" in text and "（デモ）" in text
    img = popup.find_element(By.CSS_SELECTOR, "img.camera-thumb")
    assert "/api/cameras/demo-" in img.get_attribute("src") and "thumb.jpg" in img.get_attribute("src")
    wait_until(lambda: dash_duo.driver.execute_script("return arguments[0].naturalWidth", img) > 0,
               what="the thumbnail to load")
    assert not app_errors(dash_duo)


def test_camera_names_are_escaped_in_the_popup(dash_duo, dash_app):
    from sources import cameras as cf
    from store.cameras import Camera
    from store.db import utcnow
    from store.users import organisation_by_code

    server = dash_app.server
    db = server.extensions["ishikawa.db"]
    evil = '<img src=x onerror="window.__xss=1">'
    with db.session() as s:
        org = organisation_by_code(s, "hakui")
        if s.get(Camera, "xss-test") is None:
            s.add(Camera(id="xss-test", organisation_id=org.id, name_ja=evil, name_en=evil, lon=136.95, lat=37.05,
                         url="http://127.0.0.1:9/x.jpg"))
    jpeg, thumb, w, h = cf.reencode(cf.demo_image("x", (1, 2, 3), (4, 5, 6), utcnow()))
    from store.cameras import cameras_folder

    cf.save_snapshot(db, cameras_folder(server.extensions["ishikawa.settings"].instance_path), "xss-test",
                     jpeg, thumb, w, h, utcnow())
    try:
        dash_duo.start_server(dash_app, port=free_port())
        dash_duo.driver.get(dash_duo.server_url + "/?lat=37.05&lon=136.95&z=15&layers=cameras")
        dash_duo.wait_for_element("#home-map", timeout=15)
        marker = wait_until(lambda: [m for m in dash_duo.find_elements(".camera-marker")
                                     if m.get_attribute("title") == evil], what="the camera marker")[0]
        dash_duo.driver.execute_script("arguments[0].click()", marker)
        dash_duo.wait_for_element(".leaflet-popup-content .camera-popup", timeout=10)
        popup = dash_duo.find_element(".leaflet-popup-content .camera-popup")
        assert evil in popup.get_attribute("textContent")  # shown as text
        assert not popup.find_elements(By.CSS_SELECTOR, 'img[src="x"]')
        assert dash_duo.driver.execute_script("return window.__xss") is None
    finally:
        with db.session() as s:
            from store.cameras import delete_camera

            cam = s.get(Camera, "xss-test")
            if cam is not None:
                delete_camera(s, cameras_folder(server.extensions["ishikawa.settings"].instance_path), cam)
