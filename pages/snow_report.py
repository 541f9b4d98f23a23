"""`/snow/report` — the storm report: how a night (or a chosen period) of snow removal went, per
area, route and vehicle; printable, with CSV downloads. The period comes from the address
(?start=&end=, JST), so a report can be bookmarked, shared and printed; a plain form changes it.
"""
from __future__ import annotations

from urllib.parse import urlencode

import dash
from dash import ClientsideFunction, Input, Output, clientside_callback, dcc, html

from components.shell import page_title
from components.snow import report_road_table, report_vehicle_table
from i18n import normalize_lang, t
from layers.snow_report import default_window, fmt_window, parse_window, report
from refusal import Refused
from store.db import get_db, utcnow
from timezones import JST

dash.register_page(__name__, path="/snow/report", title=page_title("snow.report.title"))


PATTERN = r"\d{4}-\d{2}-\d{2}([ T]\d{1,2}:\d{2})?"


def _local(dt) -> str:
    return dt.astimezone(JST).strftime("%Y-%m-%d %H:%M")


def layout(lang: str | None = None, start: str | None = None, end: str | None = None, **_query):
    lang = normalize_lang(lang)
    now = utcnow()
    other = "en" if lang == "ja" else "ja"
    error = None
    try:
        w_start, w_end = parse_window(start, end, now)
    except Refused as exc:
        error = t(exc.message_key, lang, **exc.fmt)
        w_start, w_end = default_window(now)
    query = {"start": _local(w_start), "end": _local(w_end)}
    d_start, d_end = default_window(now)
    header = html.Header(className="topbar snow-report-top", children=[
        html.A("← " + t("snow.report.back", lang), href=f"/snow?lang={lang}", className="lang-switch",
               id="snow-report-back"),
        html.H1(t("snow.report.title", lang), className="app-title"),
        html.A(t("lang.switch", lang), className="lang-switch", id="snow-report-lang", hrefLang=other,
               href="/snow/report?" + urlencode({**query, "lang": other})),
    ])
    form = html.Form(method="get", action="/snow/report", className="report-form no-print", children=[
        dcc.Input(type="hidden", name="lang", value=lang, id="snow-report-lang-field"),
        html.Label([html.Span(t("snow.report.start", lang)),
                    dcc.Input(type="text", name="start", value=query["start"], id="snow-report-start",
                              required=True, pattern=PATTERN, placeholder="2026-12-01 18:00", debounce=True)]),
        html.Label([html.Span(t("snow.report.end", lang)),
                    dcc.Input(type="text", name="end", value=query["end"], id="snow-report-end",
                              required=True, pattern=PATTERN, placeholder="2026-12-01 18:00", debounce=True)]),
        html.Button(t("snow.report.show", lang), type="submit", id="snow-report-show"),
        html.A(t("snow.report.last_night", lang), id="snow-report-last-night",
               href="/snow/report?" + urlencode({"start": _local(d_start), "end": _local(d_end), "lang": lang})),
    ])
    actions = html.Div(className="report-actions no-print", children=[
        html.Button(t("snow.report.print", lang), id="snow-report-print", n_clicks=0, type="button"),
        html.A(t("snow.report.csv_roads", lang), id="snow-report-csv-roads", download="",
               href="/api/snow/report.csv?" + urlencode({**query, "part": "roads", "lang": lang})),
        html.A(t("snow.report.csv_vehicles", lang), id="snow-report-csv-vehicles", download="",
               href="/api/snow/report.csv?" + urlencode({**query, "part": "vehicles", "lang": lang})),
    ])
    children = [form]
    if error:
        children.append(html.P(error, className="report-error", role="alert", id="snow-report-error"))
    with get_db().session() as s:
        rep = report(s, w_start, w_end)
    children += [
        html.H2([t("snow.report.window", lang), ": ", html.Span(fmt_window(w_start, w_end), id="snow-report-window")]),
        actions,
        html.P(t("snow.report.generated", lang, time=now.astimezone(JST).strftime("%Y-%m-%d %H:%M JST")),
               className="report-generated"),
    ]
    if not rep["vehicles"] and not rep["total"]["segments_cleared"]:
        children.append(html.P(t("snow.report.empty", lang), className="report-empty", id="snow-report-empty"))
    children += [
        report_road_table(rep["area"], rep["total"], lang, t("snow.report.by_area", lang), "snow-report-areas"),
        report_road_table(rep["route"], None, lang, t("snow.report.by_route", lang), "snow-report-routes"),
        html.P(t("snow.report.explain", lang), className="report-note"),
        report_vehicle_table(rep["vehicles"], lang),
        html.P(t("snow.report.explain_vehicles", lang), className="report-note"),
    ]
    return html.Div(className="page snow-report-page", lang=lang, children=[
        header, html.Main(className="snow-report", children=children)])


clientside_callback(
    ClientsideFunction("snow", "printReport"),
    Output("snow-report-print", "title"),
    Input("snow-report-print", "n_clicks"),
    prevent_initial_call=True,
)
