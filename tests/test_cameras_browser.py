"""The camera layer on the public map, in headless Chromium: a marker per camera, a popup with the
latest thumbnail (loaded by URL from our own API), its time in JST and the demo label."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.browser_helpers import app_errors, free_port, popup_text, wait_until

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
    # popups are built when opened: no camera's thumbnail is fetched while the map loads
    thumbs = ("return performance.getEntriesByType('resource').filter(function (e) {"
              " return e.name.indexOf('/thumb.jpg') >= 0; }).length")
    assert dash_duo.driver.execute_script(thumbs) == 0
    dash_duo.driver.execute_script("arguments[0].click()", markers[0])
    popup_text(dash_duo, "撮影", css=".leaflet-popup-content .camera-popup")
    popup = dash_duo.find_element(".leaflet-popup-content .camera-popup")
    text = popup.get_attribute("textContent")
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


def test_staff_register_a_camera_then_delete_it_with_confirmation(dash_duo, dash_app, app_db, loopback_sources):
    """The test camera server is on 127.0.0.1, which SOURCE_HOSTS must allow (internal addresses are
    refused by default)."""
    from store.cameras import Camera, CameraImage
    from tests.loopback import serve
    from tests.staff_helpers import PASSWORD, make_person
    from tests.test_cameras import Handler

    person = make_person(app_db, "hakui")
    with serve(Handler) as cameras:
        dash_duo.driver.set_window_size(1400, 1100)
        dash_duo.start_server(dash_app, port=free_port())
        dash_duo.driver.get(dash_duo.server_url + "/login?next=/staff/cameras")
        dash_duo.wait_for_element("#login-email", timeout=10).send_keys(person.email)
        dash_duo.find_element("#login-password").send_keys(PASSWORD)
        dash_duo.find_element("#login-submit").click()
        dash_duo.wait_for_element("#staff-cameras-submit", timeout=15)
        dash_duo.find_element("#staff-cameras-name").send_keys("職員登録テストカメラ")
        dash_duo.find_element("#staff-cameras-lon").send_keys("136.79")
        dash_duo.find_element("#staff-cameras-lat").send_keys("36.9")
        dash_duo.find_element("#staff-cameras-url").send_keys(f"{cameras}/good.jpg")
        interval = dash_duo.find_element("#staff-cameras-interval")
        interval.clear()
        interval.send_keys("10")  # too short: refused with the field named
        dash_duo.find_element("#staff-cameras-submit").click()
        dash_duo.wait_for_contains_text("#staff-cameras-message", "interval_s", timeout=10)
        interval.clear()
        interval.send_keys("60")
        dash_duo.find_element("#staff-cameras-submit").click()
        dash_duo.wait_for_contains_text("#staff-cameras-list", "職員登録テストカメラ", timeout=10)
        with app_db.session() as s:
            cam = s.query(Camera).filter_by(name_ja="職員登録テストカメラ").one()
            cid = cam.id
        wait_until(lambda: _has_image(app_db, cid), what="the first snapshot")
        row = dash_duo.find_element(f'tr[id*="{cid}"]')
        button = row.find_element(By.CSS_SELECTOR, "button")
        button.click()
        wait_until(lambda: _alert(dash_duo), what="the confirmation").dismiss()
        with app_db.session() as s:
            assert s.get(Camera, cid) is not None  # cancelled: kept
        button.click()
        wait_until(lambda: _alert(dash_duo), what="the confirmation").accept()
        dash_duo.wait_for_contains_text("#staff-cameras-message", "削除しました", timeout=10)
        with app_db.session() as s:
            assert s.get(Camera, cid) is None and s.query(CameraImage).filter_by(camera_id=cid).count() == 0
        assert not app_errors(dash_duo)


def _has_image(app_db, cid):
    from store.cameras import CameraImage

    with app_db.session() as s:
        return s.query(CameraImage).filter_by(camera_id=cid).count() > 0


def _alert(dash_duo):
    from selenium.common.exceptions import NoAlertPresentException

    try:
        return dash_duo.driver.switch_to.alert
    except NoAlertPresentException:
        return None
