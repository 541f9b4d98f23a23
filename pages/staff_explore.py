"""`/staff/explore` — Discover: what the platform holds, before it is charted. Per data source the
entity types and their counts, per type the entities and sensors with their latest values (AG Grid:
column filters, a quick filter over the rows shown, a search over all records), and the vector
layers with their properties and sample items. From a sensor: its history, or a dashboard panel.

The queries are `dashboards.explore` (visibility in SQL); this page only shows their answers. The
layout and every callback check the logged-in staff member themselves (anyone can POST to
/_dash-update-component)."""
from __future__ import annotations

from urllib.parse import quote, urlencode

import dash
import dash_ag_grid as dag
from dash import Input, Output, State, callback, clientside_callback, dcc, html, no_update

from components.grid import A11Y_GRID_OPTIONS, grid_locale
from components.shell import page_title
from components.staff import login_prompt, staff_header
from dashboards import explore
from i18n import STRINGS, normalize_lang, t
from layers.snow_depth import JST
from store.db import get_db

PATH = "/staff/explore"
LIMIT = 500

dash.register_page(__name__, path=PATH, title=page_title("explore.title"))


def _staff():
    from auth import current_staff

    return current_staff()


def kind_label(kind: str, lang: str) -> str:
    key = f"explore.kind.{kind}"
    return t(key, lang) if key in STRINGS else kind


def _jst(dt) -> str:
    return dt.astimezone(JST).strftime("%Y-%m-%d %H:%M") if dt is not None else ""


def _org(org, lang: str) -> str:
    if org is None:
        return ""
    return (org.name_en if lang == "en" and org.name_en else org.name_ja) or org.code


def _href(path: str, lang: str, **params) -> str:
    return f"{path}?{urlencode({**{k: v for k, v in params.items() if v}, 'lang': lang})}"


def type_label(row: dict, lang: str) -> str:
    if row["what"] == "kind":
        return kind_label(row["type"], lang)
    return row.get("label") or row["type"] or t("explore.no_type_name", lang)


def count_text(row: dict, lang: str) -> str:
    if row["what"] == "kind":
        return t("explore.count.kind", lang, layers=row["layers"], sensors=row["sensors"], features=row["features"])
    if row["what"] == "sensor":
        return t("explore.count.sensor", lang, n=row["count"], m=row["entities"])
    return t("explore.count.feature", lang, n=row["count"])


# --- sources and their types ---------------------------------------------------------------------

def source_card(group: explore.SourceGroup, lang: str, selected: str, layer: str) -> html.Section:
    if group.key == "layers":
        title = t("explore.platform_layers", lang)
    elif group.key == explore.ENV:
        title = t("explore.env_broker", lang)
    else:
        title = group.name
    head = [html.H4(title, className="explore-source-name"),
            html.Span(t(f"explore.source_kind.{group.kind}", lang),
                      className=f"explore-kind explore-kind-{group.kind}")]
    if group.kind != "layers":
        head.append(html.Span(t(f"staff.visibility.{group.visibility}", lang),
                              className=f"staff-badge {group.visibility}"))
    meta = []
    if group.base_url:
        meta.append(html.Code(group.base_url, className="explore-url"))
    if group.kind == "orion":
        meta.append(html.Span(t("explore.tenant", lang, service=group.service or "-", path=group.servicepath or "/")))
    if group.organisation is not None:
        meta.append(html.Span(_org(group.organisation, lang)))
    items = [html.Li(className="explore-type" + (" selected" if row["key"] == selected else ""), children=[
        dcc.Link(type_label(row, lang), href=_href(PATH, lang, type=row["key"], layer=layer),
                 className="explore-type-link", id={"type": "explore-type-link", "key": row["key"]}),
        html.Span(count_text(row, lang), className="explore-type-count"),
    ]) for row in group.types]
    return html.Section(className="explore-source", id={"type": "explore-source", "key": group.key}, children=[
        html.Div(head, className="explore-source-head"),
        html.Div(meta, className="staff-meta explore-source-meta") if meta else None,
        (html.Ul(items, className="explore-types") if items
         else html.P(t("explore.no_types", lang), className="staff-hint")),
    ])


def default_type(groups: list[explore.SourceGroup]) -> str:
    """The first type with sensors (what people come to chart), else the first type at all."""
    rows = [row for g in groups for row in g.types]
    for row in rows:
        if row["count"] and (row["what"] == "sensor" or row.get("sensors")):
            return row["key"]
    return rows[0]["key"] if rows else ""


# --- the entities grid ---------------------------------------------------------------------------

def _detail(props: dict) -> str:
    text = " · ".join(f"{k}: {v}" for k, v in props.items() if v not in (None, "") and k not in ("entity_id",))
    return text[:300]


def grid_rows(rows: list[dict], lang: str) -> list[dict]:
    """The service's rows as AG Grid rows: names in the language, times in JST, links as Markdown
    (ids percent-encoded, so nothing from a broker can shape the link)."""
    out = []
    for r in rows:
        en = lang == "en"
        if r["kind"] == "sensor":
            sid = quote(r.get("key") or r["id"], safe="")  # links address the store key
            actions = (f"[{t('explore.history', lang)}](/sensors?sensors={sid}&lang={lang}) · "
                       f"[{t('explore.add_dashboard', lang)}](/staff/dashboards?add_sensor={sid}&lang={lang})")
            detail = r.get("address") or ""
        else:
            query = urlencode({"lat": f"{r['lat']:.5f}", "lon": f"{r['lon']:.5f}", "z": 16, "layers": r["layer_id"],
                               "lang": lang}, safe=",")
            actions = f"[{t('explore.on_map', lang)}](/?{query})"
            detail = _detail(r.get("properties") or {})
        out.append({"row": r["row"], "kind": r["kind"], "name": r["name_en"] if en else r["name_ja"], "id": r["id"],
                    "layer": r["layer_en"] if en else r["layer_ja"], "area": r["area"], "attribute": r["attribute"],
                    "value": r["value"], "unit": r["unit"], "time": _jst(r["time"]),
                    "entity_type": r["entity_type"], "entity_id": r["entity_id"], "detail": detail, "actions": actions})
    return out


def grid_columns(lang: str, sensors: bool, features: bool, by_kind: bool, entity_ids: bool = False) -> list[dict]:
    """Columns for what the type holds: latest values for sensors, property values for items; the
    broker's entity id for a source's types; the entity type only where it varies (a layer kind
    mixes them; a source's type is one)."""
    def col(field, width, **kw):
        size = {"minWidth": width} if "flex" in kw else {"minWidth": width, "width": width}
        return {"field": field, "headerName": t(f"explore.col.{field}", lang), **size, **kw}

    actions = col("actions", (240 if lang == "en" else 210) if sensors else 90, cellRenderer="markdown",
                  sortable=False, filter=False)
    cols = [col("name", 140, pinned="left", flex=2, tooltipField="name")]
    if sensors:  # what people come for first: the value, its time, and what to do with it
        cols += [col("value", 115, type="numericColumn", filter="agNumberColumnFilter"), col("unit", 84),
                 col("time", 165)]
    cols += [actions, col("area", 125), col("layer", 130, flex=1, tooltipField="layer"),
             col("id", 130, flex=1, tooltipField="id")]
    if entity_ids:
        cols.append(col("entity_id", 160, flex=1, tooltipField="entity_id"))
    if sensors:
        cols.append(col("attribute", 120))
    if by_kind:
        cols.append(col("entity_type", 130))
    if features:
        cols.append(col("detail", 200, flex=2, tooltipField="detail"))
    return cols


def count_line(n: int, lang: str) -> str:
    if n == 0:
        return t("explore.none_found", lang)
    return t("explore.shown_limit" if n >= LIMIT else "explore.shown", lang, n=n)


def entities_card(groups, staff, type_key: str, lang: str) -> html.Section:
    chosen = next((row for g in groups for row in g.types if row["key"] == type_key), None)
    body = [html.H3(t("explore.entities", lang)
                    + (f" — {type_label(chosen, lang)}" if chosen else ""), id="explore-entities-title")]
    if chosen is None:
        body.append(html.P(t("explore.pick_type", lang), className="staff-hint"))
        return html.Section(body, className="staff-card", id="explore-entities")
    with get_db().session() as s:
        rows = explore.entities(s, staff, type_key, limit=LIMIT)
    by_kind = chosen["what"] == "kind" and any(r["entity_type"] for r in rows)
    sensors = chosen["what"] == "sensor" or bool(chosen.get("sensors"))
    features = chosen["what"] == "feature" or bool(chosen.get("features"))
    body += [
        html.Div(className="staff-row explore-tools", children=[
            html.Div(className="staff-field", children=[
                html.Label(t("explore.search", lang), htmlFor="explore-search", className="staff-label"),
                html.Div(className="explore-search-row", children=[
                    dcc.Input(id="explore-search", type="search", debounce=True, maxLength=200,
                              placeholder=t("explore.search.placeholder", lang), className="staff-input"),
                    html.Button(t("explore.search.button", lang), id="explore-search-go", className="staff-button"),
                ]),
            ]),
            html.Div(className="staff-field", children=[
                html.Label(t("explore.quick", lang), htmlFor="explore-quick", className="staff-label"),
                dcc.Input(id="explore-quick", type="search", placeholder=t("explore.quick.placeholder", lang),
                          className="staff-input"),
            ]),
        ]),
        html.P(count_line(len(rows), lang), id="explore-count", role="status", className="staff-meta"),
        dag.AgGrid(id="explore-grid", rowData=grid_rows(rows, lang),
                   columnDefs=grid_columns(lang, sensors, features, by_kind,
                                           entity_ids=chosen["what"] != "kind" and any(r["entity_id"] for r in rows)),
                   getRowId="params.data.row",
                   defaultColDef={"resizable": True, "sortable": True, "filter": True},
                   dashGridOptions={**A11Y_GRID_OPTIONS, "rowHeight": 34, "headerHeight": 36, "tooltipShowDelay": 300,
                                    "localeText": grid_locale(lang)},
                   className="ag-theme-alpine explore-grid",
                   style={"height": f"{max(160, min(560, 40 + 34 * len(rows) + 16))}px", "width": "100%"},
                   csvExportParams={"fileName": "explore.csv"}),
    ]
    return html.Section(body, className="staff-card", id="explore-entities")


# --- vector layers -------------------------------------------------------------------------------

def layers_card(staff, lang: str, type_key: str, layer_id: str) -> html.Section:
    with get_db().session() as s:
        layers = explore.vector_layers(s, staff)
        detail = explore.layer_properties(s, staff, layer_id) if layer_id else None
    body = [html.H3(t("explore.layers", lang)), html.P(t("explore.layers.intro", lang), className="staff-hint")]
    if not layers:
        body.append(html.P(t("explore.layers.none", lang)))
    else:
        head = html.Tr([html.Th(t(f"explore.col.{c}", lang)) for c in
                        ("name", "kind", "organisation", "visibility", "count", "updated")])
        rows = [html.Tr(className="selected" if x["id"] == layer_id else "", children=[
            html.Td(dcc.Link(x["name_en"] if lang == "en" else x["name_ja"],
                             href=_href(PATH, lang, type=type_key, layer=x["id"]),
                             id={"type": "explore-layer-link", "layer": x["id"]})),
            html.Td(kind_label(x["kind"], lang)),
            html.Td(_org(x["organisation"], lang)),
            html.Td(html.Span(t(f"staff.visibility.{x['visibility']}", lang),
                              className=f"staff-badge {x['visibility']}")),
            html.Td(f"{x['count']:,}", className="num"),
            html.Td(_jst(x["updated_at"])),
        ]) for x in layers]
        body.append(html.Div(html.Table([html.Thead(head), html.Tbody(rows)], className="staff-table explore-layers"),
                             className="explore-scroll"))
    if layer_id:
        body.append(layer_detail(detail, lang))
    return html.Section(body, className="staff-card", id="explore-layers")


def layer_detail(detail: dict | None, lang: str) -> html.Div:
    if detail is None:
        return html.Div(html.P(t("explore.layer.not_found", lang), className="staff-error", role="alert"),
                        id="explore-layer-detail")
    layer = detail["layer"]
    name = layer["name_en"] if lang == "en" else layer["name_ja"]
    children = [html.H4(f"{name}（{layer['count']:,}）" if lang == "ja" else f"{name} ({layer['count']:,})")]
    if layer["kind"] == "uploaded":
        children.append(html.A(t("explore.layer.open", lang), href=_href("/staff/layers", lang, layer=layer["id"])))
    props = detail["properties"]
    children.append(html.H4(t("explore.layer.properties_all" if detail["scanned"] >= layer["count"]
                              else "explore.layer.properties", lang, n=detail["scanned"])))
    if not props:
        children.append(html.P(t("explore.layer.no_properties", lang), className="staff-hint"))
    else:
        children.append(html.Div(className="explore-scroll", children=html.Table(className="staff-table", children=[
            html.Thead(html.Tr([html.Th(t(f"explore.col.{c}", lang))
                                for c in ("property", "type", "example", "filled")])),
            html.Tbody([html.Tr([html.Td(html.Code(p["name"])), html.Td(t(f"explore.type.{p['type']}", lang)),
                                 html.Td(str(p["example"])[:120] if p["example"] is not None else ""),
                                 html.Td(f"{p['filled']} / {detail['scanned']}", className="num")])
                        for p in props]),
        ])))
    items = detail["items"]
    if items:
        names = [p["name"] for p in props][:30]
        # AG Grid reads dots in a field as a path: the columns get neutral field names
        cols = [{"field": "fid", "headerName": t("explore.col.fid", lang), "pinned": "left", "minWidth": 90},
                {"field": "area", "headerName": t("explore.col.area", lang), "minWidth": 100}]
        cols += [{"field": f"p{i}", "headerName": n, "minWidth": 110} for i, n in enumerate(names)]
        rows = [{"fid": it["fid"], "area": it["area"],
                 **{f"p{i}": _cell(it["properties"].get(n)) for i, n in enumerate(names)}} for it in items]
        children += [html.H4(t("explore.layer.sample", lang, n=len(items))),
                     dag.AgGrid(id="explore-sample", rowData=rows, columnDefs=cols,
                                defaultColDef={"resizable": True, "sortable": True, "filter": True},
                                dashGridOptions={**A11Y_GRID_OPTIONS, "rowHeight": 32, "headerHeight": 34,
                                                 "domLayout": "autoHeight",
                                                 "localeText": grid_locale(lang)},
                                className="ag-theme-alpine explore-grid", style={"width": "100%"})]
    return html.Div(children, id="explore-layer-detail", className="explore-layer-detail")


def _cell(value):
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    return str(value)


# --- the page ------------------------------------------------------------------------------------

def layout(lang: str | None = None, type: str | None = None, layer: str | None = None, **_query):
    lang = normalize_lang(lang)
    staff = _staff()
    if staff is None:
        from auth import login_url

        return login_prompt(lang, login_url(PATH, lang), "explore")
    from auth import csrf_token

    with get_db().session() as s:
        groups = explore.entity_types(s, staff)
    type_key = str(type or "")[:500] or default_type(groups)
    layer_id = str(layer or "")[:80]
    sources = [source_card(g, lang, type_key, layer_id) for g in groups]
    if len(groups) == 1:  # only the platform's layers: say where sources come from
        sources.insert(0, html.P(t("explore.no_sources", lang), className="staff-hint"))
    return html.Div(className="staff-page", lang=lang, children=[
        staff_header(lang, PATH, staff.email, csrf_token(), "explore"),
        html.Main(className="staff-main explore-main", children=[
            dcc.Store(id="explore-lang", data=lang),
            dcc.Store(id="explore-type", data=type_key),
            html.H2(t("explore.title", lang)),
            html.P(t("explore.intro", lang), className="staff-hint"),
            html.Section(className="staff-card", id="explore-sources", children=[
                html.H3(t("explore.sources", lang)), html.Div(sources, className="explore-source-list")]),
            entities_card(groups, staff, type_key, lang),
            layers_card(staff, lang, type_key, layer_id),
        ]),
    ])


def search_rows(search: str | None, type_key: str | None, lang: str | None):
    """The search callback's work, callable from tests: (row data, count line)."""
    lang = normalize_lang(lang)
    staff = _staff()
    if staff is None:  # the session ended, or someone posts without one
        return [], t("explore.login_needed", lang)
    with get_db().session() as s:
        rows = explore.entities(s, staff, str(type_key or ""), search=str(search or ""), limit=LIMIT)
    return grid_rows(rows, lang), count_line(len(rows), lang)


@callback(
    Output("explore-grid", "rowData"),
    Output("explore-count", "children"),
    Input("explore-search", "value"),
    Input("explore-search-go", "n_clicks"),
    State("explore-type", "data"),
    State("explore-lang", "data"),
    prevent_initial_call=True,
)
def search(value, _go, type_key, lang):
    if not isinstance(type_key, str):
        return no_update, no_update
    return search_rows(value if isinstance(value, str) else "", type_key, lang)


clientside_callback(
    """function (text, options) {
        return Object.assign({}, options || {}, {quickFilterText: text || ""});
    }""",
    Output("explore-grid", "dashGridOptions"),
    Input("explore-quick", "value"),
    State("explore-grid", "dashGridOptions"),
    prevent_initial_call=True,
)
