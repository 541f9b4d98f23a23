"""`/dashboards/<slug>` — one dashboard: its panels refresh by themselves; time range, refresh and
variables are kept in the URL so a copied link opens the same view. `/embed/dashboards/<slug>`
(pages/dashboard_embed.py) is the same view without the header, for a city's own web pages.

A private dashboard is "not found" for anyone who may not see it (dashboards.service decides, in
the layout and again in every callback)."""
from __future__ import annotations

from urllib.parse import urlencode

import dash
from dash import ALL, Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from auth import current_staff
from components.dashboard_panels import panel_body
from components.dashboard_view import controls, doc_title, grid, view_query
from components.header import header
from dashboards import service
from dashboards.model import REFRESH, RELATIVE
from i18n import normalize_lang, t
from refusal import Refused
from store.cache import cache
from store.db import get_db, utcnow
from timezones import JST


def _title(slug: str | None = None, **_):
    from components.staff import request_lang

    lang = request_lang()
    try:
        doc = service.get_document(get_db(), current_staff(), slug or "")
    except Refused:
        return t("dash.list_title", lang)
    return f"{doc_title(doc, lang)} | {t('app.short', lang)}"


dash.register_page(__name__, path_template="/dashboards/<slug>", title=_title)


def _values(query: dict) -> dict:
    return {k[4:]: str(v)[:200] for k, v in query.items() if k.startswith("var-") and isinstance(v, str)}


def _clean_time(value, default: str) -> str:
    value = str(value or "")[:40]
    return value if value else default


def view(slug: str | None, lang: str | None, query: dict, embed: bool):
    lang = normalize_lang(lang)
    staff = current_staff()
    path = ("/embed" if embed else "") + f"/dashboards/{slug}"
    try:
        meta = service.get_meta(get_db(), staff, slug or "")
    except Refused:
        body = [html.H2(t("dash.not_found", lang)), html.A(t("dash.back_list", lang), href=f"/dashboards?lang={lang}")]
        return html.Div(className="page", lang=lang, children=[
            *([] if embed else [header(lang, path, {}, "dashv")]), html.Main(body, className="page-body")])
    doc = meta["doc"]
    time_from = _clean_time(query.get("from"), doc["time"]["from"])
    time_to = _clean_time(query.get("to"), doc["time"]["to"])
    refresh = query.get("refresh") if query.get("refresh") in REFRESH else doc.get("refresh", "off")
    params = service.ViewParams(time_from, time_to, _values(query), lang)
    options = service.variable_options(get_db(), staff, doc, lang)
    values = service.resolve_variables(doc, options, params.variables)
    params.variables = values
    answers = service.all_panels(get_db(), staff, slug, params, cache=cache)
    q = view_query(time_from, time_to, values)
    description = doc.get("description_en") if lang == "en" and doc.get("description_en") else doc.get("description_ja")
    top = [html.H2(doc_title(doc, lang), className="dash-title", id="dashv-title")]
    if description:
        top.append(html.P(description, className="dash-description"))
    if meta["editable"] and not embed:
        top.append(html.A(t("dash.edit", lang), href=f"/staff/dashboards/edit?slug={slug}&lang={lang}",
                          className="dash-edit-link", id="dashv-edit-link"))
    seconds = REFRESH.get(refresh, 0)
    body = html.Main(className="page-body dash-page-body", children=[
        *([] if embed else [html.A(t("dash.back_list", lang), href=f"/dashboards?lang={lang}", className="dash-back")]),
        html.Div(top, className="dash-top"),
        controls(doc, options, values, time_from, time_to, refresh, lang),
        html.Div(id="dashv-updated", className="dash-updated", role="status",
                 children=t("dash.updated_at", lang, time=utcnow().astimezone(JST).strftime("%H:%M:%S"))),
        html.Div(grid(slug, doc, answers, lang, q), id="dashv-grid", className="dash-grid"),
        dcc.Interval(id="dashv-tick", interval=max(seconds, 30) * 1000, disabled=seconds == 0),
        dcc.Store(id="dashv-meta", data={"slug": slug, "lang": lang, "embed": embed,
                                          "title": f"{doc_title(doc, lang)} | {t('app.short', lang)}"}),
        dcc.Store(id="dashv-search"), dcc.Store(id="dashv-dummy"),
    ])
    if embed:
        return html.Div(className="page dash-embed", lang=lang, children=[body])
    top_bar = header(lang, path, {**q, "refresh": refresh}, "dashv")
    return html.Div(className="page", lang=lang, children=[top_bar, body])


def layout(slug: str | None = None, lang: str | None = None, **query):
    return view(slug, lang, query, embed=False)


@callback(
    Output({"type": "dash-panel-body", "panel": ALL}, "children"),
    Output("dashv-search", "data"),
    Output("dashv-tick", "interval"),
    Output("dashv-tick", "disabled"),
    Output("dashv-custom", "style"),
    Output("dashv-updated", "children"),
    Output({"type": "dash-panel-csv", "panel": ALL}, "href"),
    Input("dashv-range", "value"),
    Input("dashv-from", "value"),
    Input("dashv-to", "value"),
    Input("dashv-refresh", "value"),
    Input({"type": "dashv-var", "name": ALL}, "value"),
    Input("dashv-tick", "n_intervals"),
    State({"type": "dashv-var", "name": ALL}, "id"),
    State({"type": "dash-panel-body", "panel": ALL}, "id"),
    State({"type": "dash-panel-csv", "panel": ALL}, "id"),
    State("dashv-meta", "data"),
    prevent_initial_call=True,
)
def refresh_panels(range_value, custom_from, custom_to, refresh, var_values, _tick, var_ids, body_ids, csv_ids, meta):
    if not meta or not meta.get("slug"):
        raise PreventUpdate
    lang = normalize_lang(meta.get("lang"))
    if range_value == "custom":
        if not custom_from:
            raise PreventUpdate
        time_from, time_to = str(custom_from)[:16], (str(custom_to)[:16] if custom_to else "now")
    else:
        time_from, time_to = (range_value if range_value in RELATIVE else "now-24h"), "now"
    refresh = refresh if refresh in REFRESH else "off"
    given = {i["name"]: str(v)[:200] for i, v in zip(var_ids, var_values) if v is not None}
    params = service.ViewParams(time_from, time_to, given, lang)
    staff = current_staff()
    try:
        doc = service.get_document(get_db(), staff, meta["slug"])
        answers = service.all_panels(get_db(), staff, meta["slug"], params, cache=cache)
    except Refused:
        raise PreventUpdate from None
    panels = {p["id"]: p for p in doc["panels"]}
    on_tick = ctx.triggered_id == "dashv-tick"
    bodies = []
    for bid in body_ids:
        panel = panels.get(bid["panel"])
        if panel is None or (on_tick and panel["type"] in ("map", "text")):
            bodies.append(no_update)  # a map keeps its view; its layers refresh themselves
        else:
            bodies.append(panel_body(panel, answers.get(panel["id"]), lang))
    first = next(iter(answers.values()), {})
    values = first.get("variables", given) if first else given
    q = {**view_query(time_from, time_to, values), "refresh": refresh, "lang": lang}
    seconds = REFRESH[refresh]
    style = {} if range_value == "custom" else {"display": "none"}
    stamp = t("dash.updated_at", lang, time=utcnow().astimezone(JST).strftime("%H:%M:%S"))
    csv_query = urlencode({**view_query(time_from, time_to, values), "lang": lang})
    hrefs = [f"/api/dashboards/{meta['slug']}/panels/{c['panel']}/data.csv?{csv_query}" for c in csv_ids]
    return bodies, "?" + urlencode(q), max(seconds, 30) * 1000, seconds == 0, style, stamp, hrefs


# The URL follows the controls without reloading the page (a copied link opens the same view).
clientside_callback(
    """function (search, meta) {
        if (search) { window.history.replaceState(null, "", window.location.pathname + search); }
        if (meta && meta.title) { document.title = meta.title; }
        return window.dash_clientside.no_update;
    }""",
    Output("dashv-dummy", "data"),
    Input("dashv-search", "data"),
    Input("dashv-meta", "data"),
)
