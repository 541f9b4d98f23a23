"""`/snow` — snow removal live map for road managers: road colours by time since cleared, plows
with heading and 30-minute trails, vehicle table, progress per route and area, 24-hour replay.

The road network comes once by URL; every refresh patches only the changed road states into the
GeoJSON's hideout and sends only the vehicles that moved (the browser keeps the fleet in a store).
"""
from __future__ import annotations

import time

import dash
import dash_leaflet as dl
from dash import (
    ClientsideFunction,
    Input,
    Output,
    Patch,
    State,
    callback,
    clientside_callback,
    dash_table,
    dcc,
    html,
    no_update,
)

from components.basemaps import BASEMAPS, basemap_attribution
from components.snow import legend, progress_bars, progress_numbers
from i18n import normalize_lang, t
from layers.snowplow import (
    REFRESH_S,
    feed_message,
    fmt_jst,
    legend_items,
    network_view,
    page_refresh,
    snapshot,
    style_hideout,
)
from store.cache import cache
from store.db import get_db

dash.register_page(__name__, path="/snow", title=t("snow.title"))

PROGRESS_HOURS = [1, 3, 6, 12, 24]
DEFAULT_HOURS = 24  # the window the page opens with: the map shows every age class
PLAY_STEP_MIN = 5
# replay speeds (minutes of the past per second of watching) -> (tick in ms, slider step in minutes);
# the slider moves in 5-minute steps, so ×1 is 5 minutes every 5 seconds
SPEEDS = {1: (5000, 5), 5: (1000, 5), 15: (1000, 15), 30: (1000, 30), 60: (1000, 60)}
DEFAULT_SPEED = 5


def _labels(lang: str) -> dict:
    return {"work": {w: t(f"snow.work.{w}", lang) for w in ("plowing", "spreading", "travel")},
            "state": {s: t(f"snow.state.{s}", lang) for s in ("active", "idle", "offline")}}


def _mode_text(live: bool, at: float, lang: str) -> str:
    return t("snow.live", lang) if live else t("snow.replay_at", lang, time=fmt_jst(at, True)[:-3])


def layout(lang: str | None = None, **query):
    lang = normalize_lang(lang)
    db = get_db()
    now = time.time()
    view = network_view(db)
    page = page_refresh(db, cache, None, now, 0, DEFAULT_HOURS)
    snap = snapshot(db, page["key"], cache)
    fleet = {vid: {**v} for vid, v in snap["vehicles"].items()}
    badge, stale = feed_message(page["feed"], now, lang)
    other = "en" if lang == "ja" else "ja"
    hours_marks = {-1440: t("snow.hours_ago", lang, h=24), -720: t("snow.hours_ago", lang, h=12),
                   -360: t("snow.hours_ago", lang, h=6), 0: t("snow.now", lang)}
    return html.Div(className="page-map snow-page", lang=lang, children=[
        dcc.Store(id="snow-lang", data=lang),
        dcc.Store(id="snow-key", data=page["key"]),
        dcc.Store(id="snow-delta", data=None),
        dcc.Store(id="snow-fleet", data=fleet),
        dcc.Store(id="snow-labels", data=_labels(lang)),
        dcc.Store(id="snow-focus", data=None),
        html.Header(className="topbar", children=[
            html.A([html.Span("← ", **{"aria-hidden": "true"}), t("app.short", lang)], href=f"/?lang={lang}",
                   className="lang-switch", id="snow-home-link"),
            html.H1(t("snow.title", lang), className="app-title"),
            html.Span(badge, id="snow-badge", className="snow-badge" + (" stale" if stale else ""),
                      role="status", **{"aria-live": "polite"}),
            html.A(t("lang.switch", lang), id="snow-lang-link", className="lang-switch", href=f"/snow?lang={other}",
                   hrefLang=other),
        ]),
        html.Div(className="map-wrap", children=[
            html.Div(style={"position": "relative", "flex": "1", "minWidth": 0}, children=[
                dl.Map(id="snow-map", center=view["center"], zoom=view["zoom"], minZoom=8, maxZoom=18, className="map",
                       style={"height": "100%"}, children=[
                           dl.TileLayer(url=BASEMAPS["pale"]["url"], attribution=basemap_attribution("pale", lang),
                                        maxNativeZoom=18, maxZoom=18),
                           dl.GeoJSON(id="snow-roads", url=f"/api/snow/network?v={view['version']}",
                                      style={"variable": "ishikawaMap.snowRoadStyle"}, interactive=False,
                                      hideout=style_hideout(lang, snap["roads"], snap["t"], DEFAULT_HOURS),
                                      attribution=t("attribution.snow_removal", lang)),
                           # the same roads as wide invisible lines on top: easy to tap on a phone
                           dl.GeoJSON(id="snow-road-hits", url=f"/api/snow/network?v={view['version']}",
                                      style={"variable": "ishikawaMap.snowHitStyle"},
                                      onEachFeature={"variable": "ishikawaMap.snowHitPopup"}),
                           dl.GeoJSON(id="snow-trails", data={"type": "FeatureCollection", "features": []},
                                      style={"variable": "ishikawaMap.trailStyle"}, interactive=False),
                           dl.GeoJSON(id="snow-plows", data={"type": "FeatureCollection", "features": []},
                                      pointToLayer={"variable": "ishikawaMap.plowPoint"},
                                      onEachFeature={"variable": "ishikawaMap.plowTooltip"}),
                           dl.ScaleControl(position="bottomleft", imperial=False),
                       ]),
                html.Div(className="snow-map-legend", id="snow-map-legend",
                         children=[legend(legend_items(lang, DEFAULT_HOURS), lang)]),
            ]),
            html.Aside(className="snow-side", children=[
                html.P(t("snow.demo", lang), className="snow-demo"),
                html.A(t("snow.report.link", lang), href=f"/snow/report?lang={lang}", id="snow-report-link",
                       className="snow-report-link"),
                html.Div(legend(legend_items(lang, DEFAULT_HOURS), lang), className="snow-side-legend",
                         id="snow-side-legend"),
                html.Div(className="snow-time", children=[
                    html.Div(className="snow-time-head", children=[
                        html.Span(_mode_text(True, now, lang), id="snow-mode", className="snow-mode"),
                        html.Button(t("snow.play", lang), id="snow-play-button", n_clicks=0),
                        html.Button(t("snow.to_live", lang), id="snow-live-button", n_clicks=0),
                    ]),
                    html.Label(t("snow.time", lang), htmlFor="snow-time", className="snow-time-label"),
                    dcc.Slider(id="snow-time", min=-1440, max=0, step=5, value=0, marks=hours_marks,
                               updatemode="mouseup", allow_direct_input=False),
                    html.Div(className="snow-speed", children=[
                        html.Span(t("snow.speed", lang), id="snow-speed-label", className="snow-speed-label"),
                        html.Div(role="radiogroup", **{"aria-labelledby": "snow-speed-label"}, children=[
                            dcc.RadioItems(id="snow-speed", value=DEFAULT_SPEED, inline=True,
                                           options=[{"label": f"×{n}", "value": n} for n in SPEEDS])]),
                        html.Span(t("snow.speed_option", lang, n=DEFAULT_SPEED), id="snow-speed-text",
                                  className="snow-speed-text"),
                    ]),
                ]),
                html.H2(t("snow.progress", lang, hours=DEFAULT_HOURS), id="snow-progress-title"),
                dcc.RadioItems(id="snow-hours", value=DEFAULT_HOURS, inline=True, className="snow-hours",
                               options=[{"label": f"{h}h", "value": h} for h in PROGRESS_HOURS]),
                html.Div(progress_numbers(page["progress"], lang), id="snow-progress"),
                html.Div(progress_bars(page["progress"], lang), id="snow-progress-bars"),
                html.H2(t("snow.vehicles", lang)),
                html.P(t("snow.focus_hint", lang), className="snow-focus-hint"),
                dash_table.DataTable(
                    id="snow-vehicles", data=[], sort_action="native", page_size=50,
                    columns=[{"name": t("snow.col.id", lang), "id": "id"},
                             {"name": t("snow.col.work", lang), "id": "work"},
                             {"name": t("snow.col.speed", lang), "id": "speed"},
                             {"name": t("snow.col.last", lang), "id": "last"},
                             {"name": t("snow.col.state", lang), "id": "state"},
                             {"name": t("snow.col.rejected", lang), "id": "rej"}],
                    # a box of its own that scrolls both ways (a phone shows every column by scrolling)
                    style_table={"overflowX": "auto", "overflowY": "auto", "maxHeight": "60vh"},
                    style_cell={"fontFamily": "\"Noto Sans CJK JP\", \"Noto Sans JP\", sans-serif", "fontSize": "12px",
                                "padding": "2px 4px", "textAlign": "left", "whiteSpace": "normal", "height": "auto",
                                "minWidth": "40px"},
                    style_cell_conditional=[{"if": {"column_id": c}, "textAlign": "right"} for c in ("speed", "rej")],
                    tooltip_header={"rej": t("snow.col.rejected_help", lang)},
                    style_header={"fontWeight": "bold", "background": "#f0f4f8"},
                    style_data_conditional=[
                        {"if": {"filter_query": '{state_key} = "offline"'}, "color": "#999"},
                        {"if": {"filter_query": '{state_key} = "idle"'}, "color": "#8a5a00"},
                    ]),
            ]),
        ]),
        dcc.Interval(id="snow-refresh", interval=REFRESH_S * 1000),
        dcc.Interval(id="snow-play", interval=SPEEDS[DEFAULT_SPEED][0], disabled=True),
    ])


@callback(
    Output("snow-roads", "hideout"),
    Output("snow-delta", "data"),
    Output("snow-key", "data"),
    Output("snow-progress", "children"),
    Output("snow-progress-bars", "children"),
    Output("snow-progress-title", "children"),
    Output("snow-badge", "children"),
    Output("snow-badge", "className"),
    Output("snow-mode", "children"),
    Output("snow-mode", "className"),
    Input("snow-refresh", "n_intervals"),
    Input("snow-time", "value"),
    Input("snow-hours", "value"),
    State("snow-key", "data"),
    State("snow-lang", "data"),
    prevent_initial_call=True,
)
def refresh(_n, minutes, hours, key, lang):
    """Only the changes since what this browser holds (its key) travel."""
    lang = normalize_lang(lang)
    now = time.time()
    hours = hours if hours in PROGRESS_HOURS else DEFAULT_HOURS
    page = page_refresh(get_db(), cache, key, now, minutes, hours)
    delta = page["delta"]
    badge, stale = feed_message(page["feed"], now, lang)
    badge_class = "snow-badge" + (" stale" if stale else "")
    mode = _mode_text(page["live"], page["t"], lang)
    mode_class = "snow-mode" + ("" if page["live"] else " replay")
    trigger = dash.ctx.triggered_id
    prog_out = progress_numbers(page["progress"], lang)
    fig_out = progress_bars(page["progress"], lang)
    if delta is None:  # nothing new for this browser
        if trigger == "snow-hours":
            return (no_update, no_update, no_update, prog_out, fig_out, t("snow.progress", lang, hours=hours),
                    badge, badge_class, mode, mode_class)
        return (no_update, no_update, no_update, no_update, no_update, no_update, badge, badge_class, mode, mode_class)
    hideout = Patch()
    hideout["t"] = delta["t"]
    if delta["reset"]:
        hideout["s"] = delta["roads"]
    else:
        for sid, value in delta["roads"].items():
            hideout["s"][sid] = value
        for sid in delta["gone"]:
            del hideout["s"][sid]
    client_delta = {k: delta.get(k) for k in ("t", "vehicles", "reset", "reset_vehicles", "gone_vehicles")}
    return (hideout, client_delta, page["key"], prog_out, fig_out, t("snow.progress", lang, hours=hours),
            badge, badge_class, mode, mode_class)


@callback(
    Output("snow-roads", "hideout", allow_duplicate=True),
    Output("snow-map-legend", "children"),
    Output("snow-side-legend", "children"),
    Input("snow-hours", "value"),
    State("snow-lang", "data"),
    prevent_initial_call=True,
)
def window(hours, lang):
    """The chosen window recolours the map too: clearings older than it are drawn as not cleared."""
    lang = normalize_lang(lang)
    hours = hours if hours in PROGRESS_HOURS else DEFAULT_HOURS
    hideout = Patch()
    hideout["win"] = hours
    items = legend_items(lang, hours)
    return hideout, legend(items, lang), legend(items, lang)


clientside_callback(
    ClientsideFunction("snow", "applyDelta"),
    Output("snow-fleet", "data"),
    Output("snow-plows", "data"),
    Output("snow-trails", "data"),
    Output("snow-vehicles", "data"),
    Input("snow-delta", "data"),
    Input("snow-focus", "data"),
    State("snow-fleet", "data"),
    State("snow-labels", "data"),
)

# a vehicle row picked: the map flies to it and its trail stands out
clientside_callback(
    ClientsideFunction("snow", "focusVehicle"),
    Output("snow-focus", "data"),
    Output("snow-map", "viewport"),
    Input("snow-vehicles", "active_cell"),
    State("snow-fleet", "data"),
    prevent_initial_call=True,
)


@callback(
    Output("snow-play", "interval"),
    Output("snow-speed-text", "children"),
    Input("snow-speed", "value"),
    State("snow-lang", "data"),
    prevent_initial_call=True,
)
def speed(value, lang):
    value = value if value in SPEEDS else DEFAULT_SPEED
    return SPEEDS[value][0], t("snow.speed_option", normalize_lang(lang), n=value)


@callback(
    Output("snow-play", "disabled"),
    Output("snow-play-button", "children"),
    Output("snow-time", "value"),
    Input("snow-play-button", "n_clicks"),
    Input("snow-live-button", "n_clicks"),
    Input("snow-play", "n_intervals"),
    State("snow-play", "disabled"),
    State("snow-time", "value"),
    State("snow-speed", "value"),
    State("snow-lang", "data"),
    prevent_initial_call=True,
)
def play(_clicks, _live, _ticks, disabled, value, speed_value, lang):
    """Play moves the replay forward at the chosen speed (minutes per second); at 'now' it stops (live)."""
    lang = normalize_lang(lang)
    value = value or 0
    trigger = dash.ctx.triggered_id
    if trigger == "snow-live-button":
        return True, t("snow.play", lang), 0
    if trigger == "snow-play-button":
        if disabled:  # start: from the slider's moment, or 24 h back when at 'now'
            start = value if value < 0 else -1440
            return False, t("snow.pause", lang), start
        return True, t("snow.play", lang), no_update
    step = SPEEDS.get(speed_value, SPEEDS[DEFAULT_SPEED])[1]
    new = min(value + step, 0)
    if new >= 0:
        return True, t("snow.play", lang), 0
    return False, t("snow.pause", lang), new
