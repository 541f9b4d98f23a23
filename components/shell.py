"""The frame every page sits in, and the browser-tab title of a page in the page's language.

`install_first_paint` also shapes the index page Dash sends before its scripts run: `<html lang>` in
the page's language, a static first view (the top bar with the page title, the light map area and a
読み込み中 line) that the phone shows at once and React replaces when it draws the page, and no AG
Grid bundle on the pages that have no grid (1.3 MB, about a second of a phone's CPU)."""
from __future__ import annotations

import html as _html
import logging
import re
from collections.abc import Callable

import dash
from dash import html

from i18n import t

POLYFILL = "polyfill@7.12.1"
_log = logging.getLogger(__name__)


def lean_dash_scripts() -> None:
    """Leave @babel/polyfill (99 kB, about a second of a mid-range phone's CPU before the first
    paint) and dash_table's bundle out of the scripts Dash puts in every page. The browsers React 18
    runs in have what the polyfill gives, except the `regeneratorRuntime` global the Dash renderer
    and dcc call: assets/a0_regenerator_runtime.js (regenerator-runtime alone, 25 kB) gives that one."""
    from dash import _dash_renderer, dash_table

    for dep in _dash_renderer._js_dist_dependencies:
        for kind in ("external_url", "relative_package_path"):
            for mode, paths in (dep.get(kind) or {}).items():
                dep[kind][mode] = [p for p in paths if POLYFILL not in p]
    # no page draws a dash_table.DataTable (tables are HTML or AG Grid): Dash would still load its
    # bundle (33 kB) on every page, because importing dash registers it
    dash_table._js_dist[:] = []


def shell():
    return html.Div(id="app-shell", children=[routed_page_container()])


def routed_page_container():
    """Dash's page container with the requested page already inside.

    The browser asks for the layout (`/_dash-layout`) from the page it opened; that page's address
    arrives as the Referer. Its page is built here exactly as Dash's pages router would build it
    (same layout function, same query arguments) and the location is filled in, so the router has
    nothing to do when the scripts start: no second request and no second drawing of the page
    before the map can start. Only the public map pages (ROUTED_PATHS): Dash then also checks the
    page's callbacks against its components, which some staff pages in read-only form do not pass
    (their inputs become text; harmless, but noise in the console). Without a same-origin
    Referer, or if the page fails to build, the empty container lets the router do it as before."""
    from urllib.parse import urlsplit

    from flask import g, has_request_context, request

    if not has_request_context() or not request.path.endswith("_dash-layout"):
        return dash.page_container
    ref = urlsplit(request.headers.get("Referer") or "")
    if ref.path not in ROUTED_PATHS or ref.netloc != request.host:
        return dash.page_container
    search = f"?{ref.query}" if ref.query else ""
    g.page_search = search  # request_lang() reads the page's ?lang= from it
    try:
        content, title = build_page(ref.path, search)
    except Exception:  # the router shows the same page (or its error) in its own way
        _log.exception("building %s for the first layout failed; the pages router takes over", ref.path)
        return dash.page_container
    from dash import dcc

    return html.Div([
        dcc.Location(id="_pages_location", refresh="callback-nav", pathname=ref.path, search=search,
                     hash="", href=ref.geturl()),
        html.Div(id="_pages_content", disable_n_clicks=True, children=content),
        dcc.Store(id="_pages_store", data={"title": title}),
        html.Div(id="_pages_dummy", disable_n_clicks=True),
    ])


def build_page(path: str, search: str):
    """(layout, title) of the page at `path` with query `search`, as Dash's pages router makes them."""
    from dash import _pages

    app = dash.get_app()
    page, variables = _pages._path_to_page(app.strip_relative_path(path))
    if not page:
        page = next((p for m, p in _pages.PAGE_REGISTRY.items() if m.split(".")[-1] == "not_found_404"), {})
    layout, title = page.get("layout", ""), page.get("title", app.title)
    if callable(layout):
        layout = layout(**{**(variables or {}), **_pages._parse_query_string(search)})
    if callable(title):
        title = title(**(variables or {}))
    return layout, title


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
# pages whose first layout carries the page itself (routed_page_container)
ROUTED_PATHS = frozenset(FIRST_PAINT_TITLES)
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
