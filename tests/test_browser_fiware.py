"""Browser flows of /sensors, /catalog and /staff/sources (headless Chromium, dash_duo)."""
from __future__ import annotations

import uuid

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser_helpers import app_errors, free_port, query, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("loopback_sources")]


def start(dash_duo, dash_app, path):
    dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.get(dash_duo.server_url + path)


def traces(dash_duo):
    return dash_duo.find_elements("#sensors-graph .scatterlayer .trace")


def legend_texts(dash_duo):
    return [e.text for e in dash_duo.find_elements("#sensors-graph .legendtext")]


def test_sensor_dashboard_several_sensors_aggregated(dash_duo, dash_app, tmp_path_factory):
    dash_duo.driver.set_window_size(1280, 1400)
    start(dash_duo, dash_app, "/sensors?sensors=snow-hakui-01,snow-kaga-05&agg=hour")
    dash_duo.wait_for_element("#sensors-graph .main-svg", timeout=15)
    texts = wait_until(lambda: legend_texts(dash_duo), what="legend")
    assert sum("平均" in x for x in texts) == 2 and sum("最小–最大" in x for x in texts) == 2
    summary = dash_duo.find_element("#sensors-summary").text
    assert summary.startswith("最新値") and "羽咋小学校" in summary and "西谷地区会館" in summary
    # the table holds min/max/mean per hour for both sensors
    headers = wait_until(lambda: [e.text for e in dash_duo.find_elements("#sensors-table .ag-header-cell-text")],
                         what="table headers")
    assert any("最小" in h for h in headers) and any("平均" in h for h in headers)
    assert len(wait_until(lambda: dash_duo.find_elements("#sensors-table .ag-center-cols-container .ag-row"),
                          what="table rows")) >= 10
    # a different range: the URL (permalink) follows, the CSV link too
    dash_duo.find_element('#sensors-range input[value="7d"]').click()
    wait_until(lambda: query(dash_duo).get("range") == "7d", what="url follows the range")
    q = query(dash_duo)
    assert q["sensors"] == "snow-hakui-01,snow-kaga-05" and q["agg"] == "hour"
    csv_href = dash_duo.find_element("#sensors-csv").get_attribute("href")
    assert "range=7d" in csv_href and "/api/sensors/export.csv" in csv_href
    # custom range fields appear only for "custom"
    assert not dash_duo.find_element("#sensors-start").is_displayed()
    dash_duo.find_element('#sensors-range input[value="custom"]').click()
    wait_until(lambda: dash_duo.find_element("#sensors-start").is_displayed(), what="custom inputs")
    shots = tmp_path_factory.mktemp("screenshots")
    dash_duo.driver.save_screenshot(str(shots / "sensors.png"))
    print("screenshot:", shots / "sensors.png")
    assert not app_errors(dash_duo)


def test_sensor_dashboard_pick_on_the_map_and_permalink(dash_duo, dash_app):
    dash_duo.driver.set_window_size(1280, 1200)
    start(dash_duo, dash_app, "/sensors?sensor=snow-hakui-01&lang=en")
    dash_duo.wait_for_element("#sensors-graph .main-svg", timeout=15)
    assert dash_duo.find_element("#sensors-summary").text.startswith("Latest")
    markers = wait_until(lambda: dash_duo.find_elements("#sensors-map path.leaflet-interactive"), what="markers")
    assert len(markers) >= 10
    wait_until(lambda: len(traces(dash_duo)) == 1, what="one line")
    # click a sensor that is not selected yet (selected ones are drawn in red)
    target = next(m for m in markers if (m.get_attribute("fill") or "").lower() == "#1d70b8")
    dash_duo.driver.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", target)
    wait_until(lambda: len(query(dash_duo).get("sensors", "").split(",")) == 2, what="second sensor picked")
    wait_until(lambda: len(traces(dash_duo)) == 2, what="two lines")
    link = dash_duo.find_element("#sensors-permalink").get_attribute("href")
    # the permalink opens the same selection
    dash_duo.driver.get(link)
    dash_duo.wait_for_element("#sensors-graph .main-svg", timeout=15)
    wait_until(lambda: len(traces(dash_duo)) == 2, what="two sensors from the permalink")
    assert not app_errors(dash_duo)


def test_catalog_lists_every_public_dataset(dash_duo, dash_app, client, tmp_path_factory):
    dash_duo.driver.set_window_size(1280, 1000)
    start(dash_duo, dash_app, "/")
    link = dash_duo.wait_for_element("#home-link-catalog", timeout=15)  # from the public map's panel
    assert link.text == "データカタログ（オープンデータ）"
    dash_duo.driver.get(link.get_attribute("href"))
    dash_duo.wait_for_element("#catalog-list", timeout=15)
    public = client.get("/api/layers").get_json()["layers"]
    cards = dash_duo.find_elements(".catalog-card")
    assert len(cards) == len(public) and f"公開データ {len(public)} 件" == dash_duo.find_element("#catalog-count").text
    aed = next(c for c in cards if "AED設置場所" in c.text)
    for word in ["石川県", "ライセンス", "最終更新", "211", "GeoJSON", "CSV", "OGC API"]:
        assert word in aed.text, word
    hrefs = {a.text: a.get_attribute("href") for a in aed.find_elements(By.CSS_SELECTOR, "a.catalog-link")}
    assert hrefs["GeoJSON"].endswith("/api/layers/aed/features")
    assert hrefs["CSV"].endswith("/api/layers/aed/features.csv")
    assert hrefs["OGC API"].endswith("/ogcapi/collections/aed")
    for name in ["GeoJSON", "CSV", "OGC API"]:  # every link answers
        path = "/" + hrefs[name].split("/", 3)[3]
        assert client.get(path).status_code == 200, path
    shots = tmp_path_factory.mktemp("screenshots")
    dash_duo.driver.save_screenshot(str(shots / "catalog.png"))
    dash_duo.find_element("#catalog-lang-link").click()
    dash_duo.wait_for_contains_text("#catalog-count", "public datasets", timeout=15)
    assert "Organisation" in dash_duo.find_element(".catalog-card").text
    assert not app_errors(dash_duo)


def test_staff_registers_a_broker_source(dash_duo, dash_app, app_db, tmp_path_factory):
    from store.brokers import Source
    from store.users import EDITOR, create_user

    email = f"fiware-{uuid.uuid4().hex[:8]}@kaga.example.jp"
    with app_db.session() as s:
        create_user(s, email, "correct horse battery", "kaga", EDITOR)
    dash_duo.driver.set_window_size(1280, 1300)
    start(dash_duo, dash_app, "/staff/sources")
    dash_duo.wait_for_element("#staff-sources-need-login a", timeout=15).click()
    dash_duo.wait_for_element("#login-email", timeout=15).send_keys(email)
    dash_duo.find_element("#login-password").send_keys("correct horse battery")
    dash_duo.find_element("#login-submit").click()
    dash_duo.driver.get(dash_duo.server_url + "/staff/sources")
    dash_duo.wait_for_element("#staff-sources-save", timeout=15)
    name = f"加賀市 積雪 {uuid.uuid4().hex[:4]}"
    dash_duo.find_element("#staff-sources-name").send_keys(name)
    dash_duo.find_element("#staff-sources-url").send_keys("http://127.0.0.1:9")
    dash_duo.find_element("#staff-sources-service").send_keys("kaga-city")  # Orion refuses '-'
    dash_duo.find_element("#staff-sources-save").click()
    dash_duo.wait_for_contains_text("#staff-sources-message", "Fiware-Service", timeout=10)
    box = dash_duo.find_element("#staff-sources-service")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE)
    box.send_keys("kaga_city")
    dash_duo.find_element("#staff-sources-type").send_keys("WeatherObserved")
    dash_duo.find_element("#staff-sources-save").click()
    wait_until(lambda: name in dash_duo.find_element("#staff-sources-list").text, timeout=10,
               what=f"saved; message: {dash_duo.find_element('#staff-sources-message').text}")
    assert "/ngsi/notify/" in dash_duo.find_element("#staff-sources-list").text
    dash_duo.driver.execute_script("window.scrollTo(0, 0)")
    dash_duo.driver.save_screenshot(str(tmp_path_factory.mktemp("screenshots") / "staff_sources.png"))
    # poll now: nothing listens there, the state says so and nothing breaks
    row = next(r for r in dash_duo.find_elements("#staff-sources-list tbody tr") if name in r.text)
    row.find_element(By.XPATH, ".//button[contains(., '今すぐ取得')]").click()
    dash_duo.wait_for_contains_text("#staff-sources-message", "取得に失敗しました", timeout=20)
    with app_db.session() as s:
        src = s.query(Source).filter(Source.name == name).one()
        assert src.service == "kaga_city" and src.failures == 1
    # pointed at a broker, "通知を登録" creates an Orion subscription to our notify URL
    from tests.fake_orion import FakeOrion

    orion = FakeOrion().start()
    try:
        with app_db.session() as s:
            src = s.query(Source).filter(Source.name == name).one()
            src.base_url, sid, secret = orion.url, src.id, src.notify_secret
        dash_duo.driver.get(dash_duo.server_url + "/staff/sources")
        dash_duo.wait_for_contains_text("#staff-sources-list", name, timeout=15)
        row = next(r for r in dash_duo.find_elements("#staff-sources-list tbody tr") if name in r.text)
        row.find_element(By.XPATH, ".//button[contains(., '通知を登録')]").click()
        dash_duo.wait_for_contains_text("#staff-sources-message", "サブスクリプション", timeout=20)
        sub = orion.subscriptions[-1]
        assert sub["notification"]["httpCustom"]["url"].endswith(f"/ngsi/notify/{sid}")
        assert sub["notification"]["httpCustom"]["headers"] == {"X-Notify-Token": secret}
        assert orion.requests[-1]["headers"]["fiware-service"] == "kaga_city"
    finally:
        orion.stop()
        with app_db.session() as s:
            s.delete(s.query(Source).filter(Source.name == name).one())
    assert not app_errors(dash_duo)
