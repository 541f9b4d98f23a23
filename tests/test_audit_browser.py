"""/staff/audit and /staff/usage in headless Chromium: an org_admin sees their organisation's
entries (not another's), filters and pages them; an editor is refused with a message; usage shows
the table, the chart and the per-layer requests, in Japanese and English."""
from __future__ import annotations

import uuid

import pytest

from store.users import EDITOR, create_user
from tests.browser_helpers import app_errors, free_port, text, wait_until
from tests.staff_helpers import GEOJSON, PASSWORD, make_people, upload

pytestmark = pytest.mark.browser


def person(db, org: str, role: str) -> str:
    email = f"{org}-{role}-{uuid.uuid4().hex[:6]}@example.jp"
    with db.session() as s:
        user = create_user(s, email, PASSWORD, org, EDITOR)
        user.role = role
    return email


def log_in(dash_duo, email: str, next_path: str) -> None:
    dash_duo.driver.delete_all_cookies()
    dash_duo.driver.get(f"{dash_duo.server_url}/login?next={next_path}")
    dash_duo.wait_for_element("input[name=email]", timeout=10).send_keys(email)
    dash_duo.find_element("input[name=password]").send_keys(PASSWORD)
    dash_duo.find_element("form button").click()


def test_audit_page_scope_filters_and_refusal(dash_duo, dash_app, app_db):
    people = make_people(app_db)
    client = dash_app.server.test_client()
    mine = upload(client, people["kaga"], GEOJSON, visibility="private", name="加賀の監査レイヤ")
    theirs = upload(client, people["hakui"], GEOJSON, visibility="private", name="羽咋の監査レイヤ")
    assert mine.status_code == theirs.status_code == 201
    kaga_lid, hakui_lid = mine.get_json()["id"], theirs.get_json()["id"]
    assert client.patch(f"/api/layers/{kaga_lid}", json={"visibility": "public"},
                        headers=people["kaga"].auth).status_code == 200
    org_admin = person(app_db, "kaga", "org_admin")
    dash_duo.driver.set_window_size(1280, 1000)
    dash_duo.start_server(dash_app, port=free_port())

    dash_duo.driver.get(dash_duo.server_url + "/staff/audit")
    dash_duo.wait_for_element("#staff-audit-need-login", timeout=10)
    log_in(dash_duo, org_admin, "/staff/audit")
    dash_duo.wait_for_element("#staff-audit-table", timeout=15)
    table = text(dash_duo, "#staff-audit-table")
    assert kaga_lid in table and "加賀の監査レイヤ" in table and "private → public" in table
    assert hakui_lid not in table and "羽咋の監査レイヤ" not in table
    assert "加賀市" in dash_duo.find_element("#staff-audit-scope").text
    # filter by action: the visibility change only
    dash_duo.find_element("#staff-audit-action").click()
    option = wait_until(lambda: next((o for o in dash_duo.find_elements("[role='option']")
                                      if o.text.strip() == "公開・非公開の変更"), None), what="the action option")
    option.click()
    wait_until(lambda: "アップロード" not in text(dash_duo, "#staff-audit-table")
               and kaga_lid in text(dash_duo, "#staff-audit-table"), what="the filtered table")
    assert "/staff/audit.csv?action=layer.visibility" in dash_duo.find_element("#staff-audit-csv").get_attribute("href")
    assert "1 / 1" in dash_duo.find_element("#staff-audit-paging").text
    # someone's e-mail that matches nothing
    dash_duo.find_element("#staff-audit-actor").send_keys("nobody-at-all\n")
    dash_duo.wait_for_element("#staff-audit-empty", timeout=10)
    assert not app_errors(dash_duo)

    # an editor is told plainly, and sees no table
    editor = person(app_db, "kaga", EDITOR)
    log_in(dash_duo, editor, "/staff/audit")
    dash_duo.wait_for_element("#staff-audit-forbidden", timeout=15)
    assert "組織管理者" in dash_duo.find_element("#staff-audit-forbidden").text
    assert not dash_duo.find_elements("#staff-audit-table")

    # the admin, in English, sees both organisations
    log_in(dash_duo, person(app_db, "ishikawa", "admin"), "/staff/audit?lang=en")
    dash_duo.wait_for_element("#staff-audit-table", timeout=15)
    table = text(dash_duo, "#staff-audit-table")
    assert kaga_lid in table and hakui_lid in table and "Upload (new layer)" in table
    assert dash_duo.find_element(".staff-nav-link.active").text == "Audit log"


def test_usage_page_table_chart_and_layers(dash_duo, dash_app, app_db):
    people = make_people(app_db)
    client = dash_app.server.test_client()
    r = upload(client, people["hakui"], GEOJSON, visibility="public", name="羽咋の利用テスト")
    assert r.status_code == 201
    lid = r.get_json()["id"]
    for _ in range(4):
        assert client.get(f"/api/layers/{lid}/features?v=1").status_code == 200
    hakui_editor = person(app_db, "hakui", EDITOR)
    dash_duo.driver.set_window_size(1280, 1200)
    dash_duo.start_server(dash_app, port=free_port())
    log_in(dash_duo, hakui_editor, "/staff/usage")
    dash_duo.wait_for_element("#staff-usage-table", timeout=15)
    rows = dash_duo.driver.execute_script(
        "return [...document.querySelectorAll('.usage-row')].map(r => r.dataset.org)")
    assert rows == ["hakui"]  # others: their own organisation only
    dash_duo.wait_for_element("#staff-usage-chart .main-svg", timeout=15)
    layers = text(dash_duo, "#staff-usage-layers")
    assert "羽咋の利用テスト" in layers and "4" in layers
    assert "/staff/usage.csv?month=" in dash_duo.find_element("#staff-usage-csv").get_attribute("href")
    # another metric for the chart
    dash_duo.find_element("#staff-usage-metric").click()
    wait_until(lambda: next((o for o in dash_duo.find_elements("[role='option']") if o.text.strip() == "地物数"),
                            None), what="the metric option").click()
    dash_duo.wait_for_contains_text("#staff-usage-chart", "地物数", timeout=10)
    assert not app_errors(dash_duo)

    admin = person(app_db, "ishikawa", "admin")
    log_in(dash_duo, admin, "/staff/usage?lang=en")
    dash_duo.wait_for_element("#staff-usage-table", timeout=15)
    rows = dash_duo.driver.execute_script(
        "return [...document.querySelectorAll('.usage-row')].map(r => r.dataset.org)")
    assert {"ishikawa", "kaga", "hakui"} <= set(rows)
    assert "Map requests served" in text(dash_duo, "#staff-usage-table")
