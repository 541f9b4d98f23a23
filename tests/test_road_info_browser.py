"""Snow-melting devices and road restrictions on the public map, and /staff/road-info, in headless
Chromium: markers coloured by state with a popup (state, time of change, last report), restriction
lines with type, section and period in JST, escaped names; uploading lists as staff."""
from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from tests.browser_helpers import app_errors, free_port, wait_until

pytestmark = pytest.mark.browser
DATA = Path(__file__).resolve().parents[1] / "data"


def test_melter_and_restriction_popups(dash_duo, dash_app):
    from sources import melters as mf, restrictions as rs

    db = dash_app.server.extensions["ishikawa.db"]
    mf.demo_tick(db)
    rs.demo_tick(db, DATA)
    dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.get(dash_duo.server_url + "/?lat=36.8925&lon=136.7845&z=15&layers=snow-melters,road-restrictions")
    dash_duo.wait_for_element("#home-map", timeout=15)
    fault = wait_until(lambda: dash_duo.find_elements(".melter-marker.melter-fault"), what="the faulty device")
    assert len(dash_duo.find_elements(".melter-marker")) >= len(mf.DEMO_DEVICES)
    legend = dash_duo.find_element("#home-legend").text
    assert "故障" in legend and "チェーン規制" in legend
    dash_duo.driver.execute_script("arguments[0].click()", fault[0])
    dash_duo.wait_for_element(".leaflet-popup-content .melter-popup", timeout=10)
    text = dash_duo.find_element(".leaflet-popup-content .melter-popup").get_attribute("textContent")
    assert "故障" in text and "この状態になった時刻" in text and "最終報告" in text and "デモデータ" in text
    # the chain rule on route 415 (purple line)
    line = wait_until(lambda: [p for p in dash_duo.find_elements("path.leaflet-interactive")
                               if p.get_attribute("stroke") == "#6a3d9a"], what="the chain-rule line")[0]
    dash_duo.driver.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", line)
    dash_duo.wait_for_element(".leaflet-popup-content .restriction-popup", timeout=10)
    text = dash_duo.find_element(".leaflet-popup-content .restriction-popup").get_attribute("textContent")
    assert "チェーン規制" in text and "国道415号" in text and "期間" in text and "〜" in text
    assert not app_errors(dash_duo)


def test_restriction_text_is_escaped_and_staff_upload_lists(dash_duo, dash_app, app_db):
    from store.db import utcnow
    from tests.staff_helpers import PASSWORD, make_person

    person = make_person(app_db, "hakui")
    evil = '<img src=x onerror="window.__xss=1">'
    dash_duo.driver.set_window_size(1400, 1100)
    dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.get(dash_duo.server_url + "/login?next=/staff/road-info")
    dash_duo.wait_for_element("#login-email", timeout=10).send_keys(person.email)
    dash_duo.find_element("#login-password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    dash_duo.wait_for_element("#staff-roadinfo-restriction-upload", timeout=15)
    from timezones import JST

    start = utcnow().astimezone(JST).strftime("%Y/%m/%d %H:%M")
    csv = ("規制番号,規制内容,路線名,区間,規制開始日時,規制終了日時,緯度,経度\n"
           f"B1,通行止め,{evil},ブラウザ区間,{start},未定,37.06,136.96\n").encode()
    tmp = Path("/tmp") / f"road-info-{person.token[-6:]}.csv"  # the browser reads the file from disk
    tmp.write_bytes(csv)
    try:
        upload = dash_duo.find_element("#staff-roadinfo-restriction-upload input[type=file]")
        upload.send_keys(str(tmp))
        dash_duo.wait_for_contains_text("#staff-roadinfo-message", "1 件の規制", timeout=15)
        dash_duo.wait_for_contains_text("#staff-roadinfo-restriction-list", "ブラウザ区間", timeout=10)
        dev = ("装置番号,名称,緯度,経度,状態\nQ1,ブラウザ装置,37.061,136.961,故障\n").encode()
        tmp.write_bytes(dev)
        dash_duo.find_element("#staff-roadinfo-melter-upload input[type=file]").send_keys(str(tmp))
        dash_duo.wait_for_contains_text("#staff-roadinfo-melter-list", "ブラウザ装置", timeout=15)
        # on the public map the road name is text, never markup
        dash_duo.driver.get(dash_duo.server_url + "/?lat=37.06&lon=136.96&z=15&layers=road-restrictions")
        dash_duo.wait_for_element("#home-map", timeout=15)
        marker = wait_until(lambda: [p for p in dash_duo.find_elements("path.leaflet-interactive")
                                     if p.get_attribute("fill") == "#d62728"], what="the closure point")[0]
        dash_duo.driver.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))",
                                       marker)
        dash_duo.wait_for_element(".leaflet-popup-content .restriction-popup", timeout=10)
        popup = dash_duo.find_element(".leaflet-popup-content .restriction-popup")
        assert evil in popup.get_attribute("textContent")
        assert not popup.find_elements(By.CSS_SELECTOR, 'img[src="x"]')
        assert dash_duo.driver.execute_script("return window.__xss") is None
    finally:
        tmp.unlink(missing_ok=True)
        client = dash_app.server.test_client()
        for kind, rid in (("restrictions", "hakui-r-B1"), ("melters", "hakui-melter-Q1")):
            client.delete(f"/api/{kind}/{rid}", headers=person.auth)


def test_camera_popup_slides_through_the_last_24_hours(dash_duo, dash_app):
    from datetime import timedelta

    from sources import cameras as cf
    from store.db import utcnow

    server = dash_app.server
    db, inst = server.extensions["ishikawa.db"], server.extensions["ishikawa.settings"].instance_path
    now = utcnow()
    from store.cameras import cameras_folder

    with db.session() as s:
        cf.ensure_demo_cameras(s)
    for minutes in (50, 40, 30, 20, 10):  # snapshots of the last hour, as the demo job writes them
        at = now - timedelta(minutes=minutes)
        jpeg, thumb, w, h = cf.reencode(cf.demo_image("千里浜", (150, 190, 225), (214, 196, 150), at))
        cf.save_snapshot(db, cameras_folder(inst), "demo-chirihama", jpeg, thumb, w, h, at)
    cf.demo_tick(db, inst, now)  # and the newest, which the camera's time follows
    dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.get(dash_duo.server_url + "/?lat=36.9&lon=136.775&z=14&layers=cameras")
    dash_duo.wait_for_element("#home-map", timeout=15)
    marker = wait_until(lambda: [m for m in dash_duo.find_elements(".camera-marker")
                                 if "千里浜" in (m.get_attribute("title") or "")], what="the Chirihama camera")[0]
    dash_duo.driver.execute_script("arguments[0].click()", marker)
    slider = dash_duo.wait_for_element(".leaflet-popup-content .camera-slider", timeout=10)
    assert int(slider.get_attribute("max")) >= 5
    thumbs = dash_duo.find_elements(".camera-strip-item img")
    assert len(thumbs) >= 6 and all("/api/cameras/demo-chirihama/images/" in i.get_attribute("src") for i in thumbs)
    img = dash_duo.find_element(".leaflet-popup-content img.camera-thumb")
    newest, newest_time = img.get_attribute("src"), dash_duo.find_element(".camera-time").text
    dash_duo.driver.execute_script(
        "arguments[0].value = 0; arguments[0].dispatchEvent(new Event('input'))", slider)
    wait_until(lambda: img.get_attribute("src") != newest, what="the oldest snapshot")
    assert dash_duo.find_element(".camera-time").text != newest_time
    assert "過去24時間" in dash_duo.find_element(".camera-strip").text
    assert not app_errors(dash_duo)
