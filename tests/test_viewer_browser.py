"""A viewer in headless Chromium: the staff pages say 閲覧のみ and offer nothing to change, with no
browser errors (the callbacks of the controls that are gone do not fire)."""
from __future__ import annotations

import time

import pytest

from store.users import EDITOR, VIEWER
from tests.browser_helpers import app_errors, free_port, wait_until
from tests.staff_helpers import make_person, upload
from tests.test_browser_staff import login

pytestmark = pytest.mark.browser


def test_viewer_sees_read_only_pages(dash_duo, dash_app, app_db):
    editor = make_person(app_db, "kaga", EDITOR)
    client = dash_app.server.test_client()
    layer = upload(client, editor, data="名称,緯度,経度\nA,36.30,136.31\n".encode(), filename="k.csv",
                   name="加賀の閲覧テスト", visibility="private").json["id"]
    viewer = make_person(app_db, "kaga", VIEWER)
    dash_duo.driver.set_window_size(1280, 1000)
    dash_duo.start_server(dash_app, port=free_port())
    login(dash_duo, viewer.email)
    for path in ("/staff/upload", f"/staff/layers?layer={layer}", "/staff/groups", "/staff/sources",
                 "/staff/alerts", "/staff/cameras", "/staff/road-info", "/staff/dashboards",
                 "/staff/dashboards/edit", f"/staff/layers?layer={layer}&lang=en"):
        dash_duo.driver.get(dash_duo.server_url + path)
        word = "View only" if "lang=en" in path else "閲覧のみ"
        wait_until(lambda word=word: word in (dash_duo.driver.execute_script(
            "const n = document.querySelector(\"[id$='-read-only']\"); return n && n.innerText;") or ""),
            timeout=15, what=f"the note on {path}")
        time.sleep(0.5)  # the page's own first callbacks
        controls = dash_duo.driver.execute_script(
            "const m = document.querySelector('main') || document.querySelector('.alerts-page');"
            "return Array.from(m.querySelectorAll('button, input:not([disabled]), textarea, select'))"
            ".map(e => e.outerHTML);")
        assert not controls, (path, controls)
    assert "加賀の閲覧テスト" in dash_duo.driver.execute_script("return document.querySelector('main').innerText")
    errors = app_errors(dash_duo)
    assert not errors, "\n".join(e["message"][:600] for e in errors)
