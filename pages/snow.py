"""`/snow` — snow removal live map for road managers: road colours by time since cleared, plows
with heading and 30-minute trails, vehicle table, progress per route and area, 24-hour replay.

The road network comes once by URL. Every refresh the browser GETs /api/snow/live with the key of
the state it holds: the same compressed bytes for every viewer of that refresh interval (a shared
HTTP cache may answer them). assets/snow.js applies the delta to the map, keeps the fleet, and draws
the progress figures (sent as numbers), the vehicle table and the freshness badge itself.
"""
from __future__ import annotations

import time

import dash
import dash_leaflet as dl
from dash import (
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    dcc,
    html,
    no_update,
)

from auth import current_staff
from components.basemaps import BASEMAPS, basemap_attribution
from components.shell import page_title
from components.snow import legend, overlay_legend
from i18n import normalize_lang, t
from layers.base import kind_of, layer_name
from layers.restrictions import SNOW_ENDED_H, SNOW_UPCOMING_H
from layers.snow.network import network_view
from layers.snow.snapshot import REFRESH_S, live_key, snapshot
from layers.snow.status import FEED_STALE_S, feed_message, fmt_jst
from layers.snow.style import legend_items, style_hideout
from store.cache import cache
from store.db import get_db
from store.layers import get_visible_layer
from store.restrictions import KINDS as RESTRICTION_KINDS

dash.register_page(__name__, path="/snow", title=page_title("snow.title"))

PROGRESS_HOURS = [1, 3, 6, 12, 24]
DEFAULT_HOURS = 24  # the window the page opens with: the map shows every age class
PLAY_STEP_MIN = 5
# replay speeds (minutes of the past per second of watching) -> (tick in ms, slider step in minutes);
# the slider moves in 5-minute steps, so ×1 is 5 minutes every 5 seconds
SPEEDS = {1: (5000, 5), 5: (1000, 5), 15: (1000, 15), 30: (1000, 30), 60: (1000, 60)}
DEFAULT_SPEED = 5


VEHICLE_COLUMNS = ("id", "work", "speed", "last", "state", "rejected")

# what the road manager sees beside the roads, each a layer of its own the map control switches on
# and off: (the built-in layer, the overlay's id, shown when the page opens). They refresh on their
# own slower interval, never with the 5-s
# live state; each is read per viewer (private ones only for their organisation's staff).
OVERLAYS = (("cameras", "snow-cameras", True), ("snow-melters", "snow-melters", True),
            ("road-restrictions", "snow-restrictions", True))
OVERLAY_REFRESH_S = 60


def _overlays(db, lang: str) -> list:
    """The overlays the viewer may see, drawn with the public map's own functions (camera popup with
    the 24-h strip, melter colours, restriction styles). Cameras and devices load by URL (a new
    URL each refresh, assets/snow.js); restrictions come from /api/restrictions?all=1, and
    assets/snow.js sorts them by the moment shown (now or the replay moment): in force, upcoming within
    SNOW_UPCOMING_H, ended within SNOW_ENDED_H (the others left off)."""
    staff = current_staff()
    out, ids = [], []
    with db.session() as s:
        for layer_id, overlay_id, checked in OVERLAYS:
            layer = get_visible_layer(s, layer_id, staff)
            if layer is None:
                continue
            spec = kind_of(layer).map_spec(layer, lang)
            props = dict(spec.props)
            if overlay_id == "snow-restrictions":
                props["data"] = {"type": "FeatureCollection", "features": []}
            else:
                props["url"] = spec.url
            name = layer_name(layer, lang)
            ids.append(overlay_id)
            out.append(dl.Overlay(dl.GeoJSON(id=overlay_id, attribution=spec.attribution, **props),
                                  name=name, checked=checked))
    return out, ids


def _labels(lang: str) -> dict:
    """Every text assets/snow.js draws, with {placeholders} it fills in."""
    return {"work": {w: t(f"snow.work.{w}", lang) for w in ("plowing", "spreading", "travel")},
            "state": {s: t(f"snow.state.{s}", lang) for s in ("active", "idle", "offline")},
            "cols": {c: t(f"snow.col.{c}", lang) for c in VEHICLE_COLUMNS},
            "rejected_help": t("snow.col.rejected_help", lang), "sort": t("snowlive.sort", lang),
            "updated": t("snow.updated", lang, time="{time}"), "stopped": t("snow.feed_stopped", lang, time="{time}"),
            "no_fixes": t("snow.no_fixes", lang), "stale_s": FEED_STALE_S,
            "live": t("snow.live", lang), "replay": t("snow.replay_at", lang, time="{time}"),
            "progress": t("snow.progress", lang, hours="{hours}"), "total": t("snow.total", lang),
            "km": t("snow.km", lang, done="{done}", total="{total}"), "share": t("snow.share", lang),
            "by_area": t("snow.by_area", lang), "by_route": t("snow.by_route", lang),
            # a restriction's own words show under its type only when they say more than the type's name
            "kinds_ja": {k: t(f"restriction.kind.{k}", "ja") for k in RESTRICTION_KINDS},
            # besides those in force at the moment shown: those starting or ended within these (seconds)
            "restriction_window": {"upcoming_s": SNOW_UPCOMING_H * 3600, "ended_s": SNOW_ENDED_H * 3600}}


def _mode_text(live: bool, at: float, lang: str) -> str:
    return t("snow.live", lang) if live else t("snow.replay_at", lang, time=fmt_jst(at, True)[:-3])


def layout(lang: str | None = None, **query):
    lang = normalize_lang(lang)
    db = get_db()
    now = time.time()
    view = network_view(db)
    snap = snapshot(db, live_key(now), cache)  # the first state, inline (the shared snapshot of this interval)
    fleet = {vid: {**v} for vid, v in snap["vehicles"].items()}
    badge, stale = feed_message(snap, now, lang)
    other = "en" if lang == "ja" else "ja"
    overlays, overlay_ids = _overlays(db, lang)
    hours_marks = {-1440: t("snow.hours_ago", lang, h=24), -720: t("snow.hours_ago", lang, h=12),
                   -360: t("snow.hours_ago", lang, h=6), 0: t("snow.now", lang)}
    return html.Div(className="page-map snow-page", lang=lang, children=[
        dcc.Store(id="snow-lang", data=lang),
        dcc.Store(id="snow-key", data=snap["key"]),
        dcc.Store(id="snow-sink"),
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
        html.Main(className="map-wrap", children=[
            html.Div(style={"position": "relative", "flex": "1", "minWidth": 0}, children=[
                dl.Map(id="snow-map", center=view["center"], zoom=view["zoom"], minZoom=8, maxZoom=18, className="map",
                       style={"height": "100%"}, children=[
                           dl.TileLayer(url=BASEMAPS["pale"]["url"], attribution=basemap_attribution("pale", lang),
                                        maxNativeZoom=18, maxZoom=18),
                           # drawn on a canvas with a generous tap tolerance (assets/snow.js)
                           dl.GeoJSON(id="snow-roads", url=f"/api/snow/network?v={view['version']}",
                                      style={"variable": "ishikawaMap.snowRoadStyle"},
                                      onEachFeature={"variable": "ishikawaMap.snowRoadTap"},
                                      hideout=style_hideout(lang, snap["roads"], snap["t"], DEFAULT_HOURS),
                                      attribution=t("attribution.snow_removal", lang)),
                           dl.GeoJSON(id="snow-trails", data={"type": "FeatureCollection", "features": []},
                                      style={"variable": "ishikawaMap.trailStyle"}, interactive=False),
                           dl.GeoJSON(id="snow-plows", data={"type": "FeatureCollection", "features": []},
                                      pointToLayer={"variable": "ishikawaMap.plowPoint"},
                                      onEachFeature={"variable": "ishikawaMap.plowTooltip"}),
                           # `overlays`: the names switched on (the control keeps it up to date)
                           dl.LayersControl(overlays, id="snow-overlays", position="topright", collapsed=False,
                                            overlays=[o.name for o in overlays if o.checked]),
                           dl.ScaleControl(position="bottomleft", imperial=False),
                       ]),
            ]),
            html.Aside(className="snow-side", children=[
                html.P(t("snow.demo", lang), className="snow-demo"),
                html.A(t("snow.report.link", lang), href=f"/snow/report?lang={lang}", id="snow-report-link",
                       className="snow-report-link"),
                # one legend: over the map's corner on wide screens, in this panel on narrow ones
                # (assets/style.css); drawn once, not once for each place
                html.Div(legend(legend_items(lang, DEFAULT_HOURS), lang), className="snow-road-legend",
                         id="snow-road-legend"),
                overlay_legend(lang),
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
                # drawn by assets/snow.js from the numbers of each refresh
                html.Div(id="snow-progress", className="snow-progress"),
                html.Div(id="snow-progress-bars"),
                html.H2(t("snow.vehicles", lang), id="snow-vehicles-title"),
                html.P(t("snow.focus_hint", lang), className="snow-focus-hint"),
                # the vehicle table, drawn by assets/snow.js (a box of its own that scrolls both ways)
                html.Div(id="snow-vehicles", className="snow-vehicles", tabIndex="0", role="region",
                         **{"aria-labelledby": "snow-vehicles-title"}),
            ]),
        ]),
        dcc.Interval(id="snow-refresh", interval=REFRESH_S * 1000),
        dcc.Interval(id="snow-play", interval=SPEEDS[DEFAULT_SPEED][0], disabled=True),
        dcc.Interval(id="snow-overlay-refresh", interval=OVERLAY_REFRESH_S * 1000),
        dcc.Store(id="snow-overlay-sink"),
        dcc.Store(id="snow-overlay-ids", data=overlay_ids),
    ])


# the overlays: cameras, devices and restrictions (GET /api/restrictions?all=1) reload every
# OVERLAY_REFRESH_S; another replay moment sorts the restrictions again (assets/snow.js)
clientside_callback(
    ClientsideFunction("snow", "overlays"),
    Output("snow-overlay-sink", "data"),
    Input("snow-overlay-refresh", "n_intervals"),
    Input("snow-time", "value"),
    State("snow-overlay-ids", "data"),
    State("snow-labels", "data"),
)


# every refresh, a moment picked on the slider, or another window: the browser fetches the shared
# live state (GET /api/snow/live) and applies it (assets/snow.js); no server callback per viewer
clientside_callback(
    ClientsideFunction("snow", "refresh"),
    Output("snow-sink", "data"),
    Input("snow-refresh", "n_intervals"),
    Input("snow-time", "value"),
    Input("snow-hours", "value"),
    State("snow-key", "data"),
    State("snow-roads", "hideout"),
    State("snow-labels", "data"),
)


@callback(
    Output("snow-road-legend", "children"),
    Input("snow-hours", "value"),
    State("snow-lang", "data"),
    prevent_initial_call=True,
)
def window(hours, lang):
    """The chosen window recolours the map (assets/snow.js) and the legend says so: clearings older
    than it are drawn as not cleared."""
    lang = normalize_lang(lang)
    hours = hours if hours in PROGRESS_HOURS else DEFAULT_HOURS
    return legend(legend_items(lang, hours), lang)


clientside_callback(
    ClientsideFunction("snow", "applyDelta"),
    Output("snow-fleet", "data"),
    Output("snow-plows", "data"),
    Output("snow-trails", "data"),
    Input("snow-delta", "data"),
    Input("snow-focus", "data"),
    State("snow-fleet", "data"),
    State("snow-labels", "data"),
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
