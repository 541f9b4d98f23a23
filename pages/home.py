"""`/` — the public map of Ishikawa: base maps, boundaries, AEDs, hazard overlays, snow sensors."""
from __future__ import annotations

import dash
import dash_leaflet as dl
from dash import (
    ALL,
    MATCH,
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    dcc,
    html,
    no_update,
)

from auth import current_staff
from components.basemaps import basemap_options
from components.legend import legend_children
from components.map import map_children
from components.map_controls import checked_layers, opacities, refreshed_urls, zoom_level
from components.map_state import (
    BASEMAPS,
    MapState,
    exclusive_selection,
    parse_state,
    to_query,
    unavailable_layers,
)
from components.org_frame import organisation_frame
from components.place_card import place_children
from components.shell import page_title
from i18n import t
from layers.visible import group_label, group_order, stale_notices, visible_layers as _visible_layers
from store.db import get_db

dash.register_page(__name__, path="/", title=page_title("app.title", with_app=False))

# other public pages, listed at the foot of the layer panel
PAGE_LINKS = [
    ("snow", "nav.snow", "/snow"),
    ("sensors", "nav.sensors", "/sensors"),
    ("subscribe", "nav.subscribe", "/alerts/subscribe"),
    ("catalog", "nav.catalog", "/catalog"),  # every public dataset, GeoJSON/CSV/API/OGC API
    ("dashboards", "nav.dashboards", "/dashboards"),
]


def stale_badges_now(lang: str) -> dict[str, str]:
    from layers.feed_status import stale_badges

    with get_db().session() as s:
        return stale_badges(s, lang)


def visible_layers(lang: str, zoom: int | None = None):
    # private layers only for logged-in staff allowed to see them; every callback below
    # goes through here, so a crafted callback cannot reach a private layer either
    staff = current_staff()
    with get_db().session() as s:
        return _visible_layers(s, lang, zoom, staff=staff)


def status_children(layers, checked: set[str], lang: str) -> list:
    with get_db().session() as s:
        return [html.P(line) for line in stale_notices(s, layers, checked, lang)]



def layout(**query):
    layers = visible_layers("ja")
    known = {pl.id for pl in layers}
    st: MapState = parse_state(query, known)
    if "lat" not in query and "lon" not in query and "z" not in query:
        # logged-in staff of a city see their own area first (its municipal boundary)
        frame = organisation_frame(current_staff())
        if frame is not None:
            st.lat, st.lon, st.zoom = frame
    lang = st.lang
    layers = visible_layers(lang, st.zoom)
    badges = stale_badges_now(lang)  # a broker that stopped: its layers say since when
    # an old link may name layers that became private or were removed: say so (the same words for
    # both, so a private layer's existence is not given away); with none left, the default layers
    missing = unavailable_layers(query, known)
    notice = []
    if missing:
        ids = "、".join(missing[:3]) + ("…" if len(missing) > 3 else "")
        if not st.layers:
            st.layers = None
            notice = [html.P(t("home.layers_unavailable", lang, ids=ids))]
        else:
            notice = [html.P(t("home.layers_unavailable_some", lang, ids=ids))]
    if st.layers is None:
        st.layers = [pl.id for pl in layers if pl.default_visible]
    checked = set(st.layers)
    base, overlays, vectors = map_children(layers, checked, st.base, lang, st.opacity)

    groups = []
    for g in group_order(layers):
        members = [pl for pl in layers if pl.group == g]
        value = [pl.id for pl in members if pl.id in checked]
        groups.append(html.Fieldset(className="layer-group", children=[
            html.Legend(group_label(g, lang, layers)),
            dcc.Checklist(id={"type": "home-layers", "group": g}, value=value,
                          options=[{"label": pl.name + badges.get(pl.feed or "", ""), "value": pl.id}
                                   for pl in members],
                          className="layer-checklist", inputClassName="layer-input"),
            dcc.Store(id={"type": "home-layers-prev", "group": g}, data=value),
        ]))

    live = min([pl.spec.refresh_s for pl in layers if pl.spec.refresh_s] or [0])
    return html.Div(className="page-map", lang=lang, children=[
        dcc.Store(id="home-lang", data=lang),
        dcc.Store(id="home-point"),  # the place being checked: {lat, lon, source, name}
        dcc.Store(id="home-tap-armed", data=False),
        dcc.Store(id="home-geo"),  # the browser's location (clientside)
        dcc.Store(id="home-screen"),  # the window's width (clientside): phones show the card below
        html.Header(className="topbar", children=[
            html.Button(t("panel.toggle", lang), id="home-panel-toggle", className="panel-toggle",
                        **{"aria-controls": "home-panel", "aria-expanded": "false"}),
            html.H1([html.Span(t("app.title", lang), className="title-long"),
                     html.Span(t("app.short", lang), className="title-short")], className="app-title"),
            # logged-in staff get back to their pages from the map
            *([html.A(t("staff.nav.layers", lang), id="home-staff-link", className="lang-switch",
                      href=f"/staff/layers?lang={lang}")] if current_staff() is not None else []),
            html.A(t("lang.switch", lang), id="home-lang-link", className="lang-switch",
                   href=to_query(MapState(**{**st.__dict__, "lang": "en" if lang == "ja" else "ja"})),
                   title=t("lang.switch.title", lang), hrefLang="en" if lang == "ja" else "ja"),
        ]),
        html.Main(className="map-wrap", children=[
            html.Aside(id="home-panel", className="panel", **{"aria-label": t("panel.title", lang)}, children=[
                html.Div(className="panel-head", children=[
                    html.H2(t("panel.title", lang)),
                    html.Button("×", id="home-panel-close", className="panel-close",
                                title=t("panel.close", lang), **{"aria-label": t("panel.close", lang)}),
                ]),
                html.Fieldset(className="layer-group", children=[
                    html.Legend(t("panel.basemap", lang)),
                    dcc.RadioItems(id="home-basemap", value=st.base, options=basemap_options(lang),
                                   className="basemap-radio"),
                ]),
                *groups,
                html.Section(className="legend", children=[
                    html.H2(t("panel.legend", lang)),
                    html.Div(id="home-legend", children=legend_children(layers, checked, lang, st.opacity)),
                ]),
                html.Nav(className="panel-links", **{"aria-label": t("nav.more", lang)}, children=[
                    html.H2(t("nav.more", lang)),
                    html.Ul([html.Li(html.A(t(key, lang), href=f"{path}?lang={lang}", id=f"home-link-{name}"))
                             for name, key, path in PAGE_LINKS]),
                ]),
            ]),
            html.Div(id="home-status", className="map-status", role="status",
                     children=status_children(layers, checked, lang)),
            html.Div(id="home-notice", className="map-notice", role="status", children=notice),
            html.Div(className="map-tools", children=[
                html.Button(t("nearby.panel", lang), id="home-tools-open", className="map-tool",
                            **{"aria-controls": "home-info", "aria-haspopup": "true"}),
                html.Button(t("share.button", lang), id="home-share-open", className="map-tool",
                            **{"aria-controls": "home-share", "aria-haspopup": "dialog"}),
            ]),
            place_card(lang),
            share_dialog(lang),
            dl.Map(id="home-map", center=[st.lat, st.lon], zoom=st.zoom, minZoom=5, maxZoom=18,
                   className="map", preferCanvas=False, worldCopyJump=False,
                   maxBounds=[[20, 118], [50, 160]], children=[
                       dl.LayerGroup(id="home-base", children=base),
                       dl.LayerGroup(id="home-overlays", children=overlays),
                       dl.LayerGroup(id="home-vectors", children=vectors),
                       dl.LayerGroup(id="home-point-layer"),
                       dl.LayerGroup(id="home-target-layer"),
                       dl.ScaleControl(position="bottomleft", imperial=False),
                       dl.LocateControl(position="topleft", strings={
                           "title": t("control.locate", lang),
                           "popup": t("control.locate_popup", lang)}),
                       dl.FullScreenControl(position="topleft", title=t("control.fullscreen", lang),
                                            titleCancel=t("control.fullscreen_exit", lang)),
                   ]),
        ]),
        dcc.Interval(id="home-refresh", interval=max(live, 5) * 1000, disabled=not live),
    ])


def place_card(lang: str) -> html.Section:
    """Check a place: my location, a tapped point or an address -> hazards there, nearest AEDs/shelters."""
    return html.Section(id="home-info", className="info-card", hidden=True,
                        **{"aria-label": t("nearby.panel", lang)}, children=[
        html.Div(className="card-head", children=[
            html.H2(t("nearby.panel", lang)),
            html.Button("×", id="home-info-close", className="card-close",
                        title=t("nearby.close", lang), **{"aria-label": t("nearby.close", lang)}),
        ]),
        html.P(t("nearby.intro", lang), className="card-intro"),
        html.Div(className="info-tools", children=[
            html.Button(t("nearby.tool.locate", lang), id="home-tool-locate", className="map-tool"),
            html.Button(t("nearby.tool.tap", lang), id="home-tool-tap", className="map-tool"),
            html.Div(className="address-form", role="search", children=[
                html.Label(className="address-label", children=[
                    html.Span(t("nearby.tool.address", lang), className="sr-only"),
                    dcc.Input(id="home-address", type="search", debounce=False, maxLength=100,
                              placeholder=t("nearby.address_placeholder", lang)),
                ]),
                html.Button(t("nearby.search", lang), id="home-address-go", className="map-tool"),
            ]),
        ]),
        dcc.Checklist(id="home-avoid-flood", value=[], className="avoid-flood", inputClassName="layer-input",
                      options=[{"label": t("nearby.avoid_flood", lang), "value": "flood"}]),
        html.P(id="home-info-msg", className="info-msg", role="status"),
        dcc.Loading(html.Div(id="home-info-results"), type="dot", delay_show=300),
    ])


def share_dialog(lang: str) -> html.Section:
    return html.Section(id="home-share", className="share-dialog", hidden=True, role="dialog",
                        **{"aria-labelledby": "home-share-title"}, children=[
        html.Div(className="card-head", children=[
            html.H2(t("share.title", lang), id="home-share-title"),
            html.Button("×", id="home-share-close", className="card-close",
                        title=t("nearby.close", lang), **{"aria-label": t("nearby.close", lang)}),
        ]),
        html.Label([t("share.link", lang),
                    dcc.Input(id="home-share-url", className="share-url", readOnly=True, value="")]),
        html.Div(className="share-row", children=[
            html.Button(t("share.copy", lang), id="home-share-copy", className="map-tool"),
            html.Span(id="home-share-copied", className="share-copied", role="status"),
        ]),
        dcc.Store(id="home-share-texts", data={"ok": t("share.copied", lang), "failed": t("share.copy_failed", lang)}),
        html.Img(id="home-share-qr", className="share-qr", alt=t("share.qr_alt", lang)),
        html.P(t("share.qr_note", lang), className="share-note"),
    ])


@callback(
    Output({"type": "home-layers", "group": MATCH}, "value"),
    Output({"type": "home-layers-prev", "group": MATCH}, "data"),
    Input({"type": "home-layers", "group": MATCH}, "value"),
    State({"type": "home-layers-prev", "group": MATCH}, "data"),
    State("home-lang", "data"),
    prevent_initial_call=True,
)
def keep_exclusive(value, previous, lang):
    """Flood, tsunami and storm surge share a colour scale: one at a time."""
    exclusive = {pl.id for pl in visible_layers(lang) if pl.exclusive}
    new = exclusive_selection(previous or [], value or [], exclusive)
    return (new if new != value else no_update), new


@callback(
    Output("home-base", "children"),
    Output("home-overlays", "children"),
    Output("home-vectors", "children"),
    Input({"type": "home-layers", "group": ALL}, "value"),
    Input("home-basemap", "value"),
    Input({"type": "home-opacity", "layer": ALL}, "value"),
    State({"type": "home-opacity", "layer": ALL}, "id"),
    State("home-lang", "data"),
    State("home-map", "zoom"),
    prevent_initial_call=True,
)
def update_map(groups, base, op_values, op_ids, lang, zoom):
    base = base if base in BASEMAPS else "std"
    return map_children(visible_layers(lang, zoom_level(zoom)), checked_layers(groups), base, lang,
                        opacities(op_values, op_ids))


@callback(
    Output("home-legend", "children"),
    Input({"type": "home-layers", "group": ALL}, "value"),
    State({"type": "home-opacity", "layer": ALL}, "value"),
    State({"type": "home-opacity", "layer": ALL}, "id"),
    State("home-lang", "data"),
    prevent_initial_call=True,
)
def update_legend(groups, op_values, op_ids, lang):
    return legend_children(visible_layers(lang), checked_layers(groups), lang, opacities(op_values, op_ids))


@callback(
    Output({"type": "home-geojson", "layer": ALL}, "url"),
    Input("home-refresh", "n_intervals"),
    Input("home-map", "zoom"),
    Input("home-map", "bounds"),
    State({"type": "home-geojson", "layer": ALL}, "url"),
    State("home-lang", "data"),
    prevent_initial_call=True,
)
def refresh_urls(_n, zoom, bounds, urls, lang):
    """A layer gets a new URL only when its data version or its level of detail changed
    (or, for layers read by bbox, when the view left the area asked for)."""
    ids = [o["id"]["layer"] for o in dash.callback_context.outputs_list]
    current = {pl.id: pl.spec for pl in visible_layers(lang, zoom_level(zoom))}
    return refreshed_urls(current, ids, urls, bounds, zoom_level(zoom))


@callback(
    Output("home-status", "children"),
    Input("home-refresh", "n_intervals"),
    Input({"type": "home-layers", "group": ALL}, "value"),
    State("home-lang", "data"),
    prevent_initial_call=True,
)
def refresh_status(_n, groups, lang):
    return status_children(visible_layers(lang), checked_layers(groups), lang)


# The URL follows the map without reloading the page (history.replaceState), and the language
# link carries the same view, so a copied link opens what the sender saw.
clientside_callback(
    ClientsideFunction("ishikawaMap", "syncUrl"),
    Output("home-lang-link", "href"),
    Input("home-map", "center"),
    Input("home-map", "zoom"),
    Input({"type": "home-layers", "group": ALL}, "value"),
    Input("home-basemap", "value"),
    Input({"type": "home-opacity", "layer": ALL}, "value"),
    State({"type": "home-opacity", "layer": ALL}, "id"),
    State("home-lang", "data"),
)

clientside_callback(
    ClientsideFunction("ishikawaMap", "togglePanel"),
    Output("home-panel", "className"),
    Output("home-panel-toggle", "aria-expanded"),
    Input("home-panel-toggle", "n_clicks"),
    Input("home-panel-close", "n_clicks"),
    State("home-panel", "className"),
    prevent_initial_call=True,
)


clientside_callback(
    ClientsideFunction("ishikawaMap", "screenWidth"),
    Output("home-screen", "data"),
    Input("home-tools-open", "n_clicks"),
    prevent_initial_call=True,
)

clientside_callback(
    ClientsideFunction("ishikawaMap", "toggleCard"),
    Output("home-info", "hidden"),
    Output("home-share", "hidden", allow_duplicate=True),
    Input("home-tools-open", "n_clicks"),
    Input("home-info-close", "n_clicks"),
    State("home-info", "hidden"),
    prevent_initial_call=True,
)

clientside_callback(
    ClientsideFunction("ishikawaMap", "openShare"),
    Output("home-share", "hidden"),
    Output("home-share-url", "value"),
    Output("home-share-qr", "src"),
    Output("home-share-copied", "children"),
    Output("home-info", "hidden", allow_duplicate=True),
    Input("home-share-open", "n_clicks"),
    Input("home-share-close", "n_clicks"),
    State("home-share", "hidden"),
    prevent_initial_call=True,
)

clientside_callback(
    ClientsideFunction("ishikawaMap", "copyShare"),
    Output("home-share-copied", "children", allow_duplicate=True),
    Input("home-share-copy", "n_clicks"),
    State("home-share-url", "value"),
    State("home-share-texts", "data"),
    prevent_initial_call=True,
)

# the browser's location, asked for when the button is pressed (a Promise in map.js)
clientside_callback(
    ClientsideFunction("ishikawaMap", "locate"),
    Output("home-geo", "data"),
    Input("home-tool-locate", "n_clicks"),
    prevent_initial_call=True,
)


@callback(
    Output("home-tap-armed", "data"),
    Output("home-notice", "children"),
    Output("home-map", "className"),
    Output("home-info", "hidden", allow_duplicate=True),
    Input("home-tool-tap", "n_clicks"),
    State("home-lang", "data"),
    prevent_initial_call=True,
)
def arm_tap(_n, lang):
    """The next tap on the map chooses the place (other taps keep opening popups as before); the
    card steps aside meanwhile, so the whole map can be tapped on a phone."""
    return True, [html.P(t("nearby.tool.tap_hint", lang), className="tap-hint")], "map tap-armed", True


def _point(lat, lon) -> tuple[float, float] | None:
    from layers.nearby import parse_point
    from refusal import Refused

    try:
        return parse_point(lat, lon)
    except Refused:
        return None


@callback(
    Output("home-point", "data"),
    Output("home-tap-armed", "data", allow_duplicate=True),
    Output("home-info-msg", "children", allow_duplicate=True),
    Output("home-map", "className", allow_duplicate=True),
    Output("home-notice", "children", allow_duplicate=True),
    Input("home-map", "clickData"),
    Input("home-geo", "data"),
    Input("home-address-go", "n_clicks"),
    Input("home-address", "n_submit"),
    State("home-tap-armed", "data"),
    State("home-address", "value"),
    State("home-lang", "data"),
    prevent_initial_call=True,
)
def choose_point(click, geo, _go, _submit, armed, address, lang):
    trigger = (dash.callback_context.triggered_id or "")
    if trigger == "home-map":
        latlng = (click or {}).get("latlng") or {}
        p = _point(latlng.get("lat"), latlng.get("lng"))
        if not armed or p is None:
            return no_update, no_update, no_update, no_update, no_update
        return {"lat": p[0], "lon": p[1], "source": "tap"}, False, "", "map", []
    if trigger == "home-geo":
        p = _point((geo or {}).get("lat"), (geo or {}).get("lon"))
        if p is None:
            return no_update, False, t("nearby.locate_failed", lang), "map", no_update
        return {"lat": p[0], "lon": p[1], "source": "locate"}, False, "", "map", no_update
    from sources.geocode import GeocodeUnavailable, geocode

    q = " ".join(str(address or "").split())[:100]
    if not q:
        return no_update, False, t("nearby.bad_query", lang), "map", no_update
    try:
        found = geocode(q)
    except GeocodeUnavailable:
        return no_update, False, t("nearby.geocode_offline", lang), "map", no_update
    if not found:
        return no_update, False, t("nearby.address_none", lang, q=q), "map", no_update
    first = found[0]
    return ({"lat": first["lat"], "lon": first["lon"], "source": "address", "name": first["name"]},
            False, "", "map", no_update)


def view_center(lat: float, lon: float, zoom: int, target: int, bounds, phone: bool) -> list[float]:
    """Where to centre the map so the place shows: on a phone the card covers the lower half, so
    the place sits a quarter of the view from the top."""
    if not phone:
        return [lat, lon]
    try:
        (south, _w), (north, _e) = bounds
        span = (float(north) - float(south)) * 2.0 ** (zoom - target)
    except (TypeError, ValueError):
        return [lat, lon]
    return [lat - span / 4.0, lon]


def point_marker(lat: float, lon: float, label: str) -> dl.DivMarker:
    return dl.DivMarker(position=[lat, lon], id="home-point-marker", title=label, interactive=False,
                        iconOptions={"className": "point-marker", "html": "<span></span>", "iconSize": [30, 30],
                                     "iconAnchor": [15, 15]})


@callback(
    Output("home-info-results", "children"),
    Output("home-point-layer", "children"),
    Output("home-target-layer", "children"),
    Output("home-map", "viewport"),
    Output("home-info", "hidden", allow_duplicate=True),
    Input("home-point", "data"),
    Input("home-avoid-flood", "value"),
    State("home-lang", "data"),
    State("home-map", "zoom"),
    State("home-map", "bounds"),
    State("home-screen", "data"),
    prevent_initial_call=True,
)
def show_point(point, avoid, lang, zoom, bounds, screen):
    from layers.hazard_point import hazard_at
    from layers.nearby import nearest

    p = _point((point or {}).get("lat"), (point or {}).get("lon"))
    if p is None:
        return no_update, no_update, no_update, no_update, no_update
    lat, lon = p
    source = point.get("source")
    origin = (str(point.get("name") or "")[:200] if source == "address" else
              t("nearby.from.locate" if source == "locate" else "nearby.from.tap", lang))
    with get_db().session() as s:
        near = {kind: nearest(s, lat, lon, kind, 5, lang,
                              avoid_flood=kind == "shelters" and "flood" in (avoid or []))
                for kind in ("aed", "shelters")}
    report = hazard_at(lat, lon, lang)
    if dash.callback_context.triggered_id == "home-avoid-flood":  # the list changes, the view stays
        return (place_children(origin, hazard_at(lat, lon, lang), near, lang), no_update, no_update,
                no_update, no_update)
    viewport = no_update
    z = zoom_level(zoom) or 0
    target = max(z, 15) if source in ("locate", "address") else z
    phone = isinstance(screen, (int, float)) and screen < 768
    if source in ("locate", "address") or phone:
        viewport = {"center": view_center(lat, lon, z, target, bounds, phone), "zoom": target,
                    "transition": "flyTo"}
    marker = point_marker(lat, lon, t("nearby.point_marker", lang))
    return place_children(origin, report, near, lang), [marker], [], viewport, False


@callback(
    Output("home-map", "viewport", allow_duplicate=True),
    Output("home-target-layer", "children", allow_duplicate=True),
    Input({"type": "home-near", "kind": ALL, "i": ALL, "lat": ALL, "lon": ALL}, "n_clicks"),
    State("home-lang", "data"),
    prevent_initial_call=True,
)
def show_item(clicks, lang):
    """A tap on a listed AED or shelter shows it on the map."""
    trig = dash.callback_context.triggered_id
    if not trig or not any(clicks or []):
        return no_update, no_update
    if not dash.callback_context.triggered[0].get("value"):
        return no_update, no_update
    p = _point(trig.get("lat"), trig.get("lon"))
    if p is None:
        return no_update, no_update
    return ({"center": [p[0], p[1]], "zoom": 18, "transition": "flyTo"},
            [dl.CircleMarker(center=[p[0], p[1]], radius=24, color="#6a1b9a", weight=4, fill=False,
                             interactive=False)])
