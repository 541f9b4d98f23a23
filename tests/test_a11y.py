"""Accessibility in headless Chromium: axe-core (vendored in tests/vendor/axe-core, no network at
test time) runs on every public page and the staff pages logged in — AG Grid tables included —
and finds no serious or critical violation; every page has one `<main>` landmark. Every page at
1280 px in Japanese; the pages people use on phones also at 375 px and in English."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.browser_helpers import free_port, wait_until
from tests.staff_helpers import PASSWORD, make_person

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
SEVERE = ("serious", "critical")

PUBLIC = ["/", "/sensors", "/sensors?sensor=snow-hakui-01", "/snow",
          "/catalog", "/dashboards", "/dashboards/shelters-aed", "/o/kaga", "/login",
          "/alerts/subscribe"]
STAFF = ["/staff/upload", "/staff/layers", "/staff/groups", "/staff/sources", "/staff/cameras",
         "/staff/dashboards", "/staff/explore", "/staff/audit", "/staff/usage", "/staff/organisations",
         "/staff/account", "/staff/alerts", "/staff/alerts/history", "/staff/road-info", "/staff/dashboards/edit",
         "/staff/explore?layer=aed"]
# the pages a person opens on a phone, also checked narrow and in English
PHONE = ["/", "/sensors", "/snow", "/catalog", "/login", "/staff/layers"]


def axe_violations(dash_duo) -> list[str]:
    """Serious and critical violations of the page now shown, one line per rule."""
    driver = dash_duo.driver
    driver.set_script_timeout(60)
    driver.execute_script(AXE)
    result = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(function (r) { done(r.violations); }, function (e) { done([{id: 'axe-error', impact: 'critical',"
        " help: String(e), nodes: []}]); });")
    return [f"{v['impact']} {v['id']}: {v['help']} — "
            + "; ".join(" ".join(n.get("target", [])) if isinstance(n.get("target"), list) else str(n.get("target"))
                        for n in v["nodes"][:4])
            for v in result if v.get("impact") in SEVERE]


def settle(dash_duo):
    """Wait until Dash has drawn the page and no callback is pending."""
    wait_until(lambda: dash_duo.driver.execute_script(
        "return document.readyState === 'complete' && !!document.querySelector('#_pages_content *, main, form')"
        " && !document.querySelector('[data-dash-is-loading]');"), timeout=20, what="page drawn")
    time.sleep(1.0)


def check(dash_duo, path: str, lang: str, width: int) -> list[str]:
    dash_duo.driver.set_window_size(width, 900)
    sep = "&" if "?" in path else "?"
    dash_duo.driver.get(f"{dash_duo.server_url}{path}{sep}lang={lang}")
    settle(dash_duo)
    found = [f"{path} {lang} {width}px: {line}" for line in axe_violations(dash_duo)]
    mains = dash_duo.driver.execute_script("return document.querySelectorAll('main, [role=main]').length")
    if mains != 1:
        found.append(f"{path} {lang} {width}px: {mains} <main> landmarks")
    if lang == "en":
        title = dash_duo.driver.title
        if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", title):
            found.append(f"{path} en: Japanese tab title {title!r}")
    return found


def login(dash_duo, email):
    dash_duo.driver.get(dash_duo.server_url + "/login")
    dash_duo.wait_for_element("#login-email", timeout=10).send_keys(email)
    dash_duo.find_element("#login-password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    dash_duo.wait_for_element("#staff-layers-list, .staff-content", timeout=15)


def test_public_pages_have_no_serious_violations(dash_duo, dash_app):
    dash_duo.start_server(dash_app, port=free_port())
    found = []
    for path in PUBLIC:
        found += check(dash_duo, path, "ja", 1280)
    for path in PHONE[:-1]:
        found += check(dash_duo, path, "en", 375)
    assert not found, "\n".join(found)


def test_staff_pages_have_no_serious_violations(dash_duo, dash_app, app_db, client):
    from tests.staff_helpers import GEOJSON, upload

    person = make_person(app_db, "ishikawa", "admin")
    # an uploaded layer: /staff/layers then shows its items in an AG Grid
    layer_id = upload(client, person, GEOJSON, visibility="private").json["id"]
    dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.set_window_size(1280, 900)
    login(dash_duo, person.email)
    found = []
    for path in [*STAFF, f"/staff/layers?layer={layer_id}"]:
        found += check(dash_duo, path, "ja", 1280)
    found += check(dash_duo, "/staff/layers", "en", 375)
    found += check(dash_duo, "/staff/account", "en", 375)
    assert not found, "\n".join(found)


# every page titles its tab in the page language
TITLED = PUBLIC + ["/sensors?station=x", "/snow/report"] + STAFF


@pytest.mark.parametrize("path", TITLED)
def test_tab_title_follows_the_language(client, path):
    """The browser tab says the page's name in the page's language (the log-in page has its own)."""
    sep = "&" if "?" in path else "?"
    for lang, japanese in (("en", False), ("ja", True)):
        page = client.get(f"{path}{sep}lang={lang}").get_data(as_text=True)
        # Dash puts the page's title in the meta tags of the page and into document.title once loaded
        # (the log-in page is drawn by the server, with its own <title>)
        found = (re.search(r'<meta property="og:title" content="([^"]*)"', page)
                 or re.search(r"<title>(.*?)</title>", page, re.S))
        title = found.group(1)
        assert bool(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", title)) == japanese, (path, lang, title)


def test_staff_menu_folds_on_a_phone(dash_duo, dash_app, app_db, tmp_path_factory):
    """On a 375 px phone the staff links fold into a menu with 44 px rows; nothing runs off the
    screen; at 1280 px every link shows in the bar."""
    person = make_person(app_db, "ishikawa", "admin")
    dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.set_window_size(1280, 900)
    login(dash_duo, person.email)
    shots = tmp_path_factory.mktemp("a11y-screens")
    for lang in ("ja", "en"):
        dash_duo.driver.set_window_size(1280, 900)
        dash_duo.driver.get(f"{dash_duo.server_url}/staff/account?lang={lang}")
        settle(dash_duo)
        links = dash_duo.find_elements(".staff-nav-link")
        assert len(links) > 10 and all(link.is_displayed() for link in links)
        assert not dash_duo.find_element(".staff-menu-toggle").is_displayed()
        dash_duo.driver.save_screenshot(str(shots / f"staff_1280_{lang}.png"))

        dash_duo.driver.set_window_size(375, 800)
        dash_duo.driver.get(f"{dash_duo.server_url}/staff/account?lang={lang}")
        settle(dash_duo)
        toggle = dash_duo.find_element(".staff-menu-toggle")
        assert toggle.is_displayed() and toggle.size["height"] >= 44
        assert not any(link.is_displayed() for link in dash_duo.find_elements(".staff-nav-link"))
        bar = dash_duo.find_element(".staff-topbar")
        assert bar.size["height"] < 130, bar.size
        assert dash_duo.driver.execute_script("return document.querySelector('.staff-topbar').scrollWidth") <= 375
        dash_duo.driver.save_screenshot(str(shots / f"staff_375_{lang}_closed.png"))
        toggle.click()
        wait_until(lambda: all(link.is_displayed() for link in dash_duo.find_elements(".staff-nav-link")),
                   what="menu open")
        assert all(link.size["height"] >= 44 for link in dash_duo.find_elements(".staff-nav-link"))
        dash_duo.driver.save_screenshot(str(shots / f"staff_375_{lang}_open.png"))
    print("screenshots in", shots)


# every visible control a finger may tap: links, buttons, form fields (a radio or check box by its
# label), summaries, sliders and anything else focusable; not the map's own features (markers,
# drawn roads: they have their own tap tolerance) nor links inside running text (WCAG 2.5.5's
# inline exception: the map's attribution line "Leaflet | 地理院タイル" is such text)
SMALL_TARGETS_JS = """
    var sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button],'
        + ' [role=link], [role=slider], [role=tab], [role=checkbox], [role=radio], [role=switch],'
        + ' [tabindex]:not([tabindex="-1"])';
    var seen = new Set(), small = [];
    document.querySelectorAll(sel).forEach(function (el) {
        if (el.closest('.leaflet-marker-pane, .leaflet-overlay-pane, .leaflet-shadow-pane, .leaflet-tooltip-pane,'
                       + ' .leaflet-popup-pane, .leaflet-control-attribution')) return;
        if ((el.type === 'radio' || el.type === 'checkbox') && el.closest('label')) el = el.closest('label');
        if (el.tagName === 'A' && getComputedStyle(el).display === 'inline' && el.parentElement
            && /^(P|LI|SPAN|TD|SMALL)$/.test(el.parentElement.tagName)
            && el.parentElement.textContent.trim().length > el.textContent.trim().length) return;
        if (seen.has(el)) return;
        seen.add(el);
        var r = el.getBoundingClientRect(), st = getComputedStyle(el);
        if (r.width === 0 || r.height === 0 || st.visibility === 'hidden' || st.display === 'none') return;
        if (r.height < 44 || r.width < 44) {
            small.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                + (typeof el.className === 'string' && el.className ? '.' + el.className.split(' ').join('.') : '')
                + ' "' + (el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 20) + '" '
                + Math.round(r.width) + 'x' + Math.round(r.height));
        }
    });
    return small;"""


def test_every_tap_target_is_big_enough_on_a_phone(dash_duo, dash_app, tmp_path_factory):
    """At 375 px every visible interactive element of `/` and `/snow` (the panel open, in both
    languages) is at least 44 × 44 px."""
    dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.set_window_size(375, 800)
    shots = tmp_path_factory.mktemp("a11y-taps")
    found = []
    for path, opener in (("/", "#home-panel-toggle"), ("/snow", None)):
        for lang in ("ja", "en"):
            dash_duo.driver.get(f"{dash_duo.server_url}{path}?lang={lang}")
            settle(dash_duo)
            wait_until(lambda: dash_duo.find_elements(".leaflet-control-zoom-in"), what="zoom buttons")
            found += [f"{path} {lang}: {x}" for x in dash_duo.driver.execute_script(SMALL_TARGETS_JS)]
            if opener:
                dash_duo.find_element(opener).click()
                time.sleep(0.5)
                found += [f"{path} {lang} panel: {x}" for x in dash_duo.driver.execute_script(SMALL_TARGETS_JS)]
            dash_duo.driver.save_screenshot(str(shots / f"{path.strip('/') or 'home'}_375_{lang}.png"))
    print("screenshots in", shots)
    assert not found, "\n".join(found)


def test_map_controls_are_big_enough_for_a_finger(dash_duo, dash_app, tmp_path_factory):
    """At 375 px the main controls of the map page are at least 44 px high."""
    dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.set_window_size(375, 800)
    shots = tmp_path_factory.mktemp("a11y-map")
    for lang in ("ja", "en"):
        dash_duo.driver.get(f"{dash_duo.server_url}/?lang={lang}")
        settle(dash_duo)
        wait_until(lambda: dash_duo.find_elements(".leaflet-control-zoom-in"), what="zoom buttons")
        dash_duo.driver.save_screenshot(str(shots / f"map_375_{lang}.png"))
        small = dash_duo.driver.execute_script("""
            var sel = '#home-panel-toggle, #home-lang-link, .map-tool, .leaflet-control-zoom a,'
                + ' #home-panel-close, #home-panel .layer-checklist label, #home-basemap label';
            document.querySelector('#home-panel').classList.add('open');
            return Array.from(document.querySelectorAll(sel)).filter(function (el) {
                var r = el.getBoundingClientRect();
                return r.width > 0 && r.height < 44;
            }).map(function (el) { return (el.id || el.className) + ' ' + el.getBoundingClientRect().height; });""")
        dash_duo.driver.save_screenshot(str(shots / f"map_375_{lang}_panel.png"))
        assert not small, small
    print("screenshots in", shots)
