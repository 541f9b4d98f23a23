"""Public answers are the same for everyone: no `Vary: Cookie`, no cookie set, with or without a
staff session; answers that do depend on who asks still vary on it, and log-in still works.

A shared HTTP cache (nginx, a CDN) keys its copies on the headers named in `Vary`; `Vary: Cookie`
on the live snow state would give every logged-in staff member a copy of their own.
"""
from __future__ import annotations

import pytest

from tests.staff_helpers import login, make_person, upload

PUBLIC_GETS = ["/api/snow/live", "/api/snow/status?geometry=false", "/api/snow/status",
               "/api/layers/boundaries/features", "/assets/style.css"]


def _vary(resp) -> set[str]:
    return {v.strip().lower() for v in resp.headers.get("Vary", "").split(",") if v.strip()}


@pytest.fixture
def staff_client(dash_app, app_db):
    person = make_person(app_db, "kaga")
    client = login(dash_app.server.test_client(), person.email)
    assert client.get_cookie("session") is not None
    return client, person


@pytest.mark.parametrize("path", PUBLIC_GETS)
def test_public_gets_do_not_vary_on_cookie_nor_set_one(client, staff_client, path):
    staff, _person = staff_client
    for who in (client, staff):
        resp = who.get(path, headers={"Accept-Encoding": "gzip, br"})
        assert resp.status_code == 200, (path, resp.status_code)
        assert "cookie" not in _vary(resp), (path, resp.headers.get("Vary"))
        assert "Set-Cookie" not in resp.headers, path
        assert resp.headers["Cache-Control"].startswith("public")


def test_live_answers_alike_with_and_without_a_session(client, staff_client):
    staff, _person = staff_client
    anon = client.get("/api/snow/live", headers={"Accept-Encoding": "gzip"})
    mine = staff.get("/api/snow/live", headers={"Accept-Encoding": "gzip"})
    assert anon.headers["Vary"] == mine.headers["Vary"] == "Accept-Encoding"
    if anon.headers["ETag"] == mine.headers["ETag"]:  # the same refresh bucket: the very same bytes
        assert anon.data == mine.data
    # a browser holding the state: 304, still not varying on the cookie
    again = staff.get("/api/snow/live", headers={"If-None-Match": mine.headers["ETag"]})
    assert again.status_code in (200, 304) and "cookie" not in _vary(again) and "Set-Cookie" not in again.headers


def test_answers_that_depend_on_the_viewer_still_vary_on_cookie(client, staff_client, dash_app):
    staff, person = staff_client
    # the layer list shows staff their organisation's private layers
    for who in (client, staff):
        assert "cookie" in _vary(who.get("/api/layers"))
    # a private layer's features: the own organisation's staff only, never kept by a shared cache
    resp = upload(dash_app.server.test_client(), person, data=b"name,lat,lon\nA,36.5,136.6\n", filename="p.csv",
                  visibility="private")
    assert resp.status_code == 201, resp.get_data(as_text=True)[:300]
    layer_id = resp.get_json()["id"]
    mine = staff.get(f"/api/layers/{layer_id}/features")
    assert mine.status_code == 200
    assert mine.headers["Cache-Control"].startswith("private") and "cookie" in _vary(mine)
    assert client.get(f"/api/layers/{layer_id}/features").status_code == 404


def test_staff_session_still_works_and_log_out_ends_it(staff_client):
    import re

    staff, _person = staff_client
    staff.get("/api/snow/live")  # public GETs in between leave the session as it was
    staff.get("/assets/style.css")
    assert staff.get("/login").status_code == 302  # still logged in
    page = staff.get("/logout").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    assert staff.post("/logout", data={"csrf": csrf}).status_code == 302
    assert staff.get("/login").status_code == 200  # logged out


def test_log_in_form_still_sets_its_cookie(dash_app):
    fresh = dash_app.server.test_client()
    resp = fresh.get("/login")
    assert "Set-Cookie" in resp.headers and "cookie" in _vary(resp)  # the form's CSRF token
