"""Helpers for dash_duo browser tests."""
from __future__ import annotations

import socket
import time
from urllib.parse import parse_qs, urlparse

# tile servers are out of reach in tests (closed network): their errors are expected
TILE_HOSTS = ("gsi.go.jp", "openstreetmap.org", "favicon")


def free_port() -> int:
    """A free loopback port, so several test runs on one machine do not collide."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_errors(dash_duo) -> list:
    """Browser console errors, minus the tile servers this closed network cannot reach."""
    return [e for e in dash_duo.get_logs() or [] if not any(h in e.get("message", "") for h in TILE_HOSTS)]


def query(dash_duo) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(dash_duo.driver.current_url).query).items()}


def wait_until(fn, timeout=10.0, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        value = fn()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def text(dash_duo, css: str) -> str:
    """The innerText of the first element matching `css` ('' when there is none): also the parts that are
    scrolled or panned out of view, which Selenium's .text leaves out."""
    return dash_duo.driver.execute_script(
        "var e = document.querySelector(arguments[0]); return e ? e.innerText : '';", css) or ""


def click_when_still(dash_duo, element, timeout: float = 10.0) -> None:
    """Click `element` once it stays in one place: a popup that has just opened moves while the map pans
    to show it, and a click aimed at where the link was lands on whatever is there next."""
    rect = "var r = arguments[0].getBoundingClientRect(); return [r.left, r.top, r.width, r.height];"
    last = [None]

    def still():
        now = dash_duo.driver.execute_script(rect, element)
        settled = now == last[0]
        last[0] = now
        return settled

    wait_until(still, timeout, "the element to stop moving")
    element.click()


# what a map shows at its top: the buttons at the left (zoom, location, full screen), the overlay list at the right
MAP_TOP_CONTROLS = (".leaflet-control-zoom, .leaflet-control-locate, .leaflet-control-fullscreen, "
                    ".leaflet-top.leaflet-left .leaflet-bar, .leaflet-top.leaflet-right .leaflet-control")


def popup_over_controls(dash_duo, map_css: str, also: str = "", timeout: float = 10.0) -> list:
    """Once the open popup of the map `map_css` stops moving (the map pans it into view): the controls at the
    map's top that it would hide, and those the page lays over the map (`also`, a CSS selector), as
    [popup box, control box] pairs; [] when it hides none."""
    box = ("var p = document.querySelector(arguments[0] + ' .leaflet-popup-content-wrapper');"
           "if (!p) { return null; } var r = p.getBoundingClientRect();"
           "return [Math.round(r.left), Math.round(r.top), Math.round(r.width), Math.round(r.height)];")
    last = [None]

    def still():
        now = dash_duo.driver.execute_script(box, map_css)
        settled = now is not None and now == last[0]
        last[0] = now
        return settled

    wait_until(still, timeout, "an open popup that stopped moving")
    time.sleep(0.3)
    x, y, w, h = dash_duo.driver.execute_script(box, map_css)
    covered = []
    for c in dash_duo.driver.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0])).map(function (b) {"
            " var r = b.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })",
            ", ".join([f"{map_css} {sel.strip()}" for sel in MAP_TOP_CONTROLS.split(",")] + ([also] if also else []))):
        if c[2] and c[3] and x < c[0] + c[2] and c[0] < x + w and y < c[1] + c[3] and c[1] < y + h:
            covered.append([[x, y, w, h], c])
    return covered


def popup_text(dash_duo, contains: str, timeout: float = 10.0, css: str = ".leaflet-popup-content") -> str:
    """The open popup's text once it holds `contains`, the part the map has not panned into view yet
    included."""

    def found():
        got = text(dash_duo, css)
        return got if contains in got else None

    return wait_until(found, timeout, f"a popup holding {contains!r}")
