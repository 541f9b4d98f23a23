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


def popup_text(dash_duo, contains: str, timeout: float = 10.0, css: str = ".leaflet-popup-content") -> str:
    """The open popup's text once it holds `contains`, the part the map has not panned into view yet
    included."""

    def found():
        got = text(dash_duo, css)
        return got if contains in got else None

    return wait_until(found, timeout, f"a popup holding {contains!r}")
