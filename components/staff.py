"""Frame of the staff pages: top bar with navigation and log-out, the log-in prompt."""
from __future__ import annotations

from dash import dcc, html

from i18n import t

NAV = [("/staff/upload", "staff.nav.upload"), ("/staff/layers", "staff.nav.layers"),
       ("/staff/groups", "staff.nav.groups"), ("/staff/sources", "staff.nav.sources"),
       ("/staff/cameras", "staff.nav.cameras"), ("/staff/road-info", "staff.nav.road_info"),
       ("/staff/alerts", "staff.nav.alerts"),
       ("/staff/dashboards", "staff.nav.dashboards"),
       ("/staff/explore", "staff.nav.explore"),
       ("/staff/audit", "staff.nav.audit"), ("/staff/usage", "staff.nav.usage"),
       ("/staff/organisations", "staff.nav.organisations"),
       ("/staff/account", "staff.nav.account"), ("/", "staff.nav.map")]


def staff_header(lang: str, path: str, email: str, csrf: str, id_prefix: str) -> html.Header:
    other = "en" if lang == "ja" else "ja"
    return html.Header(className="topbar staff-topbar", children=[
        html.A(t("app.short", lang), href=f"/?lang={lang}", className="lang-switch"),
        html.H1(t("staff.title", lang), className="app-title"),
        # on a phone the links fold into a menu (assets/a11y.js closes it there); wide screens show them all
        html.Details(className="staff-menu", open=True, children=[
            html.Summary(t("staff.nav.menu", lang), className="staff-menu-toggle"),
            html.Nav(className="staff-nav", **{"aria-label": t("staff.nav.menu", lang)}, children=[
                html.A(t(key, lang), href=f"{href}?lang={lang}",
                       className="staff-nav-link" + (" active" if href == path else ""),
                       **({"aria-current": "page"} if href == path else {}))
                for href, key in NAV
            ]),
        ]),
        html.Span(email, className="staff-user", title=email),
        html.Form(method="post", action="/logout", className="staff-logout", children=[
            dcc.Input(type="hidden", name="csrf", value=csrf),
            dcc.Input(type="hidden", name="lang", value=lang),
            html.Button(t("auth.logout", lang), type="submit", id=f"{id_prefix}-logout", className="staff-logout-btn"),
        ]),
        html.A(t("lang.switch", lang), id=f"{id_prefix}-lang-link", className="lang-switch",
               href=f"{path}?lang={other}", title=t("lang.switch.title", lang)),
    ])


def request_lang() -> str:
    """The language of the page being built: `?lang=` of the page request, or of the search the
    Dash pages callback carries (a page's `title` function has no other way to know it)."""
    from urllib.parse import parse_qs

    from flask import g, has_request_context, request

    from i18n import normalize_lang

    if not has_request_context():
        return normalize_lang(None)
    lang = request.args.get("lang")
    if not lang and g.get("page_search"):  # the first layout, built for the page it was asked from
        lang = (parse_qs(g.page_search.lstrip("?")).get("lang") or [None])[0]
    if not lang and request.path.endswith("_dash-update-component"):
        body = request.get_json(silent=True) or {}
        for item in body.get("inputs", []) if isinstance(body, dict) else []:
            if isinstance(item, dict) and item.get("id") == "_pages_location" and item.get("property") == "search":
                lang = (parse_qs(str(item.get("value") or "").lstrip("?")).get("lang") or [None])[0]
    return normalize_lang(lang)


def staff_top(lang: str, path: str, staff, id_prefix: str) -> html.Header:
    """The staff bar (menu, user, log-out, language) of a logged-in staff member's page."""
    from auth import csrf_token

    return staff_header(lang, path, staff.email, csrf_token(), id_prefix)


def staff_frame(lang: str, path: str, staff, id_prefix: str, children: list, main_class: str = "staff-main"):
    """A staff page: the top bar, then the page's own content."""
    from auth import csrf_token

    return html.Div(className="staff-page", lang=lang, children=[
        staff_header(lang, path, staff.email, csrf_token(), id_prefix),
        html.Main(className=main_class, children=children),
    ])


def labelled(label_key: str, component, lang: str) -> html.Div:
    """A form control with its label above it (the control needs an id)."""
    return html.Div([html.Label(t(label_key, lang), htmlFor=component.id), component])


def login_prompt(lang: str, login_href: str, id_prefix: str) -> html.Div:
    return html.Div(className="staff-page", lang=lang, children=[
        html.Header(className="topbar", children=[
            html.A(t("app.short", lang), href=f"/?lang={lang}", className="lang-switch"),
            html.H1(t("staff.title", lang), className="app-title"),
        ]),
        html.Main(className="staff-main", children=[
            html.Div(className="staff-card", id=f"{id_prefix}-need-login", children=[
                html.P(t("staff.need_login", lang)),
                html.A(t("auth.login", lang), href=login_href, className="staff-button"),
            ]),
        ]),
    ])


def file_picker(id_prefix: str, lang: str, csrf: str, limit_mb: int = 100) -> html.Div:
    """A file input the page's JS (assets/staff.js) sends with a progress bar; the result token
    lands in the dcc.Store `{id_prefix}-token`."""
    return html.Div(className="staff-file", **{"data-csrf": csrf, "data-store": f"{id_prefix}-token"}, children=[
        html.Label(t("staff.upload.pick", lang), htmlFor=f"{id_prefix}-file", className="staff-label"),
        # the <input type="file"> is made by assets/staff.js (Dash has no file input that streams)
        html.Div(className="staff-file-slot", **{"data-input-id": f"{id_prefix}-file"}),
        html.Div(id=f"{id_prefix}-progress-wrap", className="staff-progress", hidden=True, children=[
            html.Progress(id=f"{id_prefix}-progress", max="100", value="0"),
            html.Span(id=f"{id_prefix}-progress-text", className="staff-progress-text"),
        ]),
        html.Div(id=f"{id_prefix}-file-error", className="staff-error", role="alert"),
        html.P(t("staff.upload.formats", lang, limit=limit_mb), className="staff-hint"),
        dcc.Store(id=f"{id_prefix}-token"),
    ])


def outline_layer(id_: str):
    """Municipal outlines under the staff maps: orientation even when tile servers are out of reach."""
    import dash_leaflet as dl

    return dl.GeoJSON(id=id_, url="/api/layers/boundaries/features?zoom=11",
                      style={"variable": "ishikawaMap.outlineStyle"}, interactive=False,
                      hideout={"color": "#3d4a5c"})
