"""Time series of up to ten sensors: raw readings, or buckets (10 min / hour / JST day) with
avg, min, max, sum, count or last — aggregated in SQL by `store.series`. Threshold lines come
from the alert rules that watch these sensors (public rules, and the viewer's own organisation's)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from dashboards.queries.base import Context, QueryKind, QuerySchema, Refs, iso, sensor_name, visible_sensors
from store import series
from store.alerts import threshold_lines
from store.sensors import shown_id

MAX_SENSORS = 10
MAX_POINTS = 5000  # per sensor: more than a chart can show; longer ranges step up to coarser buckets
STEP_S = {"10min": 600, "hour": 3600, "day": 86400}


class SeriesQuery(QuerySchema):
    sensors: list[str] = Field(min_length=1, max_length=MAX_SENSORS)
    attribute: str = Field("", max_length=60)
    agg: Literal["raw", "10min", "hour", "day"] = "hour"
    fn: Literal["avg", "min", "max", "sum", "count", "last"] = "avg"


def effective_agg(agg: str, span_s: float) -> str:
    """The asked bucket size, or a coarser one when the range would give more than MAX_POINTS
    buckets (raw readings are capped to the newest MAX_POINTS instead)."""
    if agg == "raw":
        return agg
    order = list(STEP_S)
    i = order.index(agg)
    while i + 1 < len(order) and span_s / STEP_S[order[i]] > MAX_POINTS:
        i += 1
    return order[i]


class SensorSeriesKind(QueryKind):
    name = "sensor_series"
    panel_types = ("timeseries", "table")
    schema = SeriesQuery

    def refs(self, query: dict) -> Refs:
        return Refs(sensors={x for x in query.get("sensors", []) if not x.startswith("$")})

    def run(self, ctx: Context, query: dict) -> dict:
        sensors = visible_sensors(ctx, list(dict.fromkeys(query["sensors"])))
        attribute = query.get("attribute") or (sensors[0].attribute if sensors else "")
        ids = [x.id for x in sensors]
        agg = effective_agg(query["agg"], (ctx.until - ctx.since).total_seconds())
        if agg == "raw":
            data = series.raw(ctx.session, ids, attribute, ctx.since, ctx.until, limit_per_sensor=MAX_POINTS)
        else:
            data = series.bucketed(ctx.session, ids, attribute, ctx.since, ctx.until, agg, query["fn"])
        return {
            "attribute": attribute, "agg": agg, "fn": query["fn"],
            "series": [{"key": shown_id(x), "name": sensor_name(x, ctx.lang), "unit": x.unit or "",
                        "points": [[iso(t), v] for t, v in data.get(x.id, [])]} for x in sensors],
            "thresholds": threshold_lines(ctx.session, [x.id for x in sensors], attribute, ctx.scope),
        }
