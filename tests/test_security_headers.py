"""Security headers: a Content-Security-Policy Dash works with (zero violations in Chromium on the
public and staff pages), nosniff, Referrer-Policy, and framing only for /embed/ pages."""
from __future__ import annotations

import re
import time

import pytest

from tests.browser_helpers import app_errors, free_port, wait_until
from tests.staff_helpers import PASSWORD, make_person


def _directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


@pytest.mark.parametrize("path", ["/", "/snow", "/sensors", "/catalog", "/dashboards/hakui-snow", "/login",
                                  "/staff/layers", "/ogcapi?f=html", "/no-such-page"])
def test_every_html_page_has_the_security_headers(client, path):
    resp = client.get(path)
    assert resp.mimetype == "text/html"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert resp.headers["X-Frame-Options"] == "DENY"
    csp = _directives(resp.headers["Content-Security-Policy"])
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'self'"]
    # scripts: our origin and hashes only — no inline scripts in general, no eval, no CDN
    assert all(s == "'self'" or re.fullmatch(r"'sha256-[A-Za-z0-9+/]+=*'", s) for s in csp["script-src"])
    assert "https://cyberjapandata.gsi.go.jp" in csp["img-src"] and "https://tile.openstreetmap.org" in csp["img-src"]


def test_inline_scripts_of_the_dash_page_match_the_policy(client):
    """Every inline script Dash writes is allowed by its hash; nothing else would run."""
    import base64
    import hashlib

    resp = client.get("/")
    allowed = set(_directives(resp.headers["Content-Security-Policy"])["script-src"])
    page = re.sub(r"<!--.*?-->", "", resp.get_data(as_text=True), flags=re.S)  # (Dash's IE notice is a comment)
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", page, re.S)
    executed = [body for attrs, body in inline if "application/json" not in attrs]
    assert executed  # the renderer's start at least
    for body in executed:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in allowed


def test_json_and_assets_say_nosniff_and_are_not_given_a_page_policy(client):
    for path in ["/api/layers", "/assets/style.css", "/healthz"]:
        resp = client.get(path)
        assert resp.headers["X-Content-Type-Options"] == "nosniff", path
        assert resp.headers["Referrer-Policy"] == "strict-origin-when-cross-origin", path


def test_embed_pages_keep_the_whole_policy_and_may_be_framed_by_embed_origins(client):
    settings = client.application.extensions["ishikawa.settings"]
    client.application.extensions["ishikawa.settings"] = settings.with_(embed_origins=("https://www.city.kaga.example",))
    try:
        resp = client.get("/embed/dashboards/hakui-snow")
    finally:
        client.application.extensions["ishikawa.settings"] = settings
    csp = _directives(resp.headers["Content-Security-Policy"])
    assert csp["frame-ancestors"] == ["'self'", "https://www.city.kaga.example"]
    assert "script-src" in csp and "X-Frame-Options" not in resp.headers
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


# --- in Chromium: Dash, plotly, Leaflet and AG Grid run under the policy without one violation ---

def _csp_violations(logs: list) -> list:
    return [e for e in logs if "Content Security Policy" in e.get("message", "")
            or "Refused to" in e.get("message", "")]


def _settle(dash_duo, selector: str, seconds: float = 2.0) -> list:
    dash_duo.wait_for_element(selector, timeout=20)
    time.sleep(seconds)  # callbacks, tiles, charts
    return dash_duo.get_logs() or []


@pytest.mark.browser
def test_pages_run_under_the_policy_with_zero_violations(dash_duo, dash_app, app_db):
    dash_duo.start_server(dash_app, port=free_port())
    pages = [("/", "#home-map .leaflet-pane"), ("/snow", "#snow-map .leaflet-pane"),
             ("/sensors?view=chart", "#sensors-graph .main-svg"), ("/dashboards/hakui-snow", ".dash-panel"),
             ("/login", "#login-email")]
    seen = {}
    for path, selector in pages:
        dash_duo.driver.get(dash_duo.server_url + path)
        logs = _settle(dash_duo, selector)
        seen[path] = logs
        assert not _csp_violations(logs), (path, _csp_violations(logs))
    # a staff page (AG Grid, forms), reached by logging in through the form
    person = make_person(app_db, "kaga")
    dash_duo.find_element("#login-email").send_keys(person.email)
    dash_duo.find_element("#login-password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    for path, selector in [("/staff/layers", "#staff-layers-list, .staff-hint"),
                           ("/staff/account", "#staff-account-tokens"),
                           ("/staff/alerts", "#staff-alerts-form")]:  # (its mail preview is an iframe srcdoc)
        if path != "/staff/layers":
            dash_duo.driver.get(dash_duo.server_url + path)
        logs = _settle(dash_duo, selector)
        assert not _csp_violations(logs), (path, _csp_violations(logs))
    dash_duo.driver.get(dash_duo.server_url + "/")
    _settle(dash_duo, "#home-map .leaflet-pane", 0.5)
    assert not app_errors(dash_duo)
    # the policy was really in force: an inline script the page did not declare is refused
    dash_duo.driver.execute_script(
        "var s = document.createElement('script'); s.textContent = 'window.__injected = 1';"
        "document.body.appendChild(s);")
    wait_until(lambda: _csp_violations(dash_duo.get_logs() or []), timeout=5, what="a CSP refusal")
    assert dash_duo.driver.execute_script("return window.__injected === undefined")
