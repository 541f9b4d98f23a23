"""Onboarding a city in headless Chromium, as a new user would: a prefecture admin adds 七尾市
(code `nanao`) with its boundary and invites its administrator; the invite mail arrives at a local
SMTP server (aiosmtpd); the invitee sets a password, adds an editor; the editor uploads and
publishes a layer; `/o/nanao` shows it, framed on 七尾市; 七尾市's administrator finds each step in
`/staff/audit` with the right person and the layer, its features and the public requests made to it
in `/staff/usage`."""
from __future__ import annotations

import re

import pytest

from alerts.sender import send_due
from tests.browser_helpers import app_errors, free_port, wait_until
from tests.smtp_helpers import SmtpSink
from tests.staff_helpers import CP932_CSV, make_person
from tests.test_alerts_browser import pick
from tests.test_browser_staff import login, logout, upload_file

pytestmark = pytest.mark.browser


def test_admin_onboards_nanao_and_its_first_layer_reaches_its_portal(dash_duo, dash_app, app_db):
    from store.users import ADMIN

    admin = make_person(app_db, "ishikawa", ADMIN)
    sink = SmtpSink().start()
    dash_duo.driver.set_window_size(1280, 1000)
    dash_duo.start_server(dash_app, port=free_port())
    try:
        # 1. the prefecture admin adds 七尾市 with its municipal boundary
        login(dash_duo, admin.email)
        dash_duo.driver.get(dash_duo.server_url + "/staff/organisations")
        dash_duo.wait_for_element("#staff-orgs-table", timeout=15)
        dash_duo.find_element("#staff-orgs-code").send_keys("nanao")
        dash_duo.find_element("#staff-orgs-name-ja").send_keys("七尾市")
        dash_duo.find_element("#staff-orgs-name-en").send_keys("Nanao City")
        pick(dash_duo, "staff-orgs-boundary", "七尾市")
        dash_duo.find_element("#staff-orgs-add").click()
        dash_duo.wait_for_element("#staff-orgs-added", timeout=15)
        row = wait_until(lambda: next((r for r in dash_duo.find_elements("#staff-orgs-table tr")
                                       if "nanao" in r.text), None), what="the new row")
        assert "七尾市" in row.text and "有効" in row.text

        # 2. ... and invites its administrator by e-mail (the new organisation is already chosen)
        boss = "boss@city.nanao.example.jp"
        dash_duo.find_element("#staff-orgs-invite-email").send_keys(boss)
        dash_duo.find_element("#staff-orgs-invite").click()
        dash_duo.wait_for_element("#staff-orgs-invited", timeout=15)
        assert boss in dash_duo.find_element("#staff-orgs-table").text  # listed as invited
        settings = dash_app.server.extensions["ishikawa.settings"]
        send_due(app_db, sink.url, settings.mail_from)  # the alerts-mail job's pass
        mail = wait_until(lambda: next((m for m in sink.messages if m["To"] == boss), None), what="invite mail")
        assert "七尾市" in mail["Subject"]
        link = re.search(r"https?://\S+/invite/\S+", mail.get_body(("plain",)).get_content()).group(0)
        path = link[link.index("/invite/"):]
        logout(dash_duo)

        # 3. the invitee sets a password and is logged in, as 七尾市's org_admin
        dash_duo.driver.get(dash_duo.server_url + path)
        assert "七尾市" in dash_duo.wait_for_element("#invite-intro", timeout=10).text
        dash_duo.find_element("#invite-password").send_keys("nanao password 1")
        dash_duo.find_element("#invite-confirm").send_keys("nanao password 1")
        dash_duo.find_element("#invite-submit").click()
        dash_duo.wait_for_element("#staff-account-admin", timeout=15)
        assert dash_duo.find_element("#staff-account-email").text == boss
        # the link works once
        dash_duo.driver.get(dash_duo.server_url + path)
        dash_duo.wait_for_element("#invite-invalid", timeout=10)
        assert all("/invite/" in e["message"] for e in app_errors(dash_duo))  # that page is a 404, and only it

        # 4. ... and adds an editor of 七尾市
        dash_duo.driver.get(dash_duo.server_url + "/staff/account")
        dash_duo.wait_for_element("#staff-account-users-table", timeout=15)
        editor = "editor@city.nanao.example.jp"
        dash_duo.find_element("#staff-account-new-email").send_keys(editor)
        dash_duo.find_element("#staff-account-new-password").send_keys("editor password 1")
        dash_duo.find_element("#staff-account-add").click()
        dash_duo.wait_for_contains_text("#staff-account-users-message", "を追加しました", timeout=10)
        table = dash_duo.find_element("#staff-account-users-table").text
        assert editor in table and "七尾市" in table and "加賀市" not in table  # only their own organisation
        logout(dash_duo)

        # 5. the editor uploads and publishes a layer
        dash_duo.driver.get(dash_duo.server_url + "/login")
        dash_duo.wait_for_element("#login-email", timeout=10).send_keys(editor)
        dash_duo.find_element("#login-password").send_keys("editor password 1")
        dash_duo.find_element("#login-submit").click()
        dash_duo.wait_for_element("#staff-layers-list, .staff-content", timeout=15)
        layer_id = upload_file(dash_duo, CP932_CSV, "七尾市ランデブーポイント")
        logout(dash_duo)

        # 6. 七尾市's portal shows it, first, framed on 七尾市
        dash_duo.driver.get(dash_duo.server_url + "/o/nanao")
        dash_duo.wait_for_element("#portal-map", timeout=20)
        assert "七尾市" in dash_duo.find_element("#portal-title").text
        panel = dash_duo.find_element("#portal-panel").text
        assert "七尾市ランデブーポイント" in panel
        assert panel.index("七尾市ランデブーポイント") < panel.index("AED")
        checkbox = dash_duo.find_element(f"#portal-panel input[value='{layer_id}']")
        assert checkbox.is_selected()
        wait_until(lambda: len(dash_duo.find_elements("#portal-map .leaflet-overlay-pane path, "
                                                      "#portal-map .leaflet-marker-pane .marker-cluster")) > 0,
                   timeout=20, what="the layer's points on the map")
        assert not app_errors(dash_duo)
        dash_duo.driver.get(dash_duo.server_url + "/o/nowhere")
        dash_duo.wait_for_element("#portal-not-found", timeout=15)

        # 7. 七尾市's administrator: /staff/audit shows each step with the right person ...
        dash_duo.driver.get(dash_duo.server_url + "/login")
        dash_duo.wait_for_element("#login-email", timeout=10).send_keys(boss)
        dash_duo.find_element("#login-password").send_keys("nanao password 1")
        dash_duo.find_element("#login-submit").click()
        dash_duo.wait_for_element("#staff-layers-list, .staff-content", timeout=15)
        dash_duo.driver.get(dash_duo.server_url + "/staff/audit")
        audit = dash_duo.wait_for_element("#staff-audit-table", timeout=15).text
        assert boss in audit and editor in audit and "七尾市ランデブーポイント" in audit
        assert admin.email in audit  # the invite, made by the prefecture admin
        # ... and /staff/usage 七尾市's layer, its features and the public requests made to it
        dash_duo.driver.get(dash_duo.server_url + "/staff/usage")
        table = dash_duo.wait_for_element("#staff-usage-table", timeout=15)
        row = table.find_element("css selector", "tr.usage-row[data-org='nanao']")
        assert "七尾市" in row.text
        layers = dash_duo.find_element("#staff-usage-layers").text
        assert "七尾市ランデブーポイント" in layers
        layer_row = next(line for line in layers.splitlines() if "七尾市ランデブーポイント" in line)
        assert int(layer_row.split()[-2].replace(",", "")) >= 1  # the portal map fetched its features
        assert not app_errors(dash_duo)
    finally:
        sink.stop()
