"""Cameras, snow-melting devices and road restrictions tried as a new user would, in headless
Chromium: a camera served by a local HTTP server shows its first snapshot on the map, its 24-h strip
fills, it vanishes for an anonymous browser when made private, and shows the stopped badge when its
server stops; an uploaded list of restrictions shows only those in force on `/` and replays on
`/snow`; a device's posted states change its colour and a fault mail arrives at a local SMTP server."""
from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from tests.browser_helpers import app_errors, free_port, wait_until
from tests.loopback import serve
from tests.staff_helpers import PASSWORD, make_person

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("loopback_sources")]


def _login(dash_duo, email: str, next_path: str, ready: str) -> None:
    dash_duo.driver.get(dash_duo.server_url + f"/login?next={next_path}")
    dash_duo.wait_for_element("#login-email", timeout=10).send_keys(email)
    dash_duo.find_element("#login-password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    dash_duo.wait_for_element(ready, timeout=15)


def _anonymous(dash_duo, path: str) -> None:
    dash_duo.driver.delete_all_cookies()
    dash_duo.driver.get(dash_duo.server_url + path)


def _camera_titles(dash_duo) -> list[str]:
    return dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('.camera-marker')).map(function (m) {"
        " return m.getAttribute('title') || ''; })")


def _open_camera_popup(dash_duo, name: str):
    marker = wait_until(lambda: [m for m in dash_duo.find_elements(".camera-marker")
                                 if m.get_attribute("title") == name], 15, "the camera marker")[0]
    dash_duo.driver.execute_script("arguments[0].click()", marker)
    return dash_duo.wait_for_element(".leaflet-popup-content .camera-popup", timeout=10)


def test_a_camera_from_registration_to_the_stopped_badge(dash_duo, dash_app, app_db):
    from sources import cameras as cf
    from store.cameras import Camera, CameraImage, cameras_folder
    from store.db import utcnow
    from tests.test_cameras import Handler

    camera_server = contextlib.ExitStack()  # stopped in step 5, or in `finally` if the test ends sooner
    url = camera_server.enter_context(serve(Handler)) + "/good.jpg"
    person = make_person(app_db, "hakui")
    name = f"歩きテストカメラ {uuid.uuid4().hex[:4]}"
    client = dash_app.server.test_client()
    folder = cameras_folder(dash_app.server.extensions["ishikawa.settings"].instance_path)
    cid = None
    with app_db.session() as s:
        cf.ensure_demo_cameras(s)  # others on the map, so "gone" is told from "not loaded yet"
    try:
        dash_duo.driver.set_window_size(1280, 1000)
        dash_duo.start_server(dash_app, port=free_port())
        # 1. register it at /staff/cameras: public, every 60 s
        _login(dash_duo, person.email, "/staff/cameras", "#staff-cameras-submit")
        dash_duo.find_element("#staff-cameras-name").send_keys(name)
        dash_duo.find_element("#staff-cameras-lon").send_keys("136.9400")
        dash_duo.find_element("#staff-cameras-lat").send_keys("37.0400")
        dash_duo.find_element("#staff-cameras-url").send_keys(url)
        interval = dash_duo.find_element("#staff-cameras-interval")
        interval.clear()
        interval.send_keys("60")
        dash_duo.find_element("#staff-cameras-submit").click()
        dash_duo.wait_for_contains_text("#staff-cameras-list", name, timeout=10)
        with app_db.session() as s:
            cid = s.query(Camera).filter_by(name_ja=name).one().id
        # 2. the first snapshot, fetched at registration (well within one interval), on the public map
        wait_until(lambda: _images(app_db, cid) >= 1, 30, "the first snapshot")
        _anonymous(dash_duo, "/?lat=37.04&lon=136.94&z=15&layers=cameras")
        popup = _open_camera_popup(dash_duo, name)
        img = popup.find_element(By.CSS_SELECTOR, "img.camera-thumb")
        assert f"/api/cameras/{cid}/" in img.get_attribute("src")
        wait_until(lambda: dash_duo.driver.execute_script("return arguments[0].naturalWidth", img) > 0, 10,
                   "the thumbnail to load")
        assert "撮影" in popup.get_attribute("textContent")
        assert not popup.find_elements(By.CSS_SELECTOR, ".camera-stale")
        # 3. the job's later rounds fill the 24-h strip (snapshots of the past hours, from the same server)
        now = utcnow()
        for hours in (5, 4, 3, 2, 1):
            assert cf.fetch_camera(app_db, folder, cid, ["127.0.0.1"], now=now - timedelta(hours=hours))
        dash_duo.driver.execute_cdp_cmd("Network.clearBrowserCache", {})  # the list is cached for 30 s
        dash_duo.driver.refresh()
        _open_camera_popup(dash_duo, name)
        wait_until(lambda: len(dash_duo.find_elements(".camera-strip-item img")) >= 6, 15, "the strip")
        assert all(f"/api/cameras/{cid}/images/" in i.get_attribute("src")
                   for i in dash_duo.find_elements(".camera-strip-item img"))
        # 4. made private: gone for an anonymous browser, its images too
        r = client.patch(f"/api/cameras/{cid}", json={"visibility": "private"}, headers=person.auth)
        assert r.status_code == 200, r.get_json()
        _anonymous(dash_duo, "/?lat=37.04&lon=136.94&z=15&layers=cameras")
        wait_until(lambda: len(_camera_titles(dash_duo)) > 0, 15, "the other cameras")  # the demo cameras
        assert name not in _camera_titles(dash_duo)
        assert client.get(f"/api/cameras/{cid}/latest.jpg").status_code == 404
        assert name not in client.get("/api/layers/cameras/features").get_data(as_text=True)
        # 5. public again, then its server stops: the fetch fails, and once three intervals have passed
        # without a snapshot the popup shows the stopped badge
        assert client.patch(f"/api/cameras/{cid}", json={"visibility": "public"},
                            headers=person.auth).status_code == 200
        camera_server.close()
        assert cf.fetch_camera(app_db, folder, cid, ["127.0.0.1"]) is False
        with app_db.session() as s:
            cam = s.get(Camera, cid)
            assert cam.last_error
            cam.last_ok_at = utcnow() - timedelta(seconds=4 * cam.interval_s)  # the minutes that passed
        _anonymous(dash_duo, "/?lat=37.04&lon=136.94&z=15&layers=cameras")
        popup = _open_camera_popup(dash_duo, name)
        badge = wait_until(lambda: popup.find_elements(By.CSS_SELECTOR, ".camera-stale"), 10, "the stopped badge")
        assert badge[0].text == "停止中"
        assert not app_errors(dash_duo)
    finally:
        camera_server.close()
        if cid:
            with app_db.session() as s:
                from store.cameras import delete_camera

                cam = s.get(Camera, cid)
                if cam is not None:
                    delete_camera(s, folder, cam)
                assert s.query(CameraImage).filter_by(camera_id=cid).count() == 0


def _images(app_db, cid) -> int:
    from store.cameras import CameraImage

    with app_db.session() as s:
        return s.query(CameraImage).filter_by(camera_id=cid).count()


LANE, OTHER = "#e6b800", "#7f7f7f"  # layers.restrictions.COLORS: 車線規制, その他


def _coloured(dash_duo, map_id: str, colour: str) -> int:
    return dash_duo.driver.execute_script(
        "var c = arguments[1];"
        "return Array.from(document.querySelectorAll('#' + arguments[0] + ' path.leaflet-interactive'))"
        ".filter(function (p) { return p.getAttribute('stroke') === c || p.getAttribute('fill') === c; })"
        ".length", map_id, colour)


def _state_count(dash_duo, state: str, colour: str) -> int:
    return len(dash_duo.find_elements(f'#snow-map path.restriction-{state}[stroke="{colour}"]'))


def _in_force(dash_duo, colour: str) -> int:
    return dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('#snow-map path.leaflet-interactive'))"
        ".filter(function (p) { return !/restriction-(upcoming|ended)/.test(p.getAttribute('class')) &&"
        " (p.getAttribute('stroke') === arguments[0] || p.getAttribute('fill') === arguments[0]); }).length", colour)


def _popup_of(dash_duo, state: str, colour: str, text: str) -> str:
    """The popup text of the /snow restriction drawn as `state` in `colour` whose popup holds `text` ('' if none)."""
    return dash_duo.driver.execute_script(
        "var sel = '#snow-map path.restriction-' + arguments[0] + '[stroke=\"' + arguments[1] + '\"]';"
        "var paths = Array.from(document.querySelectorAll(sel));"
        "for (var i = 0; i < paths.length; i++) {"
        "  paths[i].dispatchEvent(new MouseEvent('click', {bubbles: true}));"
        "  var boxes = document.querySelectorAll('#snow-map .leaflet-popup-content');"  # the last: the one opened
        "  var box = boxes[boxes.length - 1];"
        "  var txt = box ? box.innerText : '';"
        "  if (txt.indexOf(arguments[2]) >= 0) { return txt; }"
        "}"
        "return '';", state, colour, text)


def test_an_uploaded_list_shows_in_force_on_the_map_and_replays_on_snow(dash_duo, dash_app, app_db):
    from store.db import utcnow
    from timezones import JST

    person = make_person(app_db, "hakui")
    tag = uuid.uuid4().hex[:6]
    now = utcnow()

    def jst(dt):
        return dt.astimezone(JST).strftime("%Y/%m/%d %H:%M")

    # 車線規制 in force since two hours; その他 (大型車規制) ended an hour ago; another from tomorrow
    csv = ("規制番号,規制内容,路線名,区間,規制理由,規制開始日時,規制終了日時,緯度,経度\n"
           f"W{tag}1,車線規制,歩き国道,羽咋市A,工事,{jst(now - timedelta(hours=2))},{jst(now + timedelta(hours=5))},"
           "36.9000,136.7700\n"
           f"W{tag}2,大型車規制,歩き県道,羽咋市B,積雪,{jst(now - timedelta(hours=5))},{jst(now - timedelta(hours=1))},"
           "36.9010,136.7710\n"
           f"W{tag}3,大型車規制,歩き市道,羽咋市C,工事,{jst(now + timedelta(days=1))},未定,36.9020,136.7720\n")
    tmp = Path("/tmp") / f"walk-restrictions-{tag}.csv"  # the browser reads the file from disk
    tmp.write_bytes(csv.encode("utf-8"))
    client = dash_app.server.test_client()
    home = "/?lat=36.901&lon=136.771&z=15&layers=road-restrictions"
    from sources import restrictions as rs

    rs.demo_tick(app_db, Path(__file__).resolve().parents[1] / "data")  # the shipped demo ones
    try:
        dash_duo.driver.set_window_size(1280, 1000)
        dash_duo.start_server(dash_app, port=free_port())
        dash_duo.driver.get(dash_duo.server_url + home)
        dash_duo.wait_for_element("#home-map", timeout=15)
        wait_until(lambda: dash_duo.find_elements("#home-map path.leaflet-interactive"), 15, "the demo restrictions")
        before = {c: _coloured(dash_duo, "home-map", c) for c in (LANE, OTHER)}
        # the road manager uploads the list at /staff/road-info
        _login(dash_duo, person.email, "/staff/road-info", "#staff-roadinfo-restriction-upload")
        dash_duo.find_element("#staff-roadinfo-restriction-upload input[type=file]").send_keys(str(tmp))
        dash_duo.wait_for_contains_text("#staff-roadinfo-message", "3 件の規制", timeout=15)
        dash_duo.wait_for_contains_text("#staff-roadinfo-restriction-list", "歩き県道", timeout=10)
        # `/`: only the one in force
        _anonymous(dash_duo, home)
        dash_duo.wait_for_element("#home-map", timeout=15)
        wait_until(lambda: _coloured(dash_duo, "home-map", LANE) == before[LANE] + 1, 15, "the lane rule in force")
        assert _coloured(dash_duo, "home-map", OTHER) == before[OTHER]
        # `/snow`: all three — the lane rule in force, the ended one and tomorrow's drawn as ended / upcoming
        dash_duo.driver.get(dash_duo.server_url + "/snow")
        wait_until(lambda: _coloured(dash_duo, "snow-map", LANE) >= 1, 20, "the lane rule on /snow")
        wait_until(lambda: _popup_of(dash_duo, "ended", OTHER, "歩き県道"), 15, "the ended rule drawn")
        ended = _popup_of(dash_duo, "ended", OTHER, "歩き県道")
        assert "終了" in ended and jst(now - timedelta(hours=1)).replace("/", "-") in ended
        upcoming = _popup_of(dash_duo, "upcoming", OTHER, "歩き市道")
        assert "予定" in upcoming and jst(now + timedelta(days=1)).replace("/", "-") in upcoming
        assert not _popup_of(dash_duo, "upcoming", LANE, "歩き国道")  # in force, not upcoming
        counts = {k: _state_count(dash_duo, *k) for k in (("ended", OTHER), ("upcoming", LANE))}
        # three hours back: the ended one in force, the lane rule upcoming
        dash_duo.driver.execute_script("window.dash_clientside.set_props('snow-time', {value: -180})")
        wait_until(lambda: _state_count(dash_duo, "ended", OTHER) == counts["ended", OTHER] - 1, 15,
                   "the ended rule in force when replayed")
        wait_until(lambda: _state_count(dash_duo, "upcoming", LANE) == counts["upcoming", LANE] + 1, 15,
                   "the lane rule upcoming when replayed")
        assert _in_force(dash_duo, LANE) == 0  # not in force yet
        assert _popup_of(dash_duo, "upcoming", LANE, "歩き国道")
        # and all three in the list of everything
        listed = {x["id"] for x in client.get("/api/restrictions?all=1").get_json()["restrictions"]}
        assert {f"hakui-r-W{tag}{i}" for i in (1, 2, 3)} <= listed
        assert not app_errors(dash_duo)
    finally:
        tmp.unlink(missing_ok=True)
        for i in (1, 2, 3):
            client.delete(f"/api/restrictions/hakui-r-W{tag}{i}", headers=person.auth)


def test_posted_device_states_change_the_colour_and_a_fault_mail_arrives(dash_duo, dash_app, app_db):
    from alerts import sender
    from alerts.config import install_config_of
    from alerts.evaluation import tick_session
    from store import alerts as sa
    from store.db import utcnow
    from tests.smtp_helpers import SmtpSink

    person = make_person(app_db, "hakui")
    client = dash_app.server.test_client()
    did = f"walk-melter-{uuid.uuid4().hex[:6]}"
    now = utcnow().replace(microsecond=0)
    smtp = SmtpSink().start()
    rid = None
    try:
        first = [{"sensor_id": did, "state": "稼働中", "time": (now - timedelta(minutes=2)).isoformat(),
                  "lon": 136.9300, "lat": 37.0300, "name": "歩きテスト消雪装置", "visibility": "public"}]
        assert client.post("/api/readings", json=first, headers=person.auth).status_code == 200
        r = client.post("/api/alert-rules", json={"name": "歩き 消雪装置の故障", "target": "device", "device_id": did,
                                                  "recipients": ["road@hakui.example.jp"]}, headers=person.auth)
        assert r.status_code == 201, r.get_json()
        rid = r.get_json()["id"]
        dash_duo.start_server(dash_app, port=free_port())
        page = "/?lat=37.03&lon=136.93&z=16&layers=snow-melters"
        dash_duo.driver.get(dash_duo.server_url + page)
        marker = wait_until(lambda: [m for m in dash_duo.find_elements(".melter-marker")
                                     if m.get_attribute("title") and "歩きテスト消雪装置" in m.get_attribute("title")],
                            15, "the device")[0]
        assert "melter-running" in marker.get_attribute("class")
        fault = [{"sensor_id": did, "state": "故障", "time": now.isoformat()}]
        assert client.post("/api/readings", json=fault, headers=person.auth).status_code == 200
        dash_duo.driver.get(dash_duo.server_url + page)
        wait_until(lambda: [m for m in dash_duo.find_elements(".melter-marker.melter-fault")
                            if "歩きテスト消雪装置" in (m.get_attribute("title") or "")], 15, "the fault colour")
        with app_db.session() as s:  # the alerts job's round, then the mail job's
            tick_session(s, install_config_of(s), utcnow())
        with app_db.session() as s:
            cfg = install_config_of(s)
        sender.send_due(app_db, smtp.url, cfg.mail_from)
        msg = wait_until(lambda: [m for m in smtp.messages if "歩きテスト消雪装置" in str(m["Subject"])], 15,
                         "the fault mail")[0]
        body = msg.get_body(preferencelist=("plain",)).get_content()
        assert "road@hakui.example.jp" in smtp.envelopes[-1][1] and "故障" in str(msg["Subject"])
        assert "装置の状態" in body and "故障" in body
        with app_db.session() as s:
            assert [e.kind for e in s.query(sa.AlertEvent).filter_by(rule_id=rid)] == ["fired"]
        assert not app_errors(dash_duo)
    finally:
        smtp.stop()
        if rid:
            client.delete(f"/api/alert-rules/{rid}", headers=person.auth)
        client.delete(f"/api/melters/{did}", headers=person.auth)


SHOTS = Path("/tmp/h16-shots")


def test_staff_pick_one_device_and_the_snow_condition_in_the_rule_form(dash_duo, dash_app, app_db):
    """A road manager picks one of the devices they may see (another city's private one is not
    offered), chooses "stopped while snow" with a depth and a distance, and saves the rule."""
    from store import alerts as sa
    from store.db import utcnow
    from store.melters import RUNNING, MeltingDevice, report_state
    from store.models import Organisation
    from tests.test_alerts_browser import pick

    person = make_person(app_db, "hakui")
    tag = uuid.uuid4().hex[:6]
    mine, theirs = f"form-own-{tag}", f"form-kaga-{tag}"
    with app_db.session() as s:
        orgs = {o.code: o.id for o in s.query(Organisation)}
        for did, org, name in ((mine, "hakui", "フォーム用 羽咋の装置"),
                               (theirs, "kaga", "フォーム用 加賀の非公開装置")):
            dev = MeltingDevice(id=did, organisation_id=orgs[org], name_ja=name, name_en=name, lon=136.78, lat=36.9,
                                visibility="private")
            s.add(dev)
            s.flush()
            report_state(s, dev, RUNNING, utcnow() - timedelta(minutes=1))
    SHOTS.mkdir(exist_ok=True)
    rule_name = f"停止中の積雪 {tag}"
    try:
        dash_duo.start_server(dash_app, port=free_port())
        for lang, width in (("ja", 1280), ("en", 375), ("ja", 375), ("en", 1280)):
            dash_duo.driver.set_window_size(width if width > 500 else 500, 1400)
            if width < 500:
                dash_duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                                {"width": width, "height": 1400, "deviceScaleFactor": 1,
                                                 "mobile": True})
            else:
                dash_duo.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
            if not dash_duo.driver.get_cookies():
                _login(dash_duo, person.email, f"/staff/alerts?lang={lang}", "#staff-alerts-form")
            dash_duo.driver.get(dash_duo.server_url + f"/staff/alerts?lang={lang}")
            dash_duo.wait_for_element("#staff-alerts-form", timeout=15)
            target = dash_duo.find_element("#staff-alerts-target")
            target.find_element(By.CSS_SELECTOR, "input[value='device']").click()
            wait_until(lambda: dash_duo.find_element("#staff-alerts-device-id-row").is_displayed(), 10,
                       "the device picker")
            assert not dash_duo.find_element("#staff-alerts-threshold-row").is_displayed()
            dash_duo.find_element("#staff-alerts-device-condition").find_element(
                By.CSS_SELECTOR, "input[value='stopped_while_snow']").click()
            wait_until(lambda: dash_duo.find_element("#staff-alerts-snow-fields").is_displayed(), 10,
                       "the depth and distance")
            dash_duo.find_element("#staff-alerts-device-id").click()
            options = wait_until(lambda: [o.text for o in dash_duo.find_elements("[role='option']")], 10,
                                 "the device options")
            assert any("フォーム用 羽咋の装置" in o for o in options)
            assert not any("加賀の非公開" in o for o in options)  # another city's private device
            dash_duo.driver.execute_script("document.activeElement.blur()")
            dash_duo.find_element("body").click()
            form = dash_duo.find_element("#staff-alerts-form")
            dash_duo.driver.execute_script("arguments[0].scrollIntoView()", form)
            dash_duo.driver.save_screenshot(str(SHOTS / f"staff_alerts_device_{lang}_{width}.png"))
        # save one (en page, desktop)
        dash_duo.find_element("#staff-alerts-name").send_keys(rule_name)
        pick(dash_duo, "staff-alerts-device-id", "フォーム用 羽咋の装置")
        dash_duo.find_element("#staff-alerts-depth-over").send_keys("15")
        within = dash_duo.find_element("#staff-alerts-within-m")
        dash_duo.clear_input(within)
        within.send_keys("2000")
        dash_duo.find_element("#staff-alerts-recipients").send_keys("road@hakui.example.jp")
        dash_duo.find_element("#staff-alerts-save").click()
        dash_duo.wait_for_contains_text("#staff-alerts-message", rule_name, timeout=10)
        wait_until(lambda: any(rule_name in r.text and "stopped while the nearest snow depth > 15 cm (within 2000 m)"
                               in r.text for r in dash_duo.find_elements(".rule-row")), 10, "the rule row")
        dash_duo.find_element("#staff-alerts-preview").click()
        dash_duo.wait_for_contains_text("#staff-alerts-preview-subject", rule_name, timeout=10)
        subject = dash_duo.find_element("#staff-alerts-preview-subject").text
        assert "フォーム用 羽咋の装置" in subject and "稼働中" in subject  # the device as it is now
        dash_duo.driver.save_screenshot(str(SHOTS / "staff_alerts_device_saved_en_1280.png"))
        with app_db.session() as s:
            rule = s.query(sa.AlertRule).filter_by(name=rule_name).one()
            assert rule.target == "device" and rule.sensor_id == mine
            assert rule.options == {"condition": "stopped_while_snow", "depth_over": 15, "within_m": 2000}
        assert not app_errors(dash_duo)
    finally:
        with app_db.session() as s:
            for rule in s.query(sa.AlertRule).filter_by(name=rule_name):
                s.delete(rule)
            for did in (mine, theirs):
                dev = s.get(MeltingDevice, did)
                if dev is not None:
                    s.delete(dev)
