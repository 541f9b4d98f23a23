"""A dashboard panel's answer (dashboards.service.panel_data) as Dash components: plotly charts
for time series, stat, gauge and bar; AG Grid for tables; dash-leaflet for maps; Markdown without
raw HTML for text. Data in, components out: no store, no Flask here."""
from __future__ import annotations

import html as html_lib
import math
from datetime import datetime
from urllib.parse import urlencode

import dash_ag_grid as dag
import dash_leaflet as dl
import plotly.graph_objects as go
from dash import dcc, html

from components.basemaps import BASEMAPS, basemap_attribution
from components.grid import A11Y_GRID_OPTIONS
from i18n import t
from timezones import JST

ROW_PX = 56  # one grid row; a panel of h rows is h * ROW_PX tall
PALETTE = ["#1d70b8", "#d4351c", "#00703c", "#f47738", "#4c2c92", "#b58840", "#28a197", "#505a5f", "#912b88",
           "#85994b"]
GRAPH_CONFIG = {"displaylogo": False, "responsive": True,
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}


def title_of(panel: dict, lang: str) -> str:
    return (panel.get("title_en") if lang == "en" and panel.get("title_en") else panel.get("title_ja")) or ""


def jst(text: str | None, with_date: bool = True) -> str:
    if not text:
        return ""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(JST)
    return dt.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")


def _jst_axis(points: list) -> list[str]:
    return [datetime.fromisoformat(p[0].replace("Z", "+00:00")).astimezone(JST).strftime("%Y-%m-%d %H:%M:%S")
            for p in points]


def _fmt(value, unit: str = "") -> str:
    if value is None:
        return "—"
    v = float(value)
    text = f"{v:,.0f}" if v.is_integer() else f"{v:,.2f}".rstrip("0").rstrip(".")
    return f"{text} {unit}".strip()


def _layout(height: int, **extra) -> dict:
    base = dict(margin=dict(l=48, r=12, t=8, b=36), height=height, paper_bgcolor="rgba(0,0,0,0)",
                plot_bgcolor="#fff", font=dict(family="Noto Sans CJK JP, sans-serif", size=12),
                legend=dict(orientation="h", y=1.0, yanchor="bottom", x=0), hovermode="x unified")
    base.update(extra)
    return base


def _graph(fig: go.Figure, panel: dict, lang: str, filename: str) -> dcc.Graph:
    config = {**GRAPH_CONFIG, "locale": lang,
              "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2}}
    return dcc.Graph(figure=fig, config=config, className="dash-panel-graph",
                     id={"type": "dash-panel-graph", "panel": panel["id"]})


def message(key: str, lang: str, css: str = "dash-panel-empty") -> html.Div:
    return html.Div(t(key, lang), className=css, role="status")


def timeseries(panel: dict, data: dict, lang: str, height: int, filename: str):
    series = data.get("series") or []
    if not any(s["points"] for s in series):
        return message("dash.no_data", lang)
    fig = go.Figure()
    mode = "lines" if data.get("agg") == "raw" else "lines+markers"
    for i, s in enumerate(series):
        fig.add_trace(go.Scatter(x=_jst_axis(s["points"]), y=[p[1] for p in s["points"]], name=s["name"], mode=mode,
                                 line=dict(color=PALETTE[i % len(PALETTE)], width=2), marker=dict(size=4),
                                 hovertemplate="%{y} " + html_lib.escape(s["unit"]) + "<extra>"
                                 + html_lib.escape(s["name"]) + "</extra>"))
    for line in data.get("thresholds") or []:
        fig.add_hline(y=line["value"], line=dict(color="#d4351c", dash="dash", width=1.5),
                      annotation_text=html_lib.escape(line.get("label", "")), annotation_position="top left",
                      annotation_font=dict(size=11, color="#d4351c"))
    unit = series[0]["unit"] if series else ""
    many = len(series) > 1
    fig.update_layout(**_layout(height, yaxis_title=unit, showlegend=many,
                                margin=dict(l=48, r=12, t=28 if many else 8, b=36)))
    return _graph(fig, panel, lang, filename)


def _unit(opts: dict, lang: str) -> str:
    return str((opts.get("unit_en") if lang == "en" and opts.get("unit_en") else opts.get("unit")) or "")


def _step_color(value, steps: list) -> str:
    color = "#0b0c0c"
    for step in sorted((s for s in steps or [] if isinstance(s, dict)), key=lambda s: float(s.get("value", 0))):
        try:
            if value is not None and value >= float(step.get("value", 0)):
                color = str(step.get("color", color))
        except (TypeError, ValueError):
            continue
    return color


def _first(data: dict) -> dict:
    rows = data.get("rows") or []
    if rows and isinstance(rows[0], dict) and "name" in rows[0] and "value" in rows[0]:
        return rows[0]  # sensors: the first one's latest value
    return {"value": data.get("value"), "unit": data.get("unit", ""), "name": "", "time": None}


def stat(panel: dict, data: dict, lang: str, height: int, filename: str):
    row = _first(data)
    if row.get("value") is None:
        return message("dash.no_data", lang)
    opts = panel.get("options") or {}
    unit = _unit(opts, lang) or row.get("unit", "")
    color = _step_color(row["value"], opts.get("steps"))
    children = [html.Div(_fmt(row["value"], unit), className="dash-stat-value", style={"color": color}),
                html.Div(" · ".join(x for x in [row.get("name", ""), jst(row.get("time"))] if x),
                         className="dash-stat-meta")]
    spark = data.get("sparkline") or []
    if len(spark) > 1 and height > 150:
        fig = go.Figure(go.Scatter(x=_jst_axis(spark), y=[p[1] for p in spark], mode="lines", fill="tozeroy",
                                   line=dict(color=color if color != "#0b0c0c" else "#1d70b8", width=1.5),
                                   hoverinfo="skip"))
        fig.update_layout(margin=dict(l=0, r=0, t=0, b=0), height=max(height - 130, 40), showlegend=False,
                          xaxis=dict(visible=False), yaxis=dict(visible=False), paper_bgcolor="rgba(0,0,0,0)",
                          plot_bgcolor="rgba(0,0,0,0)")
        children.append(dcc.Graph(figure=fig, config={"staticPlot": True}, className="dash-stat-spark"))
    return html.Div(children, className="dash-stat")


def gauge(panel: dict, data: dict, lang: str, height: int, filename: str):
    row = _first(data)
    if row.get("value") is None:
        return message("dash.no_data", lang)
    opts = panel.get("options") or {}
    lo, hi = float(opts.get("min", 0) or 0), float(opts.get("max", 100) or 100)
    steps = [s for s in opts.get("steps") or [] if isinstance(s, dict)]
    bands = []
    edges = sorted(float(s.get("value", 0)) for s in steps)
    for i, s in enumerate(sorted(steps, key=lambda s: float(s.get("value", 0)))):
        end = edges[i + 1] if i + 1 < len(edges) else hi
        bands.append({"range": [float(s.get("value", 0)), end], "color": str(s.get("color", "#eee"))})
    fig = go.Figure(go.Indicator(
        mode="gauge+number", value=row["value"], number={"suffix": " " + (_unit(opts, lang) or row.get("unit", ""))},
        gauge={"axis": {"range": [lo, hi]}, "bar": {"color": "#1d70b8"}, "steps": bands}))
    fig.update_layout(**_layout(height, margin=dict(l=36, r=36, t=24, b=8)))
    return _graph(fig, panel, lang, filename)


def bar(panel: dict, data: dict, lang: str, height: int, filename: str):
    bars = [b for b in data.get("bars") or [] if b.get("value") is not None]
    if not bars:
        return message("dash.no_data", lang)
    opts = panel.get("options") or {}
    horizontal = opts.get("orientation") == "h" or len(bars) > 8
    labels, values = [str(b["label"]) for b in bars], [b["value"] for b in bars]
    fig = go.Figure(go.Bar(x=values if horizontal else labels, y=labels if horizontal else values,
                           orientation="h" if horizontal else "v", marker_color=opts.get("color") or "#1d70b8",
                           text=[_fmt(v) for v in values], textposition="auto"))
    unit = _unit(opts, lang) or data.get("unit", "")
    extra = {"hovermode": "closest", "showlegend": False}
    if horizontal:
        extra["yaxis"] = {"autorange": "reversed", "automargin": True}
        extra["xaxis_title"] = unit
    else:
        extra["yaxis_title"] = unit
    fig.update_layout(**_layout(height, **extra))
    return _graph(fig, panel, lang, filename)


def _column_header(col: str, lang: str) -> str:
    key = f"dash.col.{col}"
    text = t(key, lang)
    return col if text == key else text


def table(panel: dict, data: dict, lang: str, height: int, filename: str):
    rows = data.get("rows")
    if rows is None and data.get("series"):
        rows = [{"sensor": s["name"], "time": p[0], "value": p[1]} for s in data["series"] for p in s["points"]]
        rows.sort(key=lambda r: r["time"], reverse=True)
    if not rows:
        return message("dash.no_data", lang)
    hidden = ("id", "lon", "lat", "attribute") if "name" in rows[0] else ("lon", "lat")
    columns = list(data.get("columns") or [c for c in rows[0].keys() if c not in hidden])
    shown = [{c: (jst(r.get(c)) if c == "time" else r.get(c)) for c in columns} for r in rows]
    defs = [{"field": c, "headerName": _column_header(c, lang), "filter": True, "sortable": True,
             **({"type": "numericColumn"} if all(isinstance(r.get(c), (int, float)) or r.get(c) is None
                                                 for r in shown[:50]) else {})} for c in columns]
    return dag.AgGrid(rowData=shown, columnDefs=defs, id={"type": "dash-panel-table", "panel": panel["id"]},
                      defaultColDef={"resizable": True, "minWidth": 90, "flex": 1},
                      dashGridOptions={**A11Y_GRID_OPTIONS, "domLayout": "normal", "rowHeight": 32, "headerHeight": 34},
                      className="ag-theme-alpine dash-panel-grid", style={"height": f"{height}px", "width": "100%"},
                      csvExportParams={"fileName": f"{filename}.csv"})


def _frame(bounds) -> dict:
    """Centre and zoom that show these bounds ([[south, west], [north, east]]) in a panel; the
    prefecture without them."""
    if not bounds:
        return {"center": [36.75, 136.75], "zoom": 8}
    (south, west), (north, east) = bounds
    span = max(east - west, (north - south) * 1.25, 0.01)
    zoom = max(6, min(15, int(math.log2(360 / span)) + 1))
    return {"center": [(south + north) / 2, (west + east) / 2], "zoom": zoom}


def map_panel(panel: dict, data: dict, lang: str, height: int, filename: str):
    base = "pale"
    children = [dl.TileLayer(url=BASEMAPS[base]["url"], attribution=basemap_attribution(base, lang),
                             maxNativeZoom=BASEMAPS[base]["maxNativeZoom"], maxZoom=18)]
    for i, layer in enumerate(data.get("layers") or []):
        lid = {"type": "dash-panel-layer", "panel": panel["id"], "n": i}
        props = dict(layer.get("props") or {})
        if layer.get("type") == "tiles":
            for j, url in enumerate(props.pop("urls", [])):
                children.append(dl.TileLayer(url=url, opacity=layer.get("opacity") or 0.7, zIndex=300 + j,
                                             attribution=html_lib.escape(layer.get("attribution", "")), **props))
        else:
            attribution = html_lib.escape(layer.get("attribution", ""))
            children.append(dl.GeoJSON(id=lid, url=layer["url"], attribution=attribution, **props))
    frame = _frame(data.get("bounds"))
    return dl.Map(id={"type": "dash-panel-map", "panel": panel["id"]}, children=children, **frame,
                  style={"height": f"{height}px", "width": "100%"}, className="dash-panel-map")


def text(panel: dict, data: dict, lang: str, height: int, filename: str):
    markdown = (panel.get("options") or {}).get("markdown_en" if lang == "en" else "markdown") \
        or (panel.get("options") or {}).get("markdown", "")
    return dcc.Markdown(str(markdown), dangerously_allow_html=False, className="dash-panel-text", link_target="_blank")


RENDER = {"timeseries": timeseries, "stat": stat, "gauge": gauge, "bar": bar, "table": table, "map": map_panel,
          "text": text}


def panel_body(panel: dict, answer: dict | None, lang: str):
    height = int((panel.get("grid") or {}).get("h", 4)) * ROW_PX - 52
    if answer is None:
        return message("dash.loading", lang)
    if answer.get("denied"):
        return message("dash.denied", lang, "dash-panel-denied")
    if answer.get("error"):
        return message("dash.panel_failed", lang, "dash-panel-error")
    data = answer.get("data") or {}
    if data.get("too_many"):
        return message("dash.too_many", lang)
    return RENDER[panel["type"]](panel, data, lang, height, f"{panel['id']}")


def panel_frame(slug: str, panel: dict, answer: dict | None, lang: str, query: dict, csv_links: bool = True):
    """One panel in the 12-column grid: title, CSV link, body."""
    g = panel.get("grid") or {}
    style = {"--x": g.get("x", 0) + 1, "--w": g.get("w", 6), "--y": g.get("y", 0) + 1, "--h": g.get("h", 4)}
    tools = []
    if csv_links and panel["type"] != "text" and slug:
        href = f"/api/dashboards/{slug}/panels/{panel['id']}/data.csv?{urlencode({**query, 'lang': lang})}"
        tools.append(html.A("CSV", href=href, className="dash-panel-tool", download=f"{slug}-{panel['id']}.csv",
                            title=t("dash.download_csv", lang), id={"type": "dash-panel-csv", "panel": panel["id"]}))
    return html.Section(className=f"dash-panel dash-panel-{panel['type']}", style=style,
                        id={"type": "dash-panel", "panel": panel["id"]}, children=[
        html.Div(className="dash-panel-head", children=[html.H3(title_of(panel, lang), className="dash-panel-title"),
                                                        html.Div(tools, className="dash-panel-tools")]),
        html.Div(panel_body(panel, answer, lang), className="dash-panel-body",
                 id={"type": "dash-panel-body", "panel": panel["id"]}),
    ])
