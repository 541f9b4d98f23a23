"""The one small interface of a panel query kind, and what every kind shares.

A kind has a `name`, the panel types it can feed, a pydantic `schema` for its query (the fields
besides "kind"), `refs(query)` — the sensors, layers and alert rules the query names explicitly, so
that saving can refuse what the owner may not see or what a public dashboard may not show — and
`run(ctx, query)` that answers plain JSON for the panel, computed in SQL.

Visibility: `ctx.scope` is whose eyes the data is seen with (None = the public). Selections by
layer, area, entity type or "all" filter with `store.layers.visible_clause(ctx.scope)`; a query that
names a sensor, layer or rule the scope may not see raises `Denied` and the panel shows "no access"
without a name, value or count.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from store.layers import visible_clause
from store.models import Layer, Sensor


class Denied(Exception):
    """The panel refers to data this viewer may not see."""


class QuerySchema(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


@dataclass
class Refs:
    sensors: set[str] = field(default_factory=set)
    layers: set[str] = field(default_factory=set)
    rules: set[int] = field(default_factory=set)


@dataclass
class Context:
    session: Session
    scope: object | None  # store.users.Staff, or None: what anyone may see
    since: datetime
    until: datetime
    now: datetime
    lang: str = "ja"


class QueryKind:
    name: str = ""
    panel_types: tuple[str, ...] = ()
    schema: type[QuerySchema] = QuerySchema

    def refs(self, query: dict) -> Refs:
        return Refs()

    def run(self, ctx: Context, query: dict) -> dict:
        raise NotImplementedError


def visible_sensors(ctx: Context, ids: list[str]) -> list[Sensor]:
    """The named sensors in the given order; Denied when any is unknown or not visible."""
    if not ids:
        return []
    rows = {x.id: x for x in ctx.session.scalars(
        select(Sensor).join(Layer, Layer.id == Sensor.layer_id)
        .where(Sensor.id.in_(ids), visible_clause(ctx.scope)))}
    if any(i not in rows for i in ids):
        raise Denied()
    return [rows[i] for i in ids]


def visible_layer(ctx: Context, layer_id: str) -> Layer:
    layer = ctx.session.scalar(select(Layer).where(Layer.id == layer_id, visible_clause(ctx.scope)))
    if layer is None:
        raise Denied()
    return layer


def sensor_name(sensor: Sensor, lang: str) -> str:
    return (sensor.name_en if lang == "en" and sensor.name_en else sensor.name_ja) or sensor.id


def layer_name(layer: Layer, lang: str) -> str:
    return (layer.name_en if lang == "en" and layer.name_en else layer.name_ja) or layer.id


def iso(dt: datetime | None) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt is not None else None
