"""The frame every page sits in, and the browser-tab title of a page in the page's language.

`install_first_paint` also shapes the index page Dash sends before its scripts run: `<html lang>` in
the page's language, a static first view (the top bar with the page title, the light map area and a
読み込み中 line) that the phone shows at once and React replaces when it draws the page, and no AG
Grid bundle on the pages that have no grid (1.3 MB, about a second of a phone's CPU)."""
from __future__ import annotations

import html as _html
import re
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


# the public map pages, drawn in the index page before the scripts: path -> title key (the same
# H1 as the page's own top bar, with the short title on phones on the home page)
FIRST_PAINT_TITLES = {"/": "app.title", "/snow": "snow.title"}
# pages whose layout never holds an AG Grid and from which no in-page link leads to one (their
# links are plain <a>, a full page load): they leave dash_ag_grid's main bundle out
NO_GRID_PATHS = frozenset(FIRST_PAINT_TITLES)
AG_GRID_SCRIPT = re.compile(
    r'<script src="[^"]*/_dash-component-suites/dash_ag_grid/dash_ag_grid[^"]*\.js"></script>\s*')


def first_paint(path: str, lang: str, query: dict[str, str] | None = None) -> str:
    """The inside of Dash's entry point before React draws: a plain localized loading line, and on
    the map pages their top bar, map area and (on /snow) the first line of the side panel, with the
    page's own classes, so the same layout and the same words the page then draws."""
    from urllib.parse import urlencode

    esc = _html.escape
    loading = esc(t("app.loading", lang))
    key = FIRST_PAINT_TITLES.get(path)
    if key is None:
        return (f'<div id="react-entry-point"><div class="_dash-loading" role="status" lang="{lang}">'
                f"{loading}</div></div>")
    before, side, page_class = "", "", "page-map"
    if path == "/":
        title = (f'<span class="title-long">{esc(t(key, lang))}</span>'
                 f'<span class="title-short">{esc(t("app.short", lang))}</span>')
    else:
        title = esc(t(key, lang))
    if path == "/snow":  # its back link, and the demo notice that opens its side panel
        page_class = "page-map snow-page"
        before = (f'<a class="lang-switch" href="/?lang={lang}"><span aria-hidden="true">← </span>'
                  f'{esc(t("app.short", lang))}</a>')
        side = f'<aside class="snow-side"><p class="snow-demo">{esc(t("snow.demo", lang))}</p></aside>'
    other = "en" if lang == "ja" else "ja"
    switch = esc(f"{path}?{urlencode({**(query or {}), 'lang': other})}")
    link = (f'<a class="lang-switch" href="{switch}" hreflang="{other}" '
            f'title="{esc(t("lang.switch.title", lang))}">{esc(t("lang.switch", lang))}</a>')
    return (f'<div id="react-entry-point"><div class="_dash-loading {page_class} first-paint" lang="{lang}">'
            f'<header class="topbar">{before}<h1 class="app-title">{title}</h1>{link}</header>'
            f'<main class="map-wrap"><div class="map first-paint-map" aria-busy="true">'
            f'<p class="first-paint-status" role="status">{loading}</p></div>{side}</main></div></div>')


def install_first_paint(app) -> None:
    """Wrap `app.interpolate_index` (Dash builds every page's index through it) with the above."""
    original = app.interpolate_index

    def interpolate_index(**kwargs) -> str:
        from flask import has_request_context, request

        from components.staff import request_lang

        path = request.path if has_request_context() else "/"
        lang = request_lang()
        query = dict(request.args.items()) if has_request_context() else {}
        kwargs["app_entry"] = first_paint(path, lang, query)
        if path in NO_GRID_PATHS:
            kwargs["scripts"] = AG_GRID_SCRIPT.sub("", kwargs.get("scripts", ""))
        page = original(**kwargs)
        return page.replace('<html lang="ja">', f'<html lang="{lang}">', 1)

    app.interpolate_index = interpolate_index
