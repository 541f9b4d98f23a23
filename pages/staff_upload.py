"""`/staff/upload` — pick a file, see the preview (map, first rows, problems), publish.

The file goes to POST /staff/upload/file (assets/staff.js, with a progress bar); the callbacks here
read it back by token — only for the staff member who sent it — and check the logged-in user
themselves (anyone can POST to /_dash-update-component).
"""
from __future__ import annotations

import dash
import dash_ag_grid as dag
import dash_leaflet as dl
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate
from flask import current_app

from auth import csrf_token, current_staff, login_url
from components.grid import A11Y_GRID_OPTIONS
from components.org_frame import picker_view
from components.read_only import viewer_sees_read_only
from components.shell import page_title
from components.staff import file_picker, login_prompt, outline_layer, staff_header
from i18n import normalize_lang, t
from layers.manage import (
    Refused,
    UploadOptions,
    group_options,
    map_link,
    preview,
    publish_result,
    read_file,
    resolve_group,
)
from sources.readers.coords import CRS_CHOICES
from store import staging
from store.db import get_db

dash.register_page(__name__, path="/staff/upload", title=page_title("staff.upload.title"))

AUTO = "auto"


def crs_options(lang: str) -> list[dict]:
    return [{"label": t("staff.upload.crs_auto", lang), "value": AUTO}] + [
        {"label": label, "value": f"EPSG:{code}"} for code, label in CRS_CHOICES]


@viewer_sees_read_only("staff-upload")
def layout(lang: str | None = None, **_query):
    lang = normalize_lang(lang)
    staff = current_staff()
    if staff is None:
        return login_prompt(lang, login_url("/staff/upload", lang), "staff-upload")
    with get_db().session() as s:
        groups = group_options(s, lang, staff)
    groups.append({"label": t("staff.group.new", lang), "value": "__new__"})
    return html.Div(className="staff-page", lang=lang, children=[
        dcc.Store(id="staff-upload-lang", data=lang),
        staff_header(lang, "/staff/upload", staff.email, csrf_token(), "staff-upload"),
        html.Main(className="staff-main", children=[
            html.H2(t("staff.upload.title", lang)),
            html.Section(className="staff-card", children=[
                html.H3(t("staff.upload.step1", lang)),
                file_picker("staff-upload", lang, csrf_token(),
                            current_app.extensions["ishikawa.settings"].upload_max_mb),
                html.Div(className="staff-row", children=[
                    html.Div(className="staff-field", children=[
                        html.Label(t("staff.upload.crs", lang), htmlFor="staff-upload-crs"),
                        dcc.Dropdown(id="staff-upload-crs", options=crs_options(lang), value=AUTO, clearable=False),
                    ]),
                    html.Div(className="staff-field", children=[
                        html.Label(t("staff.upload.lat_column", lang), htmlFor="staff-upload-lat"),
                        dcc.Dropdown(id="staff-upload-lat", options=[], placeholder=t("staff.upload.auto", lang)),
                    ]),
                    html.Div(className="staff-field", children=[
                        html.Label(t("staff.upload.lon_column", lang), htmlFor="staff-upload-lon"),
                        dcc.Dropdown(id="staff-upload-lon", options=[], placeholder=t("staff.upload.auto", lang)),
                    ]),
                ]),
            ]),
            dcc.Loading(type="circle", children=html.Section(className="staff-card", id="staff-upload-preview",
                                                             children=[
                html.H3(t("staff.upload.step2", lang)),
                html.Div(id="staff-upload-summary", className="staff-summary",
                         children=t("staff.upload.nothing_yet", lang)),
                html.Div(id="staff-upload-warnings", className="staff-warnings"),
                dl.Map(id="staff-upload-map", **picker_view(staff, [36.6, 136.7], 8), className="staff-map", children=[
                    dl.TileLayer(url="https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png",
                                 attribution=t("attribution.gsi", lang), maxNativeZoom=18),
                    outline_layer("staff-upload-outline"),
                    dl.GeoJSON(id="staff-upload-geojson", data=None, zoomToBounds=True,
                               pointToLayer={"variable": "ishikawaMap.uploadedPoint"},
                               style={"variable": "ishikawaMap.uploadedStyle"},
                               onEachFeature={"variable": "ishikawaMap.popup"},
                               hideout={"color": "#1d70b8", "popup": {"title": "name", "fields": []}}),
                ]),
                html.Div(id="staff-upload-rows", className="staff-table-wrap"),
                html.Div(id="staff-upload-problems", className="staff-problems"),
            ])),
            html.Section(className="staff-card", children=[
                html.H3(t("staff.upload.step3", lang)),
                html.Div(className="staff-row", children=[
                    html.Div(className="staff-field", children=[
                        html.Label(t("staff.layer.name_ja", lang), htmlFor="staff-upload-name"),
                        dcc.Input(id="staff-upload-name", type="text", maxLength=200, className="staff-input"),
                    ]),
                    html.Div(className="staff-field", children=[
                        html.Label(t("staff.layer.name_en", lang), htmlFor="staff-upload-name-en"),
                        dcc.Input(id="staff-upload-name-en", type="text", maxLength=200, className="staff-input"),
                    ]),
                ]),
                html.Div(className="staff-row", children=[
                    html.Div(className="staff-field", children=[
                        html.Label(t("staff.layer.group", lang), htmlFor="staff-upload-group"),
                        dcc.Dropdown(id="staff-upload-group", options=groups, value="bousai", clearable=False),
                    ]),
                    html.Div(className="staff-field", id="staff-upload-newgroup", hidden=True, children=[
                        html.Label(t("staff.group.new_name", lang), htmlFor="staff-upload-group-ja"),
                        dcc.Input(id="staff-upload-group-ja", type="text", maxLength=200, className="staff-input",
                                  placeholder=t("staff.group.name_ja", lang)),
                        dcc.Input(id="staff-upload-group-en", type="text", maxLength=200, className="staff-input",
                                  placeholder=t("staff.group.name_en", lang)),
                    ]),
                    html.Div(className="staff-field", children=[
                        html.Label(t("staff.layer.visibility", lang)),
                        dcc.RadioItems(id="staff-upload-visibility", value="private", inline=True,
                                       className="staff-radio", options=[
                                           {"label": t("staff.visibility.public", lang), "value": "public"},
                                           {"label": t("staff.visibility.private", lang), "value": "private"}]),
                    ]),
                ]),
                dcc.Checklist(id="staff-upload-skip", value=[], className="staff-check", options=[
                    {"label": t("staff.upload.skip_invalid", lang), "value": "skip"}]),
                html.Button(t("staff.upload.publish", lang), id="staff-upload-publish", className="staff-button",
                            disabled=True),
                html.P(t("staff.upload.publishing", lang), id="staff-upload-busy", className="staff-busy", hidden=True),
                html.Div(id="staff-upload-result", className="staff-result", role="status"),
            ]),
        ]),
    ])


def _options(crs, lat, lon) -> UploadOptions:
    return UploadOptions(crs=None if crs in (None, AUTO) else crs, lat_column=lat or None, lon_column=lon or None)


def _staged(token_data, staff):
    if not token_data or staff is None:
        return None
    settings = current_app.extensions["ishikawa.settings"]
    return staging.load(settings.instance_path, token_data.get("token"), staff.id)


def _max_bytes() -> int:
    return current_app.extensions["ishikawa.settings"].upload_max_mb * 1024 * 1024


def _drop_if_infected(exc: Refused, token_data) -> None:
    """A staged file the scanner now finds a virus in is not kept any longer."""
    if exc.code == "virus_found":
        staging.discard(current_app.extensions["ishikawa.settings"].instance_path, (token_data or {}).get("token"))


def _read(raw, filename, crs, lat, lon, staff):
    """The staged file read with the chosen options; scanned for viruses again (signatures may have
    changed since it was staged)."""
    clamd_url = current_app.extensions["ishikawa.settings"].clamd_url
    return read_file(raw, filename, _options(crs, lat, lon), _max_bytes(), clamd_url, who=staff.email)


def _table(columns, rows):
    """The preview's first rows; AG Grid shows cell values as text, never as HTML."""
    return dag.AgGrid(rowData=rows, columnDefs=[{"field": c, "headerName": c} for c in columns],
                      defaultColDef={"sortable": True, "resizable": True, "minWidth": 120, "maxWidth": 260, "flex": 1},
                      dashGridOptions={**A11Y_GRID_OPTIONS, "pagination": True, "paginationPageSize": 20,
                                       "paginationPageSizeSelector": False, "rowHeight": 32, "headerHeight": 34,
                                       "suppressColumnVirtualisation": True,
                                       "suppressFieldDotNotation": True},  # a column may be named "a.b"
                      className="ag-theme-alpine", style={"height": f"{34 + 32 * 20 + 60}px", "width": "100%"})


@callback(
    Output("staff-upload-summary", "children"),
    Output("staff-upload-warnings", "children"),
    Output("staff-upload-geojson", "data"),
    Output("staff-upload-geojson", "hideout"),
    Output("staff-upload-rows", "children"),
    Output("staff-upload-problems", "children"),
    Output("staff-upload-lat", "options"),
    Output("staff-upload-lon", "options"),
    Output("staff-upload-publish", "disabled"),
    Output("staff-upload-name", "value"),
    Input("staff-upload-token", "data"),
    Input("staff-upload-crs", "value"),
    Input("staff-upload-lat", "value"),
    Input("staff-upload-lon", "value"),
    State("staff-upload-name", "value"),
    State("staff-upload-lang", "data"),
    prevent_initial_call=True,
)
def show_preview(token_data, crs, lat, lon, name, lang):
    staff = current_staff()
    if staff is None:
        raise PreventUpdate
    staged = _staged(token_data, staff)
    if staged is None:
        raise PreventUpdate
    filename, raw = staged
    try:
        result = _read(raw, filename, crs, lat, lon, staff)
    except Refused as exc:
        _drop_if_infected(exc, token_data)
        message = html.P(t(exc.message_key, lang, **exc.fmt), className="staff-error", role="alert")
        cols = [{"label": c, "value": c} for d in exc.details if isinstance(d, dict) for c in d.get("columns", [])]
        return (message, None, None, no_update, None, None, cols or no_update, cols or no_update, True, no_update)
    p = preview(result, lang)
    summary = html.Ul(className="staff-facts", children=[
        html.Li([html.B(t("staff.upload.file", lang)), " ", filename]),
        html.Li([html.B(t("staff.upload.format", lang)), " ", p["format"].upper(),
                 f" ({p['encoding']})" if p["encoding"] else ""]),
        html.Li([html.B(t("staff.upload.count", lang)), " ",
                 t("staff.upload.count_value", lang, count=p["count"], total=p["total"])], id="staff-upload-count"),
        html.Li([html.B(t("staff.upload.crs_used", lang)), " ", p["crs"], " ",
                 t(f"staff.upload.crs_from.{p['crs_from']}", lang)]),
        *([html.Li([html.B(t("staff.upload.coord_columns", lang)), " ", f"{p['lat_column']} / {p['lon_column']}"])]
          if p["lat_column"] else []),
    ])
    warnings = [html.P(w, className="staff-warning") for w in p["warnings"]]
    problems = None
    if p["problem_count"]:
        problems = html.Div(id="staff-upload-problem-list", children=[
            html.H4(t("staff.upload.problems", lang, count=p["problem_count"])),
            html.P(t("staff.upload.problems_hint", lang), className="staff-hint"),
            html.Table(className="staff-problem-table", children=[
                html.Thead(html.Tr([html.Th(t("staff.upload.row", lang)), html.Th(t("staff.upload.reason", lang))])),
                html.Tbody([html.Tr([html.Td(str(x["row"])), html.Td(x["message"])]) for x in p["problems"]]),
            ]),
        ])
    cols = [{"label": c, "value": c} for c in p["coord_columns"]]
    title = next((c for c in ("名称", "name", "施設名", "名前") if c in result.columns),
                 result.columns[0] if result.columns else "name")
    hideout = {"color": "#1d70b8", "label": title,
               "popup": {"title": title, "fields": [[c, c] for c in result.columns if c != title][:8]}}
    default_name = name or (filename.rsplit(".", 1)[0] if filename else "")
    return (summary, warnings, p["geojson"], hideout, _table(p["columns"], p["rows"]), problems, cols, cols,
            False, default_name)


@callback(
    Output("staff-upload-newgroup", "hidden"),
    Input("staff-upload-group", "value"),
)
def toggle_new_group(group):
    return group != "__new__"


@callback(
    Output("staff-upload-result", "children"),
    Input("staff-upload-publish", "n_clicks"),
    State("staff-upload-token", "data"),
    State("staff-upload-crs", "value"),
    State("staff-upload-lat", "value"),
    State("staff-upload-lon", "value"),
    State("staff-upload-name", "value"),
    State("staff-upload-name-en", "value"),
    State("staff-upload-group", "value"),
    State("staff-upload-group-ja", "value"),
    State("staff-upload-group-en", "value"),
    State("staff-upload-visibility", "value"),
    State("staff-upload-skip", "value"),
    State("staff-upload-lang", "data"),
    prevent_initial_call=True,
    # a million rows take a while to store: say so, and do not take a second click meanwhile
    running=[(Output("staff-upload-busy", "hidden"), False, True),
             (Output("staff-upload-publish", "className"), "staff-button busy", "staff-button")],
)
def publish(n, token_data, crs, lat, lon, name, name_en, group, group_ja, group_en, visibility, skip, lang):
    staff = current_staff()
    if staff is None or not n:
        raise PreventUpdate
    staged = _staged(token_data, staff)
    if staged is None:
        return html.P(t("staff.upload.no_file", lang), className="staff-error", role="alert")
    filename, raw = staged
    db = get_db()
    try:
        result = _read(raw, filename, crs, lat, lon, staff)
        if result.problem_count and "skip" not in (skip or []):
            return html.P(t("staff.upload.fix_or_skip", lang, count=result.problem_count), className="staff-error",
                          role="alert")
        group_key = resolve_group(db, staff, group, group_ja, group_en)
        outcome = publish_result(db, staff, result, filename, {
            "name_ja": name, "name_en": name_en, "group": group_key, "visibility": visibility}, lang)
    except Refused as exc:
        _drop_if_infected(exc, token_data)
        return html.P(t(exc.message_key, lang, **exc.fmt), className="staff-error", role="alert")
    staging.discard(current_app.extensions["ishikawa.settings"].instance_path, token_data.get("token"))
    return html.Div(id="staff-upload-done", children=[
        html.P(t("staff.upload.done", lang, count=outcome.feature_count)),
        html.A(t("staff.upload.see_map", lang), href=map_link(outcome.layer_id, result.bounds(), lang),
               id="staff-upload-map-link", className="staff-button"),
        " ",
        html.A(t("staff.upload.manage", lang), href=f"/staff/layers?layer={outcome.layer_id}&lang={lang}",
               id="staff-upload-manage-link", className="staff-button secondary"),
    ])
