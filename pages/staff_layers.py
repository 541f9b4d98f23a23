"""`/staff/layers` — the own organisation's uploaded layers (admins: all): settings, replace the
data, roll back, edit items in a table, add a point by clicking the map, delete.

Every callback checks the logged-in user and the layer itself (layers.manage.layer_for_edit):
a layer they may not see is "not found", whatever the browser sent.
"""
from __future__ import annotations

import dash
import dash_ag_grid as dag
import dash_leaflet as dl
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate
from flask import current_app

from auth import csrf_token, current_staff, login_url
from components.grid import A11Y_GRID_OPTIONS, collect_edits, edited_rows, grid_locale
from components.org_frame import picker_view
from components.read_only import read_only, viewer_sees_read_only
from components.shell import page_title
from components.staff import file_picker, login_prompt, outline_layer, staff_header
from i18n import normalize_lang, t
from layers.base import layer_name
from layers.manage import (
    ITEM_ID,
    LAT,
    LON,
    Refused,
    UploadOptions,
    add_item,
    change_settings,
    group_options,
    items_table,
    layer_for_edit,
    read_file,
    remove,
    replace_result,
    resolve_group,
    roll_back,
    save_items,
)
from layers.uploaded import is_big
from store import staging
from store.db import get_db
from store.layer_versions import layer_versions
from store.layers import organisations
from store.uploads import staff_layers
from timezones import JST

dash.register_page(__name__, path="/staff/layers", title=page_title("staff.layers.title"))

PALETTE = ["#1d70b8", "#d4351c", "#00703c", "#f47738", "#4c2c92", "#b58840", "#28a197", "#505a5f"]


def _fmt_time(dt) -> str:
    return dt.astimezone(JST).strftime("%Y-%m-%d %H:%M") if dt else ""


def layer_list(staff, lang: str, selected: str | None):
    with get_db().session() as s:
        orgs = organisations(s)
        rows = []
        for layer in staff_layers(s, staff):
            org = orgs.get(layer.organisation_id)
            rows.append(html.Li(className="staff-layer-item" + (" selected" if layer.id == selected else ""), children=[
                html.A(layer_name(layer, lang), href=f"/staff/layers?layer={layer.id}&lang={lang}",
                       className="staff-layer-link", id={"type": "staff-layers-link", "layer": layer.id}),
                html.Span(t(f"staff.visibility.{layer.visibility}", lang),
                          className=f"staff-badge {layer.visibility}"),
                html.Span(t("legend.uploaded", lang, count=layer.feature_count or 0), className="staff-meta"),
                html.Span((org.name_en if lang == "en" else org.name_ja) if org else "", className="staff-meta"),
            ]))
    if not rows:
        return html.P(t("staff.layers.none", lang), className="staff-hint")
    return html.Ul(rows, className="staff-layer-list", id="staff-layers-list")


def _count_text(shown: int, total: int, lang: str) -> str:
    return t("staff.layers.items_count", lang, shown=shown, total=total) if shown < total else ""


def _layer_to_look_at(s, staff, layer_id: str):
    """A viewer's uploaded layer of their organisation: shown read-only (every change stays refused)."""
    from store.models import Layer
    from store.uploads import KIND
    from store.users import may_see_layer

    layer = s.get(Layer, layer_id)
    if layer is None or layer.kind != KIND or not may_see_layer(staff, layer) \
            or layer.organisation_id != staff.organisation_id:
        raise Refused(404, "not_found", "api.not_found")
    return layer


def editor(staff, layer_id: str, lang: str):
    db = get_db()
    try:
        with db.session() as s:
            layer = _layer_to_look_at(s, staff, layer_id) if read_only(staff) else layer_for_edit(s, staff, layer_id)
            groups = group_options(s, lang, staff)
            columns, items = items_table(s, layer)
            versions = layer_versions(s, layer.id)
            opts = dict(layer.options or {})
            info = dict(id=layer.id, name_ja=layer.name_ja, name_en=layer.name_en, group=layer.group,
                        visibility=layer.visibility, description_ja=layer.description_ja,
                        description_en=layer.description_en, license=layer.license,
                        attribution_ja=layer.attribution_ja, version=layer.version, count=layer.feature_count or 0,
                        big=is_big(layer),
                        updated=_fmt_time(layer.updated_at))
            version_rows = [(v.id, _fmt_time(v.created_at), v.source, v.feature_count, v.created_by) for v in versions]
    except Refused as exc:
        return html.P(t(exc.message_key, lang), className="staff-error", role="alert", id="staff-layers-refused")
    groups.append({"label": t("staff.group.new", lang), "value": "__new__"})
    data_cols = opts.get("columns", [])
    popup = opts.get("popup") or {}
    shown = {f[0]: f for f in popup.get("fields", [])}
    popup_rows = [{"column": c, "show": c in shown,
                   "label_ja": shown[c][1] if c in shown else c,
                   "label_en": (shown[c][2] if c in shown and len(shown[c]) > 2 else "")} for c in data_cols]
    color = opts.get("color", "#1d70b8")
    def field(label, comp, fid=None):
        fid = fid or (comp.id if isinstance(getattr(comp, "id", None), str) else None)
        return html.Div(className="staff-field", children=[
            html.Label(t(label, lang), htmlFor=fid) if fid else html.Label(t(label, lang)), comp])
    return html.Div(id="staff-layers-editor", children=[
        dcc.Store(id="staff-layers-id", data=layer_id),
        dcc.Store(id="staff-layers-shown", data=[r[ITEM_ID] for r in items]),
        html.H2(info["name_ja"] if lang == "ja" else (info["name_en"] or info["name_ja"]), id="staff-layers-heading"),
        html.P(t("staff.layers.summary", lang, count=info["count"], updated=info["updated"]), className="staff-hint"),
        html.Div(className="staff-links", children=[
            html.A(t("staff.layers.on_map", lang), href=f"/?layers={layer_id}&lang={lang}", className="staff-link"),
            html.A("GeoJSON", href=f"/api/layers/{layer_id}/download.geojson", className="staff-link"),
            html.A("CSV", href=f"/api/layers/{layer_id}/download.csv", className="staff-link"),
        ]),
        # settings
        html.Section(className="staff-card", children=[
            html.H3(t("staff.layers.settings", lang)),
            html.Div(className="staff-row", children=[
                field("staff.layer.name_ja", dcc.Input(id="staff-layers-name", value=info["name_ja"], maxLength=200,
                                                       className="staff-input"), "staff-layers-name"),
                field("staff.layer.name_en", dcc.Input(id="staff-layers-name-en", value=info["name_en"], maxLength=200,
                                                       className="staff-input"), "staff-layers-name-en"),
            ]),
            html.Div(className="staff-row", children=[
                field("staff.layer.group", dcc.Dropdown(id="staff-layers-group", options=groups, value=info["group"],
                                                        clearable=False), "staff-layers-group"),
                html.Div(className="staff-field", id="staff-layers-newgroup", hidden=True, children=[
                    html.Label(t("staff.group.new_name", lang)),
                    dcc.Input(id="staff-layers-group-ja", maxLength=200, className="staff-input",
                              placeholder=t("staff.group.name_ja", lang)),
                    dcc.Input(id="staff-layers-group-en", maxLength=200, className="staff-input",
                              placeholder=t("staff.group.name_en", lang)),
                ]),
                field("staff.layer.visibility", dcc.RadioItems(
                    id="staff-layers-visibility", value=info["visibility"], inline=True, className="staff-radio",
                    options=[{"label": t("staff.visibility.public", lang), "value": "public"},
                             {"label": t("staff.visibility.private", lang), "value": "private"}])),
            ]),
            html.Div(className="staff-row", children=[
                field("staff.layer.color", dcc.Dropdown(
                    id="staff-layers-color", value=color, clearable=False,
                    options=[{"label": html.Span([html.Span(className="swatch swatch-square", style={"--swatch": c}),
                                                  " ", c]), "value": c} for c in dict.fromkeys([color, *PALETTE])]),
                    "staff-layers-color"),
                field("staff.layer.shape", dcc.RadioItems(
                    id="staff-layers-shape", value=opts.get("shape", "circle"), inline=True, className="staff-radio",
                    options=[{"label": t(f"staff.shape.{k}", lang), "value": k}
                             for k in ("circle", "square", "marker")])),
            ]),
            html.Div(className="staff-row", children=[
                field("staff.layer.description", dcc.Textarea(id="staff-layers-description",
                                                              value=info["description_ja"], className="staff-input")),
                field("staff.layer.license", dcc.Input(id="staff-layers-license", value=info["license"],
                                                       className="staff-input")),
                field("staff.layer.attribution", dcc.Input(id="staff-layers-attribution", value=info["attribution_ja"],
                                                           className="staff-input")),
            ]),
            html.H4(t("staff.layers.popup", lang)),
            field("staff.layers.popup_title", dcc.Dropdown(
                id="staff-layers-popup-title", value=popup.get("title"), clearable=False,
                options=[{"label": c, "value": c} for c in data_cols]), "staff-layers-popup-title"),
            popup_grid(popup_rows, lang),
            dcc.Store(id="staff-layers-popup-edits", data={}),
            html.Button(t("staff.layers.save", lang), id="staff-layers-save", className="staff-button"),
            html.Div(id="staff-layers-save-result", className="staff-result", role="status"),
        ]),
        # data: replace / roll back
        html.Section(className="staff-card", children=[
            html.H3(t("staff.layers.data", lang)),
            file_picker("staff-layers", lang, csrf_token(),
                        current_app.extensions["ishikawa.settings"].upload_max_mb),
            dcc.Checklist(id="staff-layers-skip", value=[], className="staff-check",
                          options=[{"label": t("staff.upload.skip_invalid", lang), "value": "skip"}]),
            html.Button(t("staff.layers.replace", lang), id="staff-layers-replace", className="staff-button"),
            html.P(t("staff.upload.publishing", lang), id="staff-layers-replace-busy", className="staff-busy",
                   hidden=True),
            html.Div(id="staff-layers-replace-result", className="staff-result", role="status"),
            html.H4(t("staff.layers.versions", lang)),
            html.Ul([html.Li(t("staff.layers.version_item", lang, at=at, source=src or "-", count=n, by=by))
                     for _id, at, src, n, by in version_rows] or [html.Li(t("staff.layers.no_versions", lang))],
                    id="staff-layers-versions"),
            html.Button(t("staff.layers.rollback", lang), id="staff-layers-rollback",
                        className="staff-button secondary", disabled=not version_rows),
            html.Div(id="staff-layers-rollback-result", className="staff-result", role="status"),
        ]),
        # items
        html.Section(className="staff-card", children=[
            html.H3(t("staff.layers.items", lang)),
            html.P(t("staff.layers.items_hint", lang), className="staff-hint"),
            dl.Map(id="staff-layers-map", **picker_view(staff, [36.6, 136.7], 9), className="staff-map", children=[
                dl.TileLayer(url="https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png",
                             attribution=t("attribution.gsi", lang), maxNativeZoom=18),
                outline_layer("staff-layers-outline"),
                # a big layer comes as server-side clusters (never a million points to the browser)
                dl.GeoJSON(id="staff-layers-geojson", url=f"/api/layers/{layer_id}/features?v={info['version']}"
                           + ("&zoom=8" if info["big"] else ""),  # the whole prefecture fits at zoom 8
                           zoomToBounds=True, pointToLayer={"variable": "ishikawaMap.uploadedOrCluster" if info["big"]
                                                            else "ishikawaMap.uploadedPoint"},
                           clusterToLayer={"variable": "ishikawaMap.cluster"},
                           style={"variable": "ishikawaMap.uploadedStyle"},
                           onEachFeature={"variable": "ishikawaMap.popup"},
                           hideout={"color": color, "shape": opts.get("shape", "circle"), "label": popup.get("title"),
                                    "popup": {"title": popup.get("title"),
                                              "fields": [[f[0], f[1]] for f in popup.get("fields", [])]}}),
                dl.LayerGroup(id="staff-layers-click-marker"),
            ]),
            html.Div(className="staff-row", children=[
                html.Span(id="staff-layers-click", className="staff-hint", children=t("staff.layers.click_map", lang)),
                html.Button(t("staff.layers.add_point", lang), id="staff-layers-add", className="staff-button",
                            disabled=True),
            ]),
            dcc.Store(id="staff-layers-click-pos"),
            html.Div(id="staff-layers-add-result", className="staff-result", role="status"),
            html.Div(className="staff-row", children=[
                dcc.Input(id="staff-layers-item-search", type="search", debounce=True,
                          placeholder=t("staff.layers.search_hint", lang), className="staff-search"),
                html.Button(t("staff.layers.search", lang), id="staff-layers-item-search-go",
                            className="staff-button secondary"),
                html.Span(id="staff-layers-item-count", className="staff-hint",
                          children=_count_text(len(items), info["count"], lang)),
            ]),
            items_grid(columns, items, lang),
            dcc.Store(id="staff-layers-item-edits", data={}),
            dcc.Store(id="staff-layers-deleted", data=[]),
            html.Div(className="staff-row", children=[
                html.Button(t("staff.layers.delete_rows", lang), id="staff-layers-delete-rows",
                            className="staff-button secondary"),
                html.Button(t("staff.layers.save_items", lang), id="staff-layers-save-items", className="staff-button"),
            ]),
            html.Div(id="staff-layers-items-result", className="staff-result", role="status"),
        ]),
        # delete
        html.Section(className="staff-card danger", children=[
            html.H3(t("staff.layers.delete", lang)),
            html.Button(t("staff.layers.delete_button", lang), id="staff-layers-delete",
                        className="staff-button danger"),
            dcc.ConfirmDialog(id="staff-layers-confirm", message=t("staff.layers.delete_confirm", lang,
                                                                   name=info["name_ja"])),
            html.Div(id="staff-layers-delete-result", className="staff-result", role="status"),
        ]),
    ])


GRID_CLASS = "ag-theme-alpine staff-grid"


def popup_grid(rows: list[dict], lang: str) -> dag.AgGrid:
    """Which columns the popup shows, and their labels: a row per column of the layer."""
    return dag.AgGrid(
        id="staff-layers-popup", rowData=rows, getRowId="params.data.column",
        columnDefs=[{"field": "column", "headerName": t("staff.layers.popup_column", lang), "editable": False},
                    {"field": "show", "headerName": t("staff.layers.popup_show", lang), "cellDataType": "boolean",
                     "maxWidth": 110},
                    {"field": "label_ja", "headerName": t("staff.layers.popup_label_ja", lang)},
                    {"field": "label_en", "headerName": t("staff.layers.popup_label_en", lang)}],
        defaultColDef={"editable": True, "sortable": False, "resizable": True, "minWidth": 100, "flex": 1,
                       "cellDataType": False},
        dashGridOptions={**A11Y_GRID_OPTIONS, "singleClickEdit": True, "stopEditingWhenCellsLoseFocus": True,
                         "rowHeight": 34,
                         "headerHeight": 36, "suppressFieldDotNotation": True, "localeText": grid_locale(lang)},
        className=GRID_CLASS, style={"height": f"{min(40 + 34 * max(len(rows), 1) + 4, 380)}px", "width": "100%"})


def items_grid(columns: list[str], items: list[dict], lang: str) -> dag.AgGrid:
    """The layer's items (a big layer: its first rows, or those a search found): cells edited in
    place, rows picked with their check box and deleted, sorted and filtered per column; only the
    rows in view are drawn, so a thousand rows scroll smoothly."""
    defs = []
    for c in columns:
        col = {"field": c, "headerName": "id" if c == ITEM_ID else c, "editable": c != ITEM_ID}
        if c in (LON, LAT):
            col.update(cellDataType="number", filter="agNumberColumnFilter", minWidth=130)
        if c == ITEM_ID:
            col.update(pinned="left", minWidth=70, maxWidth=110)
        defs.append(col)
    return dag.AgGrid(
        id="staff-layers-items", rowData=items, columnDefs=defs, getRowId=f"params.data[{ITEM_ID!r}]",
        defaultColDef={"editable": True, "sortable": True, "filter": True, "resizable": True, "minWidth": 110,
                       "maxWidth": 320, "cellDataType": False},
        dashGridOptions={**A11Y_GRID_OPTIONS,
                         "rowSelection": {"mode": "multiRow", "checkboxes": True, "headerCheckbox": True,
                                          "enableClickSelection": False},
                         "singleClickEdit": True, "stopEditingWhenCellsLoseFocus": True, "rowHeight": 32,
                         "headerHeight": 36, "rowBuffer": 20, "suppressFieldDotNotation": True,
                         "suppressColumnVirtualisation": True,
                         "localeText": grid_locale(lang)},
        className=GRID_CLASS, style={"height": f"{min(40 + 32 * max(len(items), 3) + 20, 520)}px", "width": "100%"})


@viewer_sees_read_only("staff-layers")
def layout(lang: str | None = None, layer: str | None = None, **_query):
    lang = normalize_lang(lang)
    staff = current_staff()
    path = "/staff/layers"
    if staff is None:
        return login_prompt(lang, login_url(path + (f"?layer={layer}" if layer else ""), lang), "staff-layers")
    return html.Div(className="staff-page", lang=lang, children=[
        dcc.Store(id="staff-layers-lang", data=lang),
        staff_header(lang, path, staff.email, csrf_token(), "staff-layers"),
        html.Main(className="staff-main staff-split", children=[
            html.Aside(className="staff-side", children=[
                html.H2(t("staff.layers.title", lang)),
                html.A(t("staff.nav.upload", lang), href=f"/staff/upload?lang={lang}", className="staff-button"),
                layer_list(staff, lang, layer),
            ]),
            html.Div(className="staff-content", children=[
                editor(staff, layer, lang) if layer else html.P(t("staff.layers.pick", lang), className="staff-hint"),
            ]),
        ]),
    ])


def _msg(text: str, ok: bool = True):
    return html.P(text, className="staff-ok" if ok else "staff-error", role="status" if ok else "alert")


def _refused(exc: Refused, lang: str):
    return _msg(t(exc.message_key, lang, **exc.fmt), ok=False)


def _act(n, action):
    """A button's action for the logged-in staff member: its answer, or the Refused it raised."""
    staff = current_staff()
    if staff is None or not n:
        raise PreventUpdate
    try:
        return action(staff)
    except Refused as exc:
        return exc


@callback(Output("staff-layers-newgroup", "hidden"), Input("staff-layers-group", "value"))
def toggle_new_group(group):
    return group != "__new__"


def popup_from_table(title: str | None, rows: list[dict]) -> dict:
    fields = [[r["column"], r.get("label_ja") or r["column"], r.get("label_en") or ""]
              for r in rows or [] if r.get("show") and r.get("column")]
    return {"title": title, "fields": fields}


def note_edits(changes, edits):
    """An editable grid's latest edits added to its store (see components/grid.py)."""
    if current_staff() is None:
        raise PreventUpdate
    return collect_edits(edits, changes)


for _grid, _store in (("staff-layers-popup", "staff-layers-popup-edits"),
                      ("staff-layers-items", "staff-layers-item-edits")):
    callback(Output(_store, "data", allow_duplicate=True), Input(_grid, "cellValueChanged"), State(_store, "data"),
             prevent_initial_call=True)(note_edits)


@callback(
    Output("staff-layers-items", "deleteSelectedRows"),
    Output("staff-layers-deleted", "data", allow_duplicate=True),
    Input("staff-layers-delete-rows", "n_clicks"),
    State("staff-layers-items", "selectedRows"), State("staff-layers-deleted", "data"),
    prevent_initial_call=True,
)
def delete_rows(n, selected, deleted):
    """Picked rows leave the table; the store forgets them when the table is saved."""
    if current_staff() is None or not n or not selected:
        raise PreventUpdate
    gone = [str(r.get(ITEM_ID)) for r in selected if isinstance(r, dict) and r.get(ITEM_ID) is not None]
    return True, list(dict.fromkeys([*(deleted if isinstance(deleted, list) else []), *gone]))


@callback(
    Output("staff-layers-save-result", "children"),
    Input("staff-layers-save", "n_clicks"),
    State("staff-layers-id", "data"),
    State("staff-layers-name", "value"), State("staff-layers-name-en", "value"),
    State("staff-layers-group", "value"), State("staff-layers-group-ja", "value"),
    State("staff-layers-group-en", "value"), State("staff-layers-visibility", "value"),
    State("staff-layers-color", "value"), State("staff-layers-shape", "value"),
    State("staff-layers-description", "value"), State("staff-layers-license", "value"),
    State("staff-layers-attribution", "value"), State("staff-layers-popup-title", "value"),
    State("staff-layers-popup", "rowData"), State("staff-layers-popup-edits", "data"),
    State("staff-layers-lang", "data"),
    prevent_initial_call=True,
)
def save_settings(n, layer_id, name, name_en, group, group_ja, group_en, visibility, color, shape, description,
                  license_, attribution, popup_title, popup_rows, popup_edits, lang):
    staff = current_staff()
    if staff is None or not n:
        raise PreventUpdate
    db = get_db()
    try:
        with db.session() as s:
            layer_for_edit(s, staff, layer_id)  # before anything is created (a new group)
        group_key = resolve_group(db, staff, group, group_ja, group_en)
        change_settings(db, staff, layer_id, {
            "name_ja": name, "name_en": name_en or "", "group": group_key, "visibility": visibility, "color": color,
            "shape": shape, "description_ja": description or "", "license": license_ or "",
            "attribution_ja": attribution or "",
            "popup": popup_from_table(popup_title, edited_rows(popup_rows, popup_edits, [], "column"))})
    except Refused as exc:
        return _refused(exc, lang)
    return _msg(t("staff.layers.saved", lang))


@callback(
    Output("staff-layers-replace-result", "children"),
    Input("staff-layers-replace", "n_clicks"),
    State("staff-layers-id", "data"), State("staff-layers-token", "data"), State("staff-layers-skip", "value"),
    State("staff-layers-lang", "data"),
    prevent_initial_call=True,
    running=[(Output("staff-layers-replace-busy", "hidden"), False, True),
             (Output("staff-layers-replace", "className"), "staff-button busy", "staff-button")],
)
def replace_data(n, layer_id, token_data, skip, lang):
    staff = current_staff()
    if staff is None or not n:
        raise PreventUpdate
    settings = current_app.extensions["ishikawa.settings"]
    staged = staging.load(settings.instance_path, (token_data or {}).get("token"), staff.id)
    if staged is None:
        return _msg(t("staff.upload.no_file", lang), ok=False)
    filename, raw = staged
    db = get_db()
    try:
        with db.session() as s:
            layer_for_edit(s, staff, layer_id)
        result = read_file(raw, filename, UploadOptions(), settings.upload_max_mb * 1024 * 1024, settings.clamd_url,
                           who=staff.email)
        if result.problem_count and "skip" not in (skip or []):
            lines = [f"{p.row}: {p.text(lang)}" for p in result.problems[:20]]
            return html.Div([_msg(t("staff.upload.fix_or_skip", lang, count=result.problem_count), ok=False),
                             html.Ul([html.Li(x) for x in lines])])
        if not result.features:
            return _msg(t("upload.no_features", lang), ok=False)
        outcome = replace_result(db, staff, layer_id, result, filename, lang)
    except Refused as exc:
        if exc.code == "virus_found":  # a staged file found infected is not kept any longer
            staging.discard(settings.instance_path, token_data.get("token"))
        return _refused(exc, lang)
    staging.discard(settings.instance_path, token_data.get("token"))
    return html.Div([_msg(t("staff.layers.replaced", lang, count=outcome.feature_count)),
                     html.A(t("staff.layers.reload", lang), href=f"/staff/layers?layer={layer_id}&lang={lang}")])


@callback(
    Output("staff-layers-rollback-result", "children"),
    Input("staff-layers-rollback", "n_clicks"),
    State("staff-layers-id", "data"), State("staff-layers-lang", "data"),
    prevent_initial_call=True,
)
def rollback(n, layer_id, lang):
    count = _act(n, lambda staff: roll_back(get_db(), staff, layer_id))
    if isinstance(count, Refused):
        return _refused(count, lang)
    return html.Div([_msg(t("staff.layers.rolled_back", lang, count=count)),
                     html.A(t("staff.layers.reload", lang), href=f"/staff/layers?layer={layer_id}&lang={lang}")])


@callback(
    Output("staff-layers-click-pos", "data"),
    Output("staff-layers-click", "children"),
    Output("staff-layers-add", "disabled"),
    Output("staff-layers-click-marker", "children"),
    Input("staff-layers-map", "clickData"),
    State("staff-layers-lang", "data"),
    prevent_initial_call=True,
)
def map_clicked(click, lang):
    if not click or "latlng" not in click:
        raise PreventUpdate
    lat, lon = round(click["latlng"]["lat"], 6), round(click["latlng"]["lng"], 6)
    return ({"lon": lon, "lat": lat}, t("staff.layers.clicked", lang, lat=lat, lon=lon), False,
            [dl.CircleMarker(center=[lat, lon], radius=9, color="#d4351c", fill=False)])


@callback(
    Output("staff-layers-add-result", "children"),
    Output("staff-layers-items", "rowData", allow_duplicate=True),
    Output("staff-layers-shown", "data", allow_duplicate=True),
    Output("staff-layers-item-edits", "data", allow_duplicate=True),
    Output("staff-layers-deleted", "data", allow_duplicate=True),
    Input("staff-layers-add", "n_clicks"),
    State("staff-layers-id", "data"), State("staff-layers-click-pos", "data"), State("staff-layers-lang", "data"),
    prevent_initial_call=True,
)
def add_point(n, layer_id, pos, lang):
    staff = current_staff()
    if staff is None or not n or not pos:
        raise PreventUpdate
    db = get_db()
    try:
        fid = add_item(db, staff, layer_id, pos["lon"], pos["lat"])
        with db.session() as s:
            _cols, items = items_table(s, layer_for_edit(s, staff, layer_id))
    except Refused as exc:
        return _refused(exc, lang), no_update, no_update, no_update, no_update
    return _msg(t("staff.layers.added", lang, fid=fid)), items, [r[ITEM_ID] for r in items], {}, []


@callback(
    Output("staff-layers-items", "rowData", allow_duplicate=True),
    Output("staff-layers-shown", "data", allow_duplicate=True),
    Output("staff-layers-item-count", "children"),
    Output("staff-layers-item-edits", "data", allow_duplicate=True),
    Output("staff-layers-deleted", "data", allow_duplicate=True),
    Input("staff-layers-item-search-go", "n_clicks"),
    Input("staff-layers-item-search", "value"),
    State("staff-layers-id", "data"), State("staff-layers-lang", "data"),
    prevent_initial_call=True,
)
def search_items(_n, text, layer_id, lang):
    """Find items by id or any value: a big layer shows only its first rows otherwise."""
    staff = current_staff()
    if staff is None:
        raise PreventUpdate
    try:
        with get_db().session() as s:
            layer = layer_for_edit(s, staff, layer_id)
            _cols, items = items_table(s, layer, text=text or "")
            total = layer.feature_count or 0
    except Refused:
        raise PreventUpdate from None
    count = (t("staff.layers.items_found", lang, shown=len(items)) if (text or "").strip()
             else _count_text(len(items), total, lang))
    return items, [r[ITEM_ID] for r in items], count, {}, []


@callback(
    Output("staff-layers-items-result", "children"),
    Output("staff-layers-shown", "data", allow_duplicate=True),
    Input("staff-layers-save-items", "n_clicks"),
    State("staff-layers-id", "data"), State("staff-layers-shown", "data"), State("staff-layers-items", "rowData"),
    State("staff-layers-item-edits", "data"), State("staff-layers-deleted", "data"),
    State("staff-layers-lang", "data"),
    prevent_initial_call=True,
)
def save_item_table(n, layer_id, shown, rows, edits, deleted, lang):
    staff = current_staff()
    if staff is None or not n:
        raise PreventUpdate
    rows = edited_rows(rows, edits, deleted, ITEM_ID)
    try:
        counts = save_items(get_db(), staff, layer_id, [str(x) for x in shown or []], rows or [])
    except Refused as exc:
        return _refused(exc, lang), no_update
    return _msg(t("staff.layers.items_saved", lang, **counts)), [r.get(ITEM_ID) for r in rows or []]


@callback(
    Output("staff-layers-confirm", "displayed"),
    Input("staff-layers-delete", "n_clicks"),
    prevent_initial_call=True,
)
def ask_delete(n):
    return bool(n)


@callback(
    Output("staff-layers-delete-result", "children"),
    Input("staff-layers-confirm", "submit_n_clicks"),
    State("staff-layers-id", "data"), State("staff-layers-lang", "data"),
    prevent_initial_call=True,
)
def delete(n, layer_id, lang):
    refused = _act(n, lambda staff: remove(get_db(), staff, layer_id))
    if isinstance(refused, Refused):
        return _refused(refused, lang)
    return html.Div([_msg(t("staff.layers.deleted", lang)),
                     html.A(t("staff.layers.back", lang), href=f"/staff/layers?lang={lang}")])
