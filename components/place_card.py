"""The place card of the public map: hazards at a point and the nearest AEDs and shelters.
Data in (from layers/hazard_point.py and layers/nearby.py), components out."""
from __future__ import annotations

from dash import html

from i18n import t


def hazard_section(report: dict, lang: str) -> html.Section:
    if all(h["status"] == "unknown" for h in report["hazards"]):
        # the tiles cannot be reached from here (a closed network): one line, not four
        return html.Section(className="info-section", id="home-hazard", **{"data-status": "unknown"}, children=[
            html.H3(t("hazard_point.title", lang)),
            html.P(t("hazard_point.unknown", lang), className="hazard-class"),
            html.P("・".join(h["title"] for h in report["hazards"]), className="hazard-name"),
            html.P(report["source"], className="hazard-source"),
        ])
    items = []
    for h in report["hazards"]:
        swatch = html.Span(className=f"hazard-swatch {h['status']}",
                           style={"background": h["color"]} if h["status"] == "in" else None)
        items.append(html.Li(**{"data-hazard": h["key"], "data-status": h["status"]}, children=[
            swatch,
            html.Span([html.Span(h["title"], className="hazard-name"),
                       html.Span(h["label"], className="hazard-class"),
                       *([html.Span(h["caveat"], className="hazard-name")] if h["status"] != "unknown" else [])]),
        ]))
    return html.Section(className="info-section", id="home-hazard", children=[
        html.H3(t("hazard_point.title", lang)),
        html.Ul(items, className="hazard-list"),
        html.P(report["caveat"], className="hazard-caveat"),
        html.P(report["source"], className="hazard-source"),
    ])


def near_section(kind: str, items: list[dict], lang: str) -> html.Section:
    rows = [html.Li(html.Button(
        id={"type": "home-near", "kind": kind, "i": i, "lat": it["lat"], "lon": it["lon"]},
        className="near-item", n_clicks=0,
        title=it["address"] or it["name"],
        children=[html.Span([it["name"], *([html.Small(it["detail"], className="near-detail")]
                                           if it.get("detail") else []),
                             *([html.Small(t("nearby.flood_unknown", lang), className="near-detail")]
                               if it.get("flood") == "unknown" else [])], className="near-name"),
                  html.Span(t("nearby.item", lang, direction=it["direction"], distance=it["distance_text"]),
                            className="near-dist")]))
        for i, it in enumerate(items)]
    return html.Section(className="info-section", id=f"home-near-{kind}", children=[
        html.H3(t(f"nearby.{kind}", lang)),
        html.Ul(rows, className="near-list") if rows else html.P(t("nearby.none", lang)),
    ])


def place_children(origin: str, report: dict | None, near: dict[str, list[dict]], lang: str) -> list:
    hazards = [hazard_section(report, lang)] if report is not None else []
    nearby = [near_section(kind, items, lang) for kind, items in near.items()]
    known = report is not None and any(h["status"] != "unknown" for h in report["hazards"])
    # what can be answered comes first
    return [html.P(origin, className="info-from"), *(hazards + nearby if known else nearby + hazards)]
