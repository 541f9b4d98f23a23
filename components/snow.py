"""Pieces of the /snow page: progress numbers and bar chart, legend, vehicle table columns."""
from __future__ import annotations

from typing import TYPE_CHECKING

from dash import html

from i18n import t

if TYPE_CHECKING:  # types only
    from layers.base import LegendItem


def progress_figure(prog: dict, lang: str) -> dict:
    """Horizontal bars: share cleared per area, then per route (plain dict: small to send)."""
    areas = prog["area"]
    routes = sorted(prog["route"], key=lambda r: r["total_m"], reverse=True)
    def trace(rows, name, color):
        return {"type": "bar", "orientation": "h", "name": name, "marker": {"color": color},
                "x": [round(r["share"] * 100, 1) for r in rows], "y": [r["name"] for r in rows],
                "customdata": [[round(r["cleared_m"] / 1000, 1), round(r["total_m"] / 1000, 1)] for r in rows],
                "hovertemplate": "%{y}: %{x}% (%{customdata[0]} / %{customdata[1]} km)<extra></extra>"}

    n = len(areas) + len(routes)
    return {"data": [trace(list(reversed(routes)), t("snow.by_route", lang), "#6baed6"),
                     trace(list(reversed(areas)), t("snow.by_area", lang), "#08519c")],
            "layout": {"height": max(220, 16 * n + 70), "margin": {"l": 120, "r": 10, "t": 10, "b": 36},
                       "xaxis": {"range": [0, 100], "title": {"text": t("snow.share", lang)}, "fixedrange": True},
                       "yaxis": {"automargin": True, "tickfont": {"size": 11}, "fixedrange": True},
                       "legend": {"orientation": "h", "y": 1.02, "x": 0, "yanchor": "bottom"},
                       "barmode": "overlay", "template": None, "plot_bgcolor": "#fff", "paper_bgcolor": "#fff",
                       "font": {"family": "Noto Sans CJK JP, sans-serif", "size": 12}}}


def progress_numbers(prog: dict, lang: str) -> html.Table:
    def km(m):
        return f"{m / 1000:.1f}"

    rows = [html.Tr([html.Th(t("snow.total", lang)), html.Td(f"{prog['total']['share'] * 100:.1f}%"),
                     html.Td(t("snow.km", lang, done=km(prog["total"]["cleared_m"]), total=km(prog["total"]["total_m"])))],
                    className="progress-total")]
    for r in prog["area"]:
        rows.append(html.Tr([html.Th(r["name"]), html.Td(f"{r['share'] * 100:.1f}%"),
                             html.Td(t("snow.km", lang, done=km(r["cleared_m"]), total=km(r["total_m"])))]))
    return html.Table(rows, className="progress-table", id="snow-progress-table")


def legend(items: list[LegendItem], lang: str) -> html.Div:
    return html.Div(className="snow-legend", children=[
        html.Ul([html.Li([html.Span(className=f"swatch swatch-{i.shape}", style={"--swatch": i.color}), html.Span(i.label)]) for i in items],
                className="legend-items"),
        html.Div([html.Span(className="swatch plow-swatch"), html.Span(t("snow.plow_marker", lang))],
                 className="legend-plow"),
    ])
