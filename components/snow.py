"""Pieces of the /snow page: progress numbers and bar chart, legend, vehicle table columns."""
from __future__ import annotations

from typing import TYPE_CHECKING

from dash import html

from i18n import t

if TYPE_CHECKING:  # types only
    from layers.base import LegendItem


def progress_bars(prog: dict, lang: str) -> html.Div:
    """Bar chart in plain HTML/CSS (no chart library to download): share cleared per area, then
    per route, longest route first; the title of each bar gives the kilometres."""
    def bars(rows, cls):
        out = []
        for r in rows:
            pct = round(r["share"] * 100, 1)
            km = t("snow.km", lang, done=f"{r['cleared_m'] / 1000:.1f}", total=f"{r['total_m'] / 1000:.1f}")
            out.append(html.Div(className=f"bar-row {cls}", title=f"{r['name']}: {pct}% ({km})", children=[
                html.Span(r["name"], className="bar-label"),
                html.Span(className="bar-track", children=html.Span(className="bar-fill", style={"width": f"{pct}%"})),
                html.Span(f"{pct:.0f}%", className="bar-value"),
            ]))
        return out

    routes = sorted(prog["route"], key=lambda r: (-r["total_m"], r["name"]))
    return html.Div(className="bar-chart", role="img", **{"aria-label": t("snow.share", lang)}, children=[
        html.Div(t("snow.by_area", lang), className="bar-head"), *bars(prog["area"], "bar-area"),
        html.Div(t("snow.by_route", lang), className="bar-head"), *bars(routes, "bar-route"),
    ])


def progress_numbers(prog: dict, lang: str) -> html.Table:
    def km(m):
        return f"{m / 1000:.1f}"

    rows = [html.Tr([html.Th(t("snow.total", lang)), html.Td(f"{prog['total']['share'] * 100:.1f}%"),
                     html.Td(t("snow.km", lang, done=km(prog["total"]["cleared_m"]),
                               total=km(prog["total"]["total_m"])))],
                    className="progress-total")]
    for r in prog["area"]:
        rows.append(html.Tr([html.Th(r["name"]), html.Td(f"{r['share'] * 100:.1f}%"),
                             html.Td(t("snow.km", lang, done=km(r["cleared_m"]), total=km(r["total_m"])))]))
    return html.Table(rows, className="progress-table", id="snow-progress-table")


def legend(items: list[LegendItem], lang: str) -> html.Div:
    return html.Div(className="snow-legend", children=[
        html.Ul([html.Li([html.Span(className=f"swatch swatch-{i.shape}", style={"--swatch": i.color}),
                          html.Span(i.label)]) for i in items],
                className="legend-items"),
        html.Div([html.Span(className="swatch plow-swatch"), html.Span(t("snow.plow_marker", lang))],
                 className="legend-plow"),
    ])
