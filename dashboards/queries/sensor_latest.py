"""Latest values of sensors — picked one by one, or every visible sensor of a layer, a broker
entity type or a municipality (or all) — as rows, as bars per sensor or per area, or as the one
value of a stat/gauge with its sparkline over the dashboard's time range."""
from __future__ import annotations

from typing import Literal

from pydantic import Field
from sqlalchemy import select

from dashboards import areas
from dashboards.queries.base import (
    Context,
    Denied,
    QueryKind,
    QuerySchema,
    Refs,
    iso,
    sensor_name,
    visible_layer,
    visible_sensors,
)
from store import series
from store.brokers import SensorOrigin
from store.layers import visible_clause
from store.models import Layer, Sensor
from store.sensors import shown_id

FUNCS = {"avg": lambda v: round(sum(v) / len(v), 3), "min": min, "max": max, "sum": sum, "count": len}


class LatestQuery(QuerySchema):
    sensors: list[str] = Field(default_factory=list, max_length=50)
    layer: str = Field("", max_length=80)
    entity_type: str = Field("", max_length=200)
    area: str = Field("", max_length=60)
    attribute: str = Field("", max_length=60)
    group_by: Literal["sensor", "area"] = "sensor"
    fn: Literal["avg", "min", "max", "sum", "count"] = "avg"
    limit: int = Field(100, ge=1, le=500)


def select_sensors(ctx: Context, query: dict) -> list[Sensor]:
    if query.get("sensors"):
        chosen = visible_sensors(ctx, list(dict.fromkeys(query["sensors"])))
    else:
        q = select(Sensor).join(Layer, Layer.id == Sensor.layer_id).where(visible_clause(ctx.scope))
        if query.get("layer"):
            q = q.where(Sensor.layer_id == visible_layer(ctx, query["layer"]).id)
        if query.get("entity_type"):
            q = q.join(SensorOrigin, SensorOrigin.sensor_id == Sensor.id).where(
                SensorOrigin.entity_type == query["entity_type"])
        area = query.get("area") or ""
        if area:
            if not areas.is_area(area):
                return []
            minx, miny, maxx, maxy = areas.area_bbox(area)
            q = q.where(Sensor.lon >= minx, Sensor.lon <= maxx, Sensor.lat >= miny, Sensor.lat <= maxy)
        chosen = list(ctx.session.scalars(q.order_by(Sensor.name_ja, Sensor.id).limit(5000)))
        if area:
            chosen = [x for x in chosen if areas.contains(area, x.lon, x.lat)]
    return chosen[: query.get("limit", 100)]


class SensorLatestKind(QueryKind):
    name = "sensor_latest"
    panel_types = ("stat", "gauge", "bar", "table", "map")
    schema = LatestQuery

    def refs(self, query: dict) -> Refs:
        return Refs(sensors={x for x in query.get("sensors", []) if not x.startswith("$")},
                    layers={query["layer"]} if query.get("layer") and not query["layer"].startswith("$") else set())

    def run(self, ctx: Context, query: dict) -> dict:
        chosen = select_sensors(ctx, query)
        attribute = query.get("attribute") or ""
        own = [x for x in chosen if not attribute or x.attribute == attribute]
        other = [x.id for x in chosen if attribute and x.attribute != attribute]
        values = {x.id: (x.last_observed_at, x.last_value) for x in own}
        if other:
            values.update(series.latest(ctx.session, other, attribute))
        rows = []
        for x in chosen:
            at, value = values.get(x.id, (None, None))
            rows.append({"id": shown_id(x), "name": sensor_name(x, ctx.lang), "value": value, "unit": x.unit or "",
                         "time": iso(at), "lon": round(x.lon, 6), "lat": round(x.lat, 6),
                         "area": areas.area_of(x.lon, x.lat), "attribute": attribute or x.attribute})
        out: dict = {"rows": rows}
        if query.get("group_by") == "area":
            groups: dict[str, list[float]] = {}
            for r in rows:
                if r["value"] is not None:
                    groups.setdefault(r["area"] or "-", []).append(r["value"])
            fn = FUNCS[query.get("fn", "avg")]
            out["bars"] = [{"label": k, "value": fn(v)} for k, v in sorted(groups.items())]
        else:
            out["bars"] = [{"label": r["name"], "value": r["value"]} for r in rows if r["value"] is not None]
        if rows and rows[0]["value"] is not None:
            first = chosen[0]
            line = series.sparkline(ctx.session, first.id, attribute or first.attribute, ctx.since, ctx.until)
            out["sparkline"] = [[iso(t), v] for t, v in line]
        return out


__all__ = ["SensorLatestKind", "Denied"]
