"""The frame every page sits in, and the browser-tab title of a page in the page's language."""
from __future__ import annotations

from collections.abc import Callable

import dash
from dash import html

from i18n import t

POLYFILL = "polyfill@7.12.1"


def lean_dash_scripts() -> None:
    """Leave @babel/polyfill (99 kB, about a second of a mid-range phone's CPU before the first
    paint) out of the scripts Dash puts in every page. The browsers React 18 runs in have what it
    polyfills, except the `regeneratorRuntime` global the Dash renderer, dcc and dash_table call:
    assets/a0_regenerator_runtime.js (regenerator-runtime alone, 25 kB) gives that one."""
    from dash import _dash_renderer

    for dep in _dash_renderer._js_dist_dependencies:
        for kind in ("external_url", "relative_package_path"):
            for mode, paths in (dep.get(kind) or {}).items():
                dep[kind][mode] = [p for p in paths if POLYFILL not in p]


def shell():
    return html.Div(id="app-shell", children=[dash.page_container])


def page_title(key: str, with_app: bool = True) -> Callable[..., str]:
    """A page's tab title for `dash.register_page`: the text of `key` in the language of the
    request (`?lang=`, also when Dash swaps pages in the browser), then the short app name."""
    from components.staff import request_lang

    def title(**_path) -> str:
        lang = request_lang()
        return f"{t(key, lang)} | {t('app.short', lang)}" if with_app else t(key, lang)

    return title
