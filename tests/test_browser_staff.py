"""Staff flows in headless Chromium: log in, upload, publish, see it on the public map,
make it private and watch it vanish for an anonymous visitor; a file full of script payloads runs
nothing anywhere it is shown."""
from __future__ import annotations

import json
import re

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

from tests.browser_helpers import app_errors, free_port, wait_until
from tests.staff_helpers import CP932_CSV, PASSWORD, make_person

pytestmark = pytest.mark.browser


def login(dash_duo, email):
    dash_duo.driver.get(dash_duo.server_url + "/login")
    dash_duo.wait_for_element("#login-email", timeout=10).send_keys(email)
    dash_duo.find_element("#login-password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    dash_duo.wait_for_element("#staff-layers-list, .staff-content", timeout=15)


def logout(dash_duo):
    if not dash_duo.find_elements("button.staff-logout-btn"):  # the public map has no staff bar
        dash_duo.driver.get(dash_duo.server_url + "/logout")
        dash_duo.wait_for_element("#logout-submit", timeout=10).click()
    else:
        dash_duo.find_element("button.staff-logout-btn").click()
    dash_duo.wait_for_element("#login-email", timeout=10)


def upload_file(dash_duo, path, name, visibility="public"):
    dash_duo.driver.get(dash_duo.server_url + "/staff/upload")
    dash_duo.wait_for_element("#staff-upload-file", timeout=15).send_keys(str(path))
    dash_duo.wait_for_element("#staff-upload-count", timeout=20)
    field = dash_duo.find_element("#staff-upload-name")
    field.clear()
    field.send_keys(name)
    dash_duo.find_element(f"#staff-upload-visibility input[value={visibility}]").click()
    dash_duo.find_element("#staff-upload-publish").click()
    link = dash_duo.wait_for_element("#staff-upload-map-link", timeout=20)
    return re.search(r"layers=([\w-]+)", link.get_attribute("href")).group(1)


def fetch_status(dash_duo, url) -> int:
    dash_duo.driver.set_script_timeout(15)
    return dash_duo.driver.execute_async_script(
        "var done = arguments[arguments.length - 1]; fetch(arguments[0], {credentials: 'same-origin'})"
        ".then(function (r) { done(r.status); });", url)


def test_log_in_upload_publish_then_private_vanishes(dash_duo, dash_app, app_db, tmp_path_factory):
    person = make_person(app_db, "kaga")
    dash_duo.driver.set_window_size(1400, 1100)
    dash_duo.start_server(dash_app, port=free_port())
    login(dash_duo, person.email)
    assert "staff/layers" in dash_duo.driver.current_url

    # upload the CP932 CSV: preview shows the map, the first rows and the count
    dash_duo.driver.get(dash_duo.server_url + "/staff/upload")
    dash_duo.wait_for_element("#staff-upload-file", timeout=15).send_keys(str(CP932_CSV))
    count = dash_duo.wait_for_element("#staff-upload-count", timeout=20)
    assert "251 件中 251 件" in count.text
    assert dash_duo.find_element("#staff-upload-progress").get_attribute("value") == "100"
    rows = dash_duo.find_element("#staff-upload-rows").text
    assert "能越道大泊IC除雪車回転場" in rows
    wait_until(lambda: len(dash_duo.find_elements("#staff-upload-map path.uploaded-point")) > 100,
               what="preview points")
    shots = tmp_path_factory.mktemp("staff-screens")
    dash_duo.driver.save_screenshot(str(shots / "staff_upload.png"))
    name = dash_duo.find_element("#staff-upload-name")
    name.clear()
    name.send_keys("ランデブーポイント（試験）")
    dash_duo.find_element("#staff-upload-visibility input[value=public]").click()
    dash_duo.find_element("#staff-upload-publish").click()
    link = dash_duo.wait_for_element("#staff-upload-map-link", timeout=20)
    layer_id = re.search(r"layers=([\w-]+)", link.get_attribute("href")).group(1)

    # an anonymous visitor sees it in its menu group on the public map
    logout(dash_duo)
    dash_duo.driver.get(dash_duo.server_url + f"/?layers={layer_id}&lat=37.1&lon=136.9&z=9")
    box = dash_duo.wait_for_element(f'input[value="{layer_id}"]', timeout=15)
    assert box.is_selected()
    group = box.find_element(By.XPATH, "ancestor::fieldset").find_element(By.TAG_NAME, "legend").text
    assert group == "防災"
    wait_until(lambda: dash_duo.find_elements(".map-cluster") or dash_duo.find_elements("path.uploaded-point"),
               what="the uploaded layer on the map")
    assert "ランデブーポイント（試験）" in dash_duo.find_element("#home-legend").text
    assert fetch_status(dash_duo, f"/api/layers/{layer_id}/features") == 200

    # staff make it private
    login(dash_duo, person.email)
    dash_duo.driver.get(dash_duo.server_url + f"/staff/layers?layer={layer_id}")
    dash_duo.wait_for_element("#staff-layers-editor", timeout=15)
    dash_duo.driver.save_screenshot(str(shots / "staff_layers.png"))
    dash_duo.find_element("#staff-layers-visibility input[value=private]").click()
    dash_duo.find_element("#staff-layers-save").click()
    dash_duo.wait_for_contains_text("#staff-layers-save-result", "保存しました", timeout=15)
    # staff still see it on the public map, marked private
    dash_duo.driver.get(dash_duo.server_url + f"/?layers={layer_id}")
    box = dash_duo.wait_for_element(f'input[value="{layer_id}"]', timeout=15)
    label = box.find_element(By.XPATH, "ancestor::label")
    assert "（非公開）" in label.text

    # …and it vanishes for an anonymous visitor
    logout(dash_duo)
    dash_duo.driver.get(dash_duo.server_url + f"/?layers={layer_id}&lat=37.1&lon=136.9&z=9")
    dash_duo.wait_for_element("#home-map", timeout=15)
    dash_duo.wait_for_element('input[value="aed"]', timeout=15)
    assert not dash_duo.find_elements(f'input[value="{layer_id}"]')
    assert "ランデブーポイント（試験）" not in dash_duo.find_element("#home-panel").text
    assert fetch_status(dash_duo, f"/api/layers/{layer_id}/features") == 404
    assert fetch_status(dash_duo, f"/api/layers/{layer_id}/download.csv") == 404
    print("screenshots:", shots)
    # the only errors: the 404s this test asked for on purpose
    assert all(f"/api/layers/{layer_id}/" in e["message"] and "404" in e["message"] for e in app_errors(dash_duo))


PAYLOADS = [
    '<img src=x onerror="window.__xss=(window.__xss||0)+1">',
    '<script>window.__xss=(window.__xss||0)+1</script>',
    '"><svg onload="window.__xss=(window.__xss||0)+1">',
    "javascript:window.__xss=1",
    "=HYPERLINK(\"http://evil.example\")",
]


def payload_kml() -> str:
    marks = []
    img = '<img src=x onerror="window.__xss=(window.__xss||0)+1">'
    for i, p in enumerate(PAYLOADS):
        esc = p.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        marks.append(f"""<Placemark><name>{esc}</name>
<description><![CDATA[<b onclick="window.__xss=1">説明</b>{img}{p}]]></description>
<ExtendedData><Data name="{'備考' if i % 2 else 'url'}"><value>{esc}</value></Data></ExtendedData>
<Point><coordinates>{136.6 + i * 0.05},{36.55 + i * 0.02},0</coordinates></Point></Placemark>""")
    return ('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
            f'<Folder><name>{PAYLOADS[0].replace("<", "&lt;").replace(">", "&gt;")}</name>{"".join(marks)}</Folder>'
            '</Document></kml>')


def no_script_ran(dash_duo) -> bool:
    try:
        _ = dash_duo.driver.switch_to.alert  # raises while no alert is open
        return False
    except NoAlertPresentException:
        pass
    return dash_duo.driver.execute_script("return window.__xss === undefined")


def test_script_payloads_run_nowhere(dash_duo, dash_app, app_db, tmp_path):
    person = make_person(app_db, "hakui")
    path = tmp_path / "payloads.kml"
    path.write_text(payload_kml(), encoding="utf-8")
    dash_duo.driver.set_window_size(1400, 1100)
    dash_duo.start_server(dash_app, port=free_port())
    login(dash_duo, person.email)

    # the preview (table + map) shows the payloads as text
    dash_duo.driver.get(dash_duo.server_url + "/staff/upload")
    dash_duo.wait_for_element("#staff-upload-file", timeout=15).send_keys(str(path))
    dash_duo.wait_for_element("#staff-upload-count", timeout=20)
    wait_until(lambda: PAYLOADS[1] in dash_duo.find_element("#staff-upload-rows").text, what="the preview rows")
    assert no_script_ran(dash_duo)
    name = dash_duo.find_element("#staff-upload-name")
    name.clear()
    name.send_keys(PAYLOADS[0])
    dash_duo.find_element("#staff-upload-visibility input[value=public]").click()
    dash_duo.find_element("#staff-upload-publish").click()
    link = dash_duo.wait_for_element("#staff-upload-map-link", timeout=20)
    layer_id = re.search(r"layers=([\w-]+)", link.get_attribute("href")).group(1)
    assert no_script_ran(dash_duo)

    # the management page: list, settings, item table
    dash_duo.driver.get(dash_duo.server_url + f"/staff/layers?layer={layer_id}")
    dash_duo.wait_for_element("#staff-layers-items", timeout=15)
    wait_until(lambda: PAYLOADS[0] in dash_duo.find_element("#staff-layers-list").text, what="the layer list")
    wait_until(lambda: PAYLOADS[2] in dash_duo.find_element("#staff-layers-items").text, what="the item table")
    assert no_script_ran(dash_duo)

    # the public map: panel, legend, popups of every point
    dash_duo.driver.get(dash_duo.server_url + f"/?layers={layer_id}&lat=36.6&lon=136.72&z=11")
    dash_duo.wait_for_element(f'input[value="{layer_id}"]', timeout=15)
    wait_until(lambda: len(dash_duo.find_elements("path.uploaded-point")) == len(PAYLOADS), timeout=20,
               what="all payload points")
    seen = []
    for i in range(len(PAYLOADS)):
        dash_duo.driver.execute_script(
            "document.querySelectorAll('path.uploaded-point')[arguments[0]]"
            ".dispatchEvent(new MouseEvent('click', {bubbles: true}))", i)
        state = wait_until(lambda: dash_duo.driver.execute_script(
            "var p = document.querySelector('.leaflet-popup-content .popup');"
            "return p ? [p.innerText, p.querySelectorAll(\"img, script, svg, b, a[href^='javascript']\").length]"
            " : null;"), what="a popup")
        seen.append(state[0])
        assert state[1] == 0, state
        dash_duo.driver.execute_script("document.querySelector('.leaflet-popup-close-button').click()")
        wait_until(lambda: not dash_duo.find_elements(".leaflet-popup-content"), what="the popup to close")
    assert any(PAYLOADS[1] in text for text in seen) and any(PAYLOADS[0] in text for text in seen), seen
    assert PAYLOADS[0] in dash_duo.find_element("#home-panel").text
    assert no_script_ran(dash_duo)
    logs = json.dumps(app_errors(dash_duo))
    assert "__xss" not in logs


def open_private_layer(dash_duo, dash_app, app_db, client):
    """A private layer of 22 points uploaded by an editor of 能美市, open at /staff/layers (English)."""
    from tests.staff_helpers import GEOJSON, upload

    person = make_person(app_db, "nomi")
    layer_id = upload(client, person, GEOJSON, visibility="private").json["id"]
    dash_duo.driver.set_window_size(1400, 1100)
    dash_duo.start_server(dash_app, port=free_port())
    login(dash_duo, person.email)
    dash_duo.driver.get(dash_duo.server_url + f"/staff/layers?layer={layer_id}&lang=en")
    dash_duo.wait_for_element("#staff-layers-items", timeout=15)
    assert wait_until(lambda: grid_rows(dash_duo, "staff-layers-items"), what="the item grid") == 22
    return person, layer_id


def test_add_a_point_by_clicking_the_map_and_delete_with_confirmation(dash_duo, dash_app, app_db, client):
    person, layer_id = open_private_layer(dash_duo, dash_app, app_db, client)
    # click the map: the point is chosen, then added
    wait_until(lambda: dash_duo.find_elements("#staff-layers-map path.uploaded-point"), what="the layer's points")
    the_map = dash_duo.find_element("#staff-layers-map")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", the_map)
    from selenium.webdriver.common.action_chains import ActionChains

    # 200 px right of and 120 px below the map's top-left corner, counted from its centre (where
    # move_to_element puts the pointer in every Selenium version)
    size = the_map.size
    ActionChains(dash_duo.driver).move_to_element(the_map).move_by_offset(
        200 - size["width"] // 2, 120 - size["height"] // 2).click().perform()
    dash_duo.wait_for_contains_text("#staff-layers-click", "Chosen point", timeout=10)
    dash_duo.find_element("#staff-layers-add").click()
    dash_duo.wait_for_contains_text("#staff-layers-add-result", "Point added", timeout=10)
    assert len(client.get(f"/api/layers/{layer_id}/features", headers=person.auth).json["features"]) == 23
    # delete: a confirmation first; cancelling keeps the layer
    dash_duo.find_element("#staff-layers-delete").click()
    wait_until(lambda: _alert(dash_duo), what="the confirmation")
    dash_duo.driver.switch_to.alert.dismiss()
    assert client.get(f"/api/layers/{layer_id}/features", headers=person.auth).status_code == 200
    dash_duo.find_element("#staff-layers-delete").click()
    wait_until(lambda: _alert(dash_duo), what="the confirmation")
    dash_duo.driver.switch_to.alert.accept()
    dash_duo.wait_for_contains_text("#staff-layers-delete-result", "Deleted", timeout=10)
    assert client.get(f"/api/layers/{layer_id}/features", headers=person.auth).status_code == 404


def grid_rows(dash_duo, grid_id):
    """Rows an AG Grid holds after its filters (it draws only those in view)."""
    return dash_duo.driver.execute_script(
        "var api = window.dash_ag_grid && dash_ag_grid.getApi(arguments[0]);"
        "return api ? api.getDisplayedRowCount() : null;", grid_id)


def test_edit_and_delete_items_in_the_grid(dash_duo, dash_app, app_db, client):
    """Cells are edited in place, rows ticked and deleted, a filter narrows the view without
    deleting what it hides; saving applies exactly that."""
    from selenium.webdriver.common.keys import Keys

    person, layer_id = open_private_layer(dash_duo, dash_app, app_db, client)
    headers = [e.text for e in dash_duo.find_elements("#staff-layers-items .ag-header-cell-text")]
    assert "名称" in headers and "id" in headers

    def cell(fid, col):
        return dash_duo.find_element(f'#staff-layers-items .ag-row[row-id="{fid}"] .ag-cell[col-id="{col}"]')

    # edit a name in place
    target = cell("3", "名称")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", target)
    target.click()
    editor = wait_until(lambda: dash_duo.find_elements("#staff-layers-items .ag-cell-inline-editing input"),
                        what="the cell editor")[0]
    editor.send_keys(Keys.CONTROL, "a")
    editor.send_keys("新しい名前", Keys.ENTER)
    wait_until(lambda: cell("3", "名称").text == "新しい名前", what="the edited cell")
    # tick row 5 and delete it
    box = dash_duo.find_element('#staff-layers-items .ag-row[row-id="5"] .ag-selection-checkbox input')
    dash_duo.driver.execute_script("arguments[0].click()", box)
    dash_duo.find_element("#staff-layers-delete-rows").click()
    wait_until(lambda: grid_rows(dash_duo, "staff-layers-items") == 21, what="the row to leave the grid")
    # a filter hides rows without deleting them
    dash_duo.driver.execute_script(
        "dash_ag_grid.getApi('staff-layers-items').setFilterModel("
        "{'名称': {filterType: 'text', type: 'contains', filter: '新しい'}})")
    wait_until(lambda: grid_rows(dash_duo, "staff-layers-items") == 1, what="the filtered view")
    dash_duo.find_element("#staff-layers-save-items").click()
    dash_duo.wait_for_contains_text("#staff-layers-items-result", "1 changed, 1 deleted", timeout=15)
    features = client.get(f"/api/layers/{layer_id}/features", headers=person.auth).json["features"]
    assert len(features) == 21
    by_id = {f["id"]: f["properties"] for f in features}
    assert by_id["3"]["名称"] == "新しい名前" and "5" not in by_id


def _alert(dash_duo):
    try:
        return dash_duo.driver.switch_to.alert
    except NoAlertPresentException:
        return None


def test_admin_adds_a_user_who_renames_their_group_and_uses_a_token(dash_duo, dash_app, app_db, client, tmp_path):
    """Accounts on the web: an admin adds a 羽咋市 editor; the editor logs in, renames their menu
    group (the public panel shows the new name), and makes an API token that then uploads a file."""
    from layers.manage import resolve_group
    from store.users import ADMIN, get_user_by_email, staff_of
    from tests.staff_helpers import GEOJSON, Person, upload

    admin = make_person(app_db, "ishikawa", ADMIN)
    colleague = make_person(app_db, "hakui")
    with app_db.session() as s:
        hakui_staff = staff_of(s, get_user_by_email(s, colleague.email))
    group = resolve_group(app_db, hakui_staff, "__new__", "羽咋の防災（旧）", "")
    layer_id = upload(client, colleague, GEOJSON, group=group).json["id"]
    new_email = f"hakui-new-{layer_id[-6:]}@example.jp"

    dash_duo.driver.set_window_size(1400, 1100)
    dash_duo.start_server(dash_app, port=free_port())
    login(dash_duo, admin.email)
    dash_duo.driver.get(dash_duo.server_url + "/staff/account")
    dash_duo.wait_for_element("#staff-account-users-table", timeout=15)
    dash_duo.find_element("#staff-account-new-email").send_keys(new_email)
    dash_duo.select_dcc_dropdown("#staff-account-new-org", value="羽咋市")
    dash_duo.find_element("#staff-account-new-password").send_keys("first password")
    dash_duo.find_element("#staff-account-add").click()
    dash_duo.wait_for_contains_text("#staff-account-users-message", "を追加しました", timeout=10)
    row = next(r for r in dash_duo.find_elements("#staff-account-users-table tr") if new_email in r.text)
    assert "羽咋市" in row.text and "編集者" in row.text
    assert dash_duo.find_element("#staff-account-new-email").get_attribute("value") == ""
    logout(dash_duo)

    # the new editor: the admin section is not there; their organisation's group is
    dash_duo.driver.get(dash_duo.server_url + "/login")
    dash_duo.wait_for_element("#login-email", timeout=10).send_keys(new_email)
    dash_duo.find_element("#login-password").send_keys("first password")
    dash_duo.find_element("#login-submit").click()
    dash_duo.wait_for_element("#staff-layers-list, .staff-content", timeout=15)
    dash_duo.driver.get(dash_duo.server_url + "/staff/account")
    dash_duo.wait_for_element("#staff-account-token-create", timeout=15)
    assert not dash_duo.find_elements("#staff-account-admin")
    dash_duo.find_element("#staff-account-token-name").send_keys("連携テスト")
    dash_duo.find_element("#staff-account-token-create").click()
    token = dash_duo.wait_for_element("#staff-account-new-token", timeout=10).text.strip()
    assert "連携テスト" in dash_duo.find_element("#staff-account-tokens-table").text
    resp = upload(client, Person(new_email, token, "hakui", "editor"), GEOJSON, name="トークンで登録")
    assert resp.status_code == 201, resp.json

    dash_duo.driver.get(dash_duo.server_url + "/staff/groups")
    dash_duo.wait_for_element("#staff-groups-table", timeout=15)
    field = dash_duo.find_element('input[value="羽咋の防災（旧）"]')
    dash_duo.clear_input(field)
    field.send_keys("羽咋市の防災")
    dash_duo.driver.save_screenshot(str(tmp_path / "staff_groups.png"))
    row = field.find_element(By.XPATH, "ancestor::tr")
    row.find_element(By.XPATH, ".//button[contains(., '保存')]").click()
    dash_duo.wait_for_contains_text("#staff-groups-message", "保存しました", timeout=10)
    row = next(r for r in dash_duo.find_elements("#staff-groups-table tbody tr")  # the table was redrawn
               if r.find_element(By.TAG_NAME, "input").get_property("value") == "羽咋市の防災")
    assert row.find_element(By.XPATH, ".//button[contains(., '削除')]").get_attribute("disabled")  # it holds a layer

    dash_duo.driver.get(dash_duo.server_url + f"/?layers={layer_id}")
    box = dash_duo.wait_for_element(f'input[value="{layer_id}"]', timeout=15)
    legend = box.find_element(By.XPATH, "ancestor::fieldset").find_element(By.TAG_NAME, "legend").text
    assert legend == "羽咋市の防災"
    assert not app_errors(dash_duo)
