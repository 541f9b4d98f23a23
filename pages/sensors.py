"""`/sensors` — opens on an overview of every sensor the visitor may see, most serious first, with
its latest value and a 24-hour sparkline (layers/sensor_overview.py); a row opens that sensor's
chart. The chart view: sensor dashboards (what Kaga did with Kibana): several sensors on one chart, an
attribute, a time range in JST, auto-refresh, min/max/mean per 10 min / hour / day, threshold
lines of the alert rules, a table, CSV export and a permalink.

`/sensors?sensor=<id>` (the map popup's "観測履歴を見る" link) opens one sensor; the selection is
kept in the URL (`?sensors=a,b&attr=&range=&start=&end=&agg=&refresh=`); `?view=chart` opens the
chart with no sensor chosen yet.
"""
from __future__ import annotations

import dash
import dash_ag_grid as dag
import dash_leaflet as dl
from dash import ALL, Input, Output, State, callback, clientside_callback, dcc, html, no_update
from flask import current_app

from auth import current_staff
from components.grid import A11Y_GRID_OPTIONS
from components.header import header
from components.sensor_chart import sensor_figure
from components.sensor_overview import overview_list
from components.shell import page_title
from i18n import STRINGS, normalize_lang, t
from layers import sensor_history as sh, sensor_overview as so
from store.db import get_db, utcnow
from timezones import JST

dash.register_page(__name__, path="/sensors", title=page_title("sensors.title"))

AGG_KEYS = list(sh.AGGS)


def sensor_name(sensor, lang: str) -> str:
    return (sensor.name_en if lang == "en" and sensor.name_en else sensor.name_ja) or sensor.id


def attr_label(attr: str, lang: str) -> str:
    key = f"sensors.attr.{attr}"
    return t(key, lang) if key in STRINGS else attr


def visible_sensors() -> list[tuple]:
    """(sensor, private) of every sensor the person asking may see (visitors: the public ones)."""
    with get_db().session() as s:
        return so.visible_sensors(s, current_staff())


def dashboard(sel: sh.Selection) -> dict:
    """Everything the page shows for a selection (plain data + the figure)."""
    lang = sel.lang
    now = utcnow()
    found = visible_sensors()
    private = {x.id for x, p in found if p}
    with get_db().session() as s:
        sensors = {x.id: x for x, _p in found}
        ids = [sid for sid in sel.sensors if sid in sensors]
        attrs = sh.attributes_of(s, ids)
        attribute = sel.attribute if sel.attribute in attrs else (sensors[ids[0]].attribute if ids else "")
        since, until = sh.time_window(sel, now)
        settings = current_app.extensions.get("ishikawa.settings")
        ql = (settings.quantumleap_url, settings.fiware_service, settings.fiware_servicepath) \
            if settings is not None and settings.quantumleap_url else None
        series = sh.history(s, ids, attribute, since, until, sel.agg, quantumleap=ql)
        lines = sh.thresholds(s, ids, attribute)
        names = {sid: sensor_name(sensors[sid], lang) for sid in ids}
        units = {sensors[sid].unit for sid in ids if sensors[sid].attribute == attribute}
        latest = [(names[sid], sensors[sid]) for sid in ids]
    unit = next(iter(units), "") if len(units) == 1 else ""
    y_title = attr_label(attribute, lang) + (f"（{unit}）" if unit else "")
    fig = sensor_figure(series, names, sh.AGGS[sel.agg], sh.identity_buckets, lines, t("sensors.time_jst", lang),
                        y_title,
                        {"min": t("sensors.min", lang), "max": t("sensors.max", lang),
                         "mean": t("sensors.mean", lang)}, JST, (since, until))
    if not sel.sensors:
        summary = t("sensors.pick_hint", lang)
    elif not ids:
        summary = t("sensors.unknown", lang)
    elif not any(series.values()):
        summary = t("sensors.empty", lang)
    else:
        parts = []
        for name, sensor in latest:
            if sensor.last_value is None:
                continue
            parts.append(f"{name} {sensor.last_value:g} {sensor.unit}"
                         f"（{sensor.last_observed_at.astimezone(JST):%Y-%m-%d %H:%M} JST）")
        summary = f"{t('sensors.latest', lang)}: " + " / ".join(parts)
    rows = sh.table_rows(series, names, sel.agg)[-sh.MAX_TABLE_ROWS:]
    sel_out = sh.Selection(**{**sel.__dict__, "sensors": ids, "attribute": attribute})
    query = sh.to_query(sel_out)
    return {"figure": fig, "summary": summary, "rows": rows, "attrs": attrs, "attribute": attribute,
            "permalink": "/sensors" + query,
            # the open-data export serves public sensors only
            "csv": "" if private & set(ids) else "/api/sensors/export.csv" + query,
            "window": f"{since.astimezone(JST):%Y-%m-%d %H:%M} – {until.astimezone(JST):%Y-%m-%d %H:%M} JST",
            "thresholds": lines}


def table_columns(agg: str, lang: str) -> list[dict]:
    """The table's AG Grid column definitions, headers in the page's language."""
    cols = [{"field": "sensor", "headerName": t("sensors.col.sensor", lang)},
            {"field": "time", "headerName": t("sensors.time_jst", lang), "sort": "asc"}]
    if agg == "raw":
        cols.append({"field": "value", "headerName": t("sensors.col.value", lang), "type": "numericColumn"})
    else:
        cols += [{"field": k, "headerName": t(f"sensors.{k}", lang), "type": "numericColumn"}
                 for k in ("min", "max", "mean")]
        cols.append({"field": "count", "headerName": t("sensors.col.count", lang), "type": "numericColumn"})
    return cols


TABLE_PAGE = 20


def sensor_table(rows: list[dict], agg: str, lang: str) -> dag.AgGrid:
    return dag.AgGrid(id="sensors-table", rowData=rows, columnDefs=table_columns(agg, lang),
                      defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 110,
                                     "flex": 1},
                      dashGridOptions={**A11Y_GRID_OPTIONS, "pagination": True, "paginationPageSize": TABLE_PAGE,
                                       "paginationPageSizeSelector": False, "rowHeight": 32, "headerHeight": 34},
                      className="ag-theme-alpine sensors-grid",
                      style={"height": f"{34 + 32 * TABLE_PAGE + 60}px", "width": "100%", "marginTop": "8px"})


MAP_MARKERS = 1000  # beyond this, pick by search (a broker may bring thousands of sensors)


def sensor_markers(sensors, selected: list[str], lang: str) -> list:
    sensors = [x for x in sensors if x.id in selected] + [x for x in sensors if x.id not in selected][:MAP_MARKERS]
    return [dl.CircleMarker(id={"type": "sensors-marker", "id": x.id}, center=[x.lat, x.lon], radius=7,
                               color="#0b2545", weight=2 if x.id not in selected else 4,
                               fillColor="#d4351c" if x.id in selected else "#1d70b8", fillOpacity=0.9,
                               children=dl.Tooltip(sensor_name(x, lang))) for x in sensors]


def sensor_map(sensors, selected: list[str], lang: str) -> dl.Map:
    lats = [x.lat for x in sensors] or [36.75]
    lons = [x.lon for x in sensors] or [136.75]
    center = [(min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2]
    return dl.Map(id="sensors-map", center=center, zoom=8, className="sensors-map", style={"height": "260px"},
                  children=[dl.TileLayer(url="https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png",
                                         attribution=t("attribution.gsi", lang), maxNativeZoom=18),
                            # the municipal outlines: the map says where you are even without tiles
                            dl.GeoJSON(url="/api/layers/boundaries/features?zoom=9", interactive=False,
                                       style={"variable": "ishikawaMap.outlineStyle"}, hideout={}),
                            dl.LayerGroup(id="sensors-markers", children=sensor_markers(sensors, selected, lang))])


def overview_page(lang: str, found: list[tuple]):
    with get_db().session() as s:
        rows = so.overview(s, utcnow(), current_staff())
    capped = so.MAX_ROWS if len(found) > so.MAX_ROWS else None
    return html.Div(className="page", lang=lang, children=[
        header(lang, "/sensors", {}, "sensors"),
        html.Main(className="page-body", children=[
            html.A(t("sensors.back", lang), href=f"/?lang={lang}", className="back-link"),
            html.H2(t("sensors.overview.title", lang)),
            dcc.Link(t("sensors.overview.compare", lang), href=f"/sensors?view=chart&lang={lang}",
                     id="sensors-compare-link", className="back-link"),
            overview_list(rows, lang, capped),
        ]),
    ])


def layout(lang: str | None = None, view: str | None = None, **query):
    lang = normalize_lang(lang)
    found = visible_sensors()
    sensors = [x for x, _p in found]
    sel = sh.parse_selection({**query, "lang": lang}, sh.addresses(sensors))
    if not sel.sensors and view != "chart":
        return overview_page(lang, found)
    data = dashboard(sel)
    options = [{"label": sensor_name(x, lang), "value": x.id} for x in sensors]
    custom_style = {} if sel.range == "custom" else {"display": "none"}
    return html.Div(className="page", lang=lang, children=[
        header(lang, "/sensors", {k: v for k, v in dict(
            sensors=",".join(sh.shown_ids(sel)), range=sel.range, attr=data["attribute"], agg=sel.agg).items() if v},
            "sensors"),
        html.Main(className="page-body", children=[
            html.Div(className="sensors-backlinks", children=[
                html.A(t("sensors.back", lang), href=f"/?lang={lang}", className="back-link"),
                dcc.Link(t("sensors.overview.back", lang), href=f"/sensors?lang={lang}", id="sensors-overview-link",
                         className="back-link")]),
            html.H2(t("sensors.title", lang)),
            dcc.Store(id="sensors-lang", data=lang),
            html.Div(className="sensors-controls", children=[
                html.Div(className="sensors-wide", children=[
                    html.Label(t("sensors.pick", lang), htmlFor="sensors-pick", className="ctl-label"),
                    dcc.Dropdown(id="sensors-pick", options=options, value=sel.sensors, multi=True,
                                 searchable=True, placeholder=t("sensors.search", lang)),
                ]),
                html.Div([html.Label(t("sensors.attribute", lang), htmlFor="sensors-attr", className="ctl-label"),
                          dcc.Dropdown(id="sensors-attr", clearable=False, value=data["attribute"] or None,
                                       options=[{"label": attr_label(a, lang), "value": a} for a in data["attrs"]])]),
                html.Div([html.Label(t("sensors.aggregate", lang), className="ctl-label"),
                          dcc.RadioItems(id="sensors-agg", value=sel.agg, inline=True, className="basemap-radio",
                                         options=[{"label": t(f"sensors.agg.{k}", lang), "value": k}
                                                  for k in AGG_KEYS])]),
                html.Div(className="sensors-wide", children=[
                    html.Label(t("sensors.range", lang), className="ctl-label"),
                    dcc.RadioItems(id="sensors-range", value=sel.range, inline=True, className="basemap-radio",
                                   options=[{"label": t(f"sensors.range.{k}", lang), "value": k}
                                            for k in sh.RANGE_KEYS]),
                ]),
                html.Div(id="sensors-custom", className="sensors-custom sensors-wide", style=custom_style, children=[
                    html.Label(t("sensors.from_jst", lang), htmlFor="sensors-start", className="ctl-label"),
                    dcc.Input(id="sensors-start", type="datetime-local", value=sel.start, debounce=True),
                    html.Label(t("sensors.to_jst", lang), htmlFor="sensors-end", className="ctl-label"),
                    dcc.Input(id="sensors-end", type="datetime-local", value=sel.end, debounce=True),
                ]),
                dcc.Checklist(id="sensors-refresh", value=["on"] if sel.refresh else [], className="basemap-radio",
                              options=[{"label": t("sensors.auto_refresh", lang), "value": "on"}]),
            ]),
            html.Div(className="sensors-wide", children=[
                html.Label(t("sensors.by_map", lang), className="ctl-label"), sensor_map(sensors, sel.sensors, lang)]),
            html.P(data["summary"], id="sensors-summary"),
            html.P(data["window"], id="sensors-window", className="legend-note"),
            dcc.Graph(id="sensors-graph", figure=data["figure"], config={"displaylogo": False}),
            html.Div(className="sensors-actions", children=[
                html.A(t("sensors.permalink", lang), id="sensors-permalink", href=data["permalink"]),
                html.A(t("sensors.csv", lang), id="sensors-csv", href=data["csv"], download="sensors.csv",
                       hidden=not data["csv"]),
                html.Span(id="sensors-url-sync", style={"display": "none"}),
            ]),
            sensor_table(data["rows"], sel.agg, lang),
            dcc.Interval(id="sensors-interval", interval=60_000, disabled=not sel.refresh),
        ]),
    ])


@callback(
    Output("sensors-graph", "figure"),
    Output("sensors-summary", "children"),
    Output("sensors-window", "children"),
    Output("sensors-table", "rowData"),
    Output("sensors-table", "columnDefs"),
    Output("sensors-permalink", "href"),
    Output("sensors-csv", "href"),
    Output("sensors-csv", "hidden"),
    Output("sensors-attr", "options"),
    Output("sensors-attr", "value"),
    Output("sensors-custom", "style"),
    Output("sensors-interval", "disabled"),
    Output("sensors-markers", "children"),
    Input("sensors-pick", "value"),
    Input("sensors-attr", "value"),
    Input("sensors-range", "value"),
    Input("sensors-start", "value"),
    Input("sensors-end", "value"),
    Input("sensors-agg", "value"),
    Input("sensors-refresh", "value"),
    Input("sensors-interval", "n_intervals"),
    State("sensors-lang", "data"),
    prevent_initial_call=True,
)
def update_dashboard(picked, attr, range_key, start, end, agg, refresh, _n, lang):
    lang = normalize_lang(lang)
    picked = picked if isinstance(picked, list) else ([picked] if picked else [])
    sensors = [x for x, _p in visible_sensors()]
    known = sh.addresses(sensors)
    sel = sh.parse_selection({"sensors": ",".join(picked), "attr": attr or "", "range": range_key,
                              "start": start or "", "end": end or "", "agg": agg,
                              "refresh": "1" if refresh else "", "lang": lang}, known)
    data = dashboard(sel)
    return (data["figure"], data["summary"], data["window"], data["rows"], table_columns(sel.agg, lang),
            data["permalink"], data["csv"], not data["csv"],
            [{"label": attr_label(a, lang), "value": a} for a in data["attrs"]],
            data["attribute"] or None, {} if sel.range == "custom" else {"display": "none"}, not sel.refresh,
            sensor_markers(sensors, sel.sensors, lang))


@callback(
    Output("sensors-pick", "value"),
    Input({"type": "sensors-marker", "id": ALL}, "n_clicks"),
    State("sensors-pick", "value"),
    prevent_initial_call=True,
)
def pick_on_map(clicks, picked):
    trig = dash.callback_context.triggered_id
    if not trig or not any(clicks or []):
        return no_update
    picked = list(picked or [])
    sid = trig["id"]
    if sid in picked:
        picked.remove(sid)
    elif len(picked) < sh.MAX_SENSORS:
        picked.append(sid)
    return picked


# the address bar follows the selection, so copying it gives the same dashboard
clientside_callback(
    """function (href) {
        if (href && window.location.pathname + window.location.search !== href) {
            window.history.replaceState(window.history.state, "", href);
        }
        return "";
    }""",
    Output("sensors-url-sync", "children"),
    Input("sensors-permalink", "href"),
)
