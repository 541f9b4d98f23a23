"""`/sensors` — the history of a sensor (the popup's "観測履歴を見る" link lands here)."""
from __future__ import annotations

from datetime import timedelta

import dash
import plotly.graph_objects as go
from dash import Input, Output, State, callback, dcc, html

from components.header import header
from i18n import normalize_lang, t
from layers.snow_depth import JST
from store.db import get_db, utcnow
from store.models import PUBLIC, Layer, Sensor
from store.sensors import readings

dash.register_page(__name__, path="/sensors", title=t("sensors.title"))

RANGES = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}


def public_sensors() -> list[Sensor]:
    with get_db().session() as s:
        return list(s.query(Sensor).join(Layer, Layer.id == Sensor.layer_id)
                    .filter(Layer.visibility == PUBLIC).order_by(Sensor.id))


def history_figure(sensor_id: str | None, range_key: str, lang: str) -> tuple[go.Figure, str]:
    """The chart and a one-line summary for a public sensor; unknown ids show a message."""
    fig = go.Figure()
    fig.update_layout(margin=dict(l=50, r=20, t=20, b=40), height=380, template="plotly_white",
                      xaxis_title=t("sensors.time_jst", lang), yaxis_title=t("sensors.value_cm", lang))
    sensor = next((x for x in public_sensors() if x.id == sensor_id), None)
    if sensor is None:
        return fig, t("sensors.unknown", lang)
    with get_db().session() as s:
        rows = readings(s, sensor.id, utcnow() - RANGES.get(range_key, RANGES["24h"]))
    if not rows:
        return fig, t("sensors.empty", lang)
    times = [r.observed_at.astimezone(JST).replace(tzinfo=None) for r in rows]
    fig.add_trace(go.Scatter(x=times, y=[r.value for r in rows], mode="lines", name=sensor.name_ja,
                             line=dict(color="#1d70b8", width=2)))
    latest = rows[-1]
    summary = (f"{t('sensors.latest', lang)}: {latest.value:g} {sensor.unit}"
               f"（{latest.observed_at.astimezone(JST):%Y-%m-%d %H:%M} JST）")
    return fig, summary


def layout(sensor: str | None = None, range: str = "24h", lang: str | None = None, **query):  # noqa: A002
    lang = normalize_lang(lang)
    sensors = public_sensors()
    options = [{"label": (x.name_en if lang == "en" and x.name_en else x.name_ja), "value": x.id} for x in sensors]
    range_key = range if range in RANGES else "24h"
    fig, summary = history_figure(sensor, range_key, lang)
    return html.Div(className="page", lang=lang, children=[
        header(lang, "/sensors", {"sensor": sensor or "", "range": range_key}, "sensors"),
        html.Div(className="page-body", children=[
            html.A(t("sensors.back", lang), href=f"/?lang={lang}"),
            html.H2(t("sensors.title", lang)),
            dcc.Store(id="sensors-lang", data=lang),
            html.Label(t("sensors.pick", lang), htmlFor="sensors-pick"),
            dcc.Dropdown(id="sensors-pick", options=options, value=sensor, clearable=False),
            dcc.RadioItems(id="sensors-range", value=range_key, inline=True, className="basemap-radio",
                           options=[{"label": t(f"sensors.range.{k}", lang), "value": k} for k in RANGES]),
            html.P(summary, id="sensors-summary"),
            dcc.Graph(id="sensors-graph", figure=fig, config={"displaylogo": False}),
        ]),
    ])


@callback(
    Output("sensors-graph", "figure"),
    Output("sensors-summary", "children"),
    Input("sensors-pick", "value"),
    Input("sensors-range", "value"),
    State("sensors-lang", "data"),
    prevent_initial_call=True,
)
def update_history(sensor_id, range_key, lang):
    return history_figure(sensor_id, range_key, lang)
