"""`/o/<code>` — an organisation's own portal: the public map framed on its municipality, its own
layers and menu groups first (shown at once), then the rest of the platform's; its public
dashboards and its entries of the open-data catalogue. A link a city can put on its home page.
An unknown (or deactivated) organisation shows the not-found page. Logged-in staff also see the
private layers they may see, as on `/`.

The map is built from the same components as `/` (components/map.py, legend.py, map_state.py)
with ids of its own (prefix "portal"); its callbacks are below and thin."""
from __future__ import annotations

import dash
import dash_leaflet as dl
from dash import ALL, Input, Output, State, callback, dcc, html, no_update
from sqlalchemy import select

from auth import current_staff
from components.basemaps import basemap_options
from components.header import header
from components.legend import legend_children
from components.map import map_children
from components.map_controls import checked_layers, opacities, refreshed_urls, zoom_level
from components.map_state import BASEMAPS, MapState, frame_for_bbox, parse_state
from dashboards.service import list_dashboards
from i18n import normalize_lang, t
from layers.catalog import datasets
from layers.visible import group_label, group_order, visible_layers as _visible_layers
from store.db import get_db
from store.models import Layer
from store.organisations import boundary_bbox, get_by_code


def _title(code: str | None = None, **_query) -> str:
    from components.staff import request_lang

    org = _org(code)
    if org is None:
        return t("notfound.title", request_lang())
    lang = request_lang()
    return t("portal.title", lang, org=org["name_en"] if lang == "en" else org["name_ja"])


dash.register_page(__name__, path_template="/o/<code>", title=_title)

P = "portal"


def _org(code: str | None) -> dict | None:
    """The active organisation of this code (plain data), or None."""
    with get_db().session() as s:
        org = get_by_code(s, str(code or "")[:40])
        if org is None or org.active is False:
            return None
        own = set(s.scalars(select(Layer.id).where(Layer.organisation_id == org.id)))
        return {"id": org.id, "code": org.code, "name_ja": org.name_ja, "name_en": org.name_en or org.name_ja,
                "boundary": org.boundary, "layers": own}


def _layers(lang: str, zoom: int | None = None):
    staff = current_staff()
    with get_db().session() as s:
        return _visible_layers(s, lang, zoom, staff=staff)


def portal_order(layers, own: set[str]) -> tuple[list[str], list]:
    """Menu groups holding the organisation's layers first, and in each group its layers first."""
    groups = group_order(layers)
    mine = [g for g in groups if any(pl.group == g and pl.id in own for pl in layers)]
    ordered = mine + [g for g in groups if g not in mine]
    layers = sorted(layers, key=lambda pl: (ordered.index(pl.group), pl.id not in own))
    return ordered, layers


def not_found(lang: str):
    return html.Div(className="page", lang=lang, children=[
        header(lang, "/", {}, "notfound"),
        html.Main(className="page-body", children=[
            html.H2(t("notfound.title", lang), id=f"{P}-not-found"),
            html.P([t("notfound.body", lang), " ", html.A(t("sensors.back", lang), href=f"/?lang={lang}")]),
        ]),
    ])


def _extras(org: dict, lang: str) -> list:
    """Its public dashboards and its catalogue entries."""
    dashes = [d for d in list_dashboards(get_db(), None) if d.organisation == org["code"]]
    with get_db().session() as s:
        entries = [ds for ds in datasets(s, lang) if ds.id in org["layers"]]
    out = [html.H2(t("portal.dashboards", lang))]
    out.append(html.Ul(id=f"{P}-dashboards", className="portal-list", children=[
        html.Li(html.A(d.title(lang), href=f"/dashboards/{d.slug}?lang={lang}")) for d in dashes])
        if dashes else html.P(t("portal.none", lang), id=f"{P}-no-dashboards"))
    out.append(html.H2(t("portal.catalog", lang)))
    if entries:
        items = []
        for ds in entries:
            links = [html.A("GeoJSON", href=ds.geojson_url)] if ds.geojson_url else []
            if ds.csv_url:
                links += [" · ", html.A("CSV", href=ds.csv_url, download=f"{ds.id}.csv")]
            items.append(html.Li(id={"type": f"{P}-dataset", "id": ds.id}, children=[
                html.Strong(ds.name), " ", html.Span(f"({ds.feature_count:,})", className="portal-count"),
                html.Br(), *links]))
        out.append(html.Ul(id=f"{P}-catalog", className="portal-list", children=items))
    else:
        out.append(html.P(t("portal.none", lang), id=f"{P}-no-catalog"))
    out.append(html.P(html.A(t("portal.all_catalog", lang), href=f"/catalog?lang={lang}")))
    return out


def layout(code: str | None = None, **query):
    lang = normalize_lang(query.get("lang"))
    org = _org(code)
    if org is None:
        return not_found(lang)
    name = org["name_en"] if lang == "en" else org["name_ja"]
    layers = _layers(lang)
    st: MapState = parse_state(query, {pl.id for pl in layers})
    if "lat" not in query or "lon" not in query:  # the organisation's own frame
        st.lat, st.lon, st.zoom = frame_for_bbox(boundary_bbox(org["boundary"]))
    layers = _layers(lang, st.zoom)
    groups_order, layers = portal_order(layers, org["layers"])
    if st.layers is None:
        st.layers = [pl.id for pl in layers if pl.id in org["layers"] or pl.default_visible]
    checked = set(st.layers)
    base, overlays, vectors = map_children(layers, checked, st.base, lang, st.opacity, prefix=P)
    groups = []
    for g in groups_order:
        members = [pl for pl in layers if pl.group == g]
        groups.append(html.Fieldset(className="layer-group", children=[
            html.Legend(group_label(g, lang, layers)),
            dcc.Checklist(id={"type": f"{P}-layers", "group": g}, value=[pl.id for pl in members if pl.id in checked],
                          options=[{"label": pl.name, "value": pl.id} for pl in members],
                          className="layer-checklist", inputClassName="layer-input"),
        ]))
    live = min([pl.spec.refresh_s for pl in layers if pl.spec.refresh_s] or [0])
    other = "en" if lang == "ja" else "ja"
    return html.Div(className="page-map portal-page", lang=lang, children=[
        dcc.Store(id=f"{P}-lang", data=lang),
        dcc.Store(id=f"{P}-code", data=org["code"]),
        html.Header(className="topbar", children=[
            html.Button(t("panel.toggle", lang), id=f"{P}-panel-toggle", className="panel-toggle",
                        **{"aria-controls": f"{P}-panel", "aria-expanded": "false"}),
            html.H1([html.Span(t("portal.title", lang, org=name), className="title-long", id=f"{P}-title"),
                     html.Span(name, className="title-short")], className="app-title"),
            html.A(t("portal.whole", lang), href=f"/?lang={lang}", className="lang-switch", id=f"{P}-whole"),
            html.A(t("lang.switch", lang), id=f"{P}-lang-link", className="lang-switch",
                   href=f"/o/{org['code']}?lang={other}", title=t("lang.switch.title", lang), hrefLang=other),
        ]),
        html.Main(className="map-wrap", children=[
            html.Aside(id=f"{P}-panel", className="panel", **{"aria-label": t("panel.title", lang)}, children=[
                html.Div(className="panel-head", children=[
                    html.H2(t("panel.title", lang)),
                    html.Button("×", id=f"{P}-panel-close", className="panel-close",
                                title=t("panel.close", lang), **{"aria-label": t("panel.close", lang)}),
                ]),
                html.Fieldset(className="layer-group", children=[
                    html.Legend(t("panel.basemap", lang)),
                    dcc.RadioItems(id=f"{P}-basemap", value=st.base, options=basemap_options(lang),
                                   className="basemap-radio"),
                ]),
                *groups,
                html.Section(className="legend", children=[
                    html.H2(t("panel.legend", lang)),
                    html.Div(id=f"{P}-legend", children=legend_children(layers, checked, lang, st.opacity, prefix=P)),
                ]),
                html.Section(className="portal-extras", children=_extras(org, lang)),
            ]),
            dl.Map(id=f"{P}-map", center=[st.lat, st.lon], zoom=st.zoom, minZoom=5, maxZoom=18,
                   className="map", maxBounds=[[20, 118], [50, 160]], children=[
                       dl.LayerGroup(id=f"{P}-base", children=base),
                       dl.LayerGroup(id=f"{P}-overlays", children=overlays),
                       dl.LayerGroup(id=f"{P}-vectors", children=vectors),
                       dl.ScaleControl(position="bottomleft", imperial=False),
                       dl.FullScreenControl(position="topleft", title=t("control.fullscreen", lang),
                                            titleCancel=t("control.fullscreen_exit", lang)),
                   ]),
        ]),
        dcc.Interval(id=f"{P}-refresh", interval=max(live, 5) * 1000, disabled=not live),
    ])


@callback(
    Output(f"{P}-base", "children"),
    Output(f"{P}-overlays", "children"),
    Output(f"{P}-vectors", "children"),
    Output(f"{P}-legend", "children"),
    Input({"type": f"{P}-layers", "group": ALL}, "value"),
    Input(f"{P}-basemap", "value"),
    Input({"type": f"{P}-opacity", "layer": ALL}, "value"),
    State({"type": f"{P}-opacity", "layer": ALL}, "id"),
    State(f"{P}-lang", "data"),
    State(f"{P}-map", "zoom"),
    prevent_initial_call=True,
)
def update_map(groups, base, op_values, op_ids, lang, zoom):
    """Only what this visitor may see (the same rule as `/`): a crafted id shows nothing more."""
    lang = normalize_lang(lang)
    base = base if base in BASEMAPS else "std"
    layers = _layers(lang, zoom_level(zoom))
    checked, opacity = checked_layers(groups), opacities(op_values, op_ids)
    trig = dash.callback_context.triggered_id
    legend = no_update if isinstance(trig, dict) and trig.get("type") == f"{P}-opacity" else \
        legend_children(layers, checked, lang, opacity, prefix=P)
    return (*map_children(layers, checked, base, lang, opacity, prefix=P), legend)


@callback(
    Output({"type": f"{P}-geojson", "layer": ALL}, "url"),
    Input(f"{P}-refresh", "n_intervals"),
    Input(f"{P}-map", "zoom"),
    Input(f"{P}-map", "bounds"),
    State({"type": f"{P}-geojson", "layer": ALL}, "url"),
    State(f"{P}-lang", "data"),
    prevent_initial_call=True,
)
def refresh_urls(_n, zoom, bounds, urls, lang):
    """New URLs only for layers whose data version, level of detail or asked-for area changed."""
    ids = [o["id"]["layer"] for o in dash.callback_context.outputs_list]
    current = {pl.id: pl.spec for pl in _layers(normalize_lang(lang), zoom_level(zoom))}
    return refreshed_urls(current, ids, urls, bounds, zoom_level(zoom))


@callback(
    Output(f"{P}-panel", "className"),
    Output(f"{P}-panel-toggle", "aria-expanded"),
    Input(f"{P}-panel-toggle", "n_clicks"),
    Input(f"{P}-panel-close", "n_clicks"),
    State(f"{P}-panel", "className"),
    prevent_initial_call=True,
)
def toggle_panel(_open, _close, class_name):
    """The layer panel is a drawer on a phone."""
    opening = dash.callback_context.triggered_id == f"{P}-panel-toggle" and "open" not in str(class_name or "")
    return ("panel open", "true") if opening else ("panel", "false")
