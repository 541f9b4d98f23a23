"""Pieces of the /snow pages: the legend of /snow (its progress figures and vehicle table are drawn
by assets/snow.js from the live state's numbers) and the tables of the storm report."""
from __future__ import annotations

from typing import TYPE_CHECKING

from dash import html

from components.legend import item_li, mark_item
from i18n import t

if TYPE_CHECKING:  # types only
    from layers.base import LegendItem


def legend(items: list[LegendItem], lang: str) -> html.Div:
    """Road colours (as the map draws them for the chosen window), then the plows' arrows in their
    state colours and the three kinds of trail, drawn as on the map."""
    from layers.snow.style import NOT_CLEARED_COLOR, PLOW_COLORS, TRAIL_COLORS

    def road(i):
        return mark_item(i.label, f"swatch-{i.shape}" + (" swatch-thin" if i.color == NOT_CLEARED_COLOR else ""),
                         i.color)

    plows = [("plowing", t("snow.work.plowing", lang)), ("spreading", t("snow.work.spreading", lang)),
             ("travel", t("snow.work.travel", lang)), ("idle", t("snow.state.idle", lang)),
             ("offline", t("snow.state.offline", lang))]
    trails = [("plowing", "solid"), ("spreading", "solid"), ("travel", "dotted")]
    return html.Div(className="snow-legend", children=[
        html.Ul([road(i) for i in items], className="legend-items"),
        html.Div(t("snow.trail_state", lang), className="legend-sub"),
        html.Ul(className="legend-items legend-inline", children=[
            mark_item(label, "plow-state-swatch", PLOW_COLORS[k]) for k, label in plows]),
        html.Div(t("snow.trail_legend", lang), className="legend-sub"),
        html.Ul(className="legend-items legend-inline", children=[
            mark_item(t(f"snow.work.{k}", lang), f"trail-swatch trail-{style}", TRAIL_COLORS[k])
            for k, style in trails]),
    ])


def overlay_legend(lang: str) -> html.Div:
    """The overlays' colours: snow-melting devices by state, restrictions by type (as on the public map) and
    whether in force at the moment shown, upcoming or ended (line style)."""
    from layers.melters import MeltersKind
    from layers.restrictions import RestrictionsKind, state_legend

    def items(kind):
        return html.Ul(className="legend-items legend-inline", children=[
            item_li(i) for i in kind.legend(None, lang)])

    return html.Div(className="snow-legend snow-overlay-legend", children=[
        html.Div(t("melter.layer", lang), className="legend-sub"), items(MeltersKind()),
        html.Div(t("restriction.layer", lang), className="legend-sub"), items(RestrictionsKind()),
        html.Ul(className="legend-items legend-inline restriction-states", id="snow-restriction-states", children=[
            mark_item(label, f"swatch-rstate swatch-rstate-{state}") for state, label in state_legend(lang)]),
    ])


# --- the storm report (/snow/report) ---------------------------------------------------------------

def _pct(x: float) -> str:
    return f"{x * 100:.0f}%"


def report_road_table(rows: list[dict], total: dict | None, lang: str, caption: str, table_id: str) -> html.Table:
    """Areas or routes: length, share cleared within 3/6/12 h and in the period, first pass median/max."""
    from layers.snow_report import WITHIN_H, hours_text

    def lab(key):
        return t(f"snow.report.col.{key}", lang)

    head = html.Tr([html.Th(lab("name"), scope="col"), html.Th(lab("total_km"), scope="col", className="num"),
                    *[html.Th(lab(f"share_{h}h"), scope="col", className="num") for h in WITHIN_H],
                    html.Th(lab("share"), scope="col", className="num"),
                    html.Th(lab("first"), scope="col", className="num")])

    def tr(r, name, cls=None):
        return html.Tr(className=cls, children=[
            html.Th(name, scope="row"), html.Td(f"{r['total_km']:.1f}", className="num"),
            *[html.Td([html.Span(_pct(r[f"share_{h}h"])),
                       html.Span(className="share-bar", style={"width": _pct(r[f"share_{h}h"])})],
                      className="num share") for h in WITHIN_H],
            html.Td(_pct(r["share"]), className="num"),
            html.Td(f"{hours_text(r['first_median_h'])} / {hours_text(r['first_max_h'])}", className="num")])

    body = [tr(r, r["name"]) for r in rows]
    if total is not None:
        body.append(tr(total, t("snow.report.kind.total", lang), "report-total"))
    return html.Div(className="report-table-wrap", children=html.Table(
        className="report-table", id=table_id,
        children=[html.Caption(caption), html.Thead(head), html.Tbody(body)]))


def report_vehicle_table(rows: list[dict], lang: str) -> html.Table:
    from layers.snow_report import hours_text

    def lab(key):
        return t(f"snow.report.col.{key}", lang)

    cols = ("plowed_km", "spread_km", "working_h", "travel_h", "idle_h", "offline_h")
    head = html.Tr([html.Th(lab("vehicle"), scope="col"), *[html.Th(lab(c), scope="col", className="num")
                                                           for c in cols]])
    body = [html.Tr([html.Th(v["id"], scope="row"),
                     *[html.Td(f"{v[c]:.1f}" if c.endswith("_km") else hours_text(v[c]), className="num")
                       for c in cols]]) for v in rows]
    return html.Div(className="report-table-wrap", children=html.Table(
        className="report-table", id="snow-report-vehicles",
        children=[html.Caption(t("snow.report.by_vehicle", lang)), html.Thead(head), html.Tbody(body)]))
