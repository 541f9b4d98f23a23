"""Items of a vector layer (uploaded or shipped): counted or summed by a property
(`layer_stats`), or listed with filters (`layer_items`) — both in SQL over the stored properties
(JSON paths work the same on SQLite and PostgreSQL through SQLAlchemy's JSON type).

Grouping by "@area" counts by the municipality each point lies in: that needs the positions, so it
is offered for layers of up to AREA_GROUP_MAX items."""
from __future__ import annotations

from typing import Literal

import numpy as np
import shapely
from pydantic import Field
from sqlalchemy import Float, Numeric, and_, case, cast, func, select

from dashboards import areas
from dashboards.queries.base import Context, QueryKind, QuerySchema, Refs, layer_name, visible_layer
from store.models import Feature

AREA = "@area"
AREA_GROUP_MAX = 200_000
PROP = r'^[^\x00-\x1f"\\]{1,120}$'


class StatsQuery(QuerySchema):
    layer: str = Field(min_length=1, max_length=80)
    group_by: str = Field(pattern=PROP)
    value: str = Field("", max_length=120)
    fn: Literal["count", "sum", "avg", "min", "max"] = "count"
    limit: int = Field(50, ge=1, le=200)


class Filter(QuerySchema):
    property: str = Field(pattern=PROP)
    op: Literal["eq", "ne", "contains", "gt", "lt"] = "eq"
    value: str | float = Field("", union_mode="left_to_right")


class ItemsQuery(QuerySchema):
    layer: str = Field(min_length=1, max_length=80)
    columns: list[str] = Field(default_factory=list, max_length=20)
    filters: list[Filter] = Field(default_factory=list, max_length=5)
    limit: int = Field(100, ge=1, le=1000)


def text_of(prop: str):
    return Feature.properties[prop].as_string()


def number_of(ctx: Context, prop: str):
    """The property as a number, NULL where it is not one (a text cell must not become 0)."""
    raw = Feature.properties[prop].as_string()
    if ctx.session.get_bind().dialect.name == "postgresql":
        ok = raw.op("~")(r"^\s*-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?\s*$")
    else:
        # a JSON number, or text that reads back as the same number ("12", "1.5"; not "12 台")
        kind = func.json_type(Feature.properties, f'$."{prop}"')
        ok = kind.in_(["integer", "real"]) | ((kind == "text") & (cast(func.trim(raw), Numeric) == func.trim(raw)))
    return case((ok, cast(raw, Float)), else_=None)


def _agg(fn: str, col):
    return {"count": func.count(), "sum": func.sum(col), "avg": func.avg(col),
            "min": func.min(col), "max": func.max(col)}[fn]


def _round(v):
    return round(float(v), 3) if v is not None else None


class LayerStatsKind(QueryKind):
    name = "layer_stats"
    panel_types = ("bar", "table", "stat")
    schema = StatsQuery

    def refs(self, query: dict) -> Refs:
        return Refs(layers={query["layer"]} if not query["layer"].startswith("$") else set())

    def run(self, ctx: Context, query: dict) -> dict:
        layer = visible_layer(ctx, query["layer"])
        fn, value = query["fn"], query.get("value") or ""
        if query["group_by"] == AREA:
            return self._by_area(ctx, layer, fn, value, query["limit"])
        col = number_of(ctx, value) if value else None
        if fn != "count" and col is None:
            fn = "count"
        key = func.coalesce(text_of(query["group_by"]), "")
        q = (select(key.label("k"), _agg(fn, col).label("v")).where(Feature.layer_id == layer.id)
             .group_by(key).order_by(key).limit(query["limit"]))
        bars = [{"label": k or "-", "value": _round(v)} for k, v in ctx.session.execute(q)]
        return {"layer": layer_name(layer, ctx.lang), "bars": bars,
                "rows": [{"group": b["label"], "value": b["value"]} for b in bars],
                "value": sum(b["value"] or 0 for b in bars) if fn in ("count", "sum") else None}

    def _by_area(self, ctx: Context, layer, fn: str, value: str, limit: int) -> dict:
        if (layer.feature_count or 0) > AREA_GROUP_MAX:
            return {"layer": layer_name(layer, ctx.lang), "bars": [], "rows": [], "too_many": True}
        cols = [Feature.minx, Feature.miny, Feature.maxx, Feature.maxy]
        if value:
            cols.append(number_of(ctx, value))
        rows = ctx.session.execute(select(*cols).where(Feature.layer_id == layer.id)).all()
        if not rows:
            return {"layer": layer_name(layer, ctx.lang), "bars": [], "rows": []}
        arr = np.array([[(r[0] + r[2]) / 2, (r[1] + r[3]) / 2] for r in rows])
        vals = np.array([r[4] if value and r[4] is not None else np.nan for r in rows], dtype=float)
        bars = []
        for name in areas.area_names():
            minx, miny, maxx, maxy = areas.area_bbox(name)
            near = (arr[:, 0] >= minx) & (arr[:, 0] <= maxx) & (arr[:, 1] >= miny) & (arr[:, 1] <= maxy)
            if not near.any():
                continue
            inside = np.zeros(len(arr), dtype=bool)
            inside[near] = shapely.contains_xy(areas._areas()[name], arr[near, 0], arr[near, 1])
            if not inside.any():
                continue
            v = vals[inside & ~np.isnan(vals)]
            if fn == "count" or not value:
                result = int(inside.sum())
            elif not len(v):
                result = None
            else:
                result = {"sum": v.sum, "avg": v.mean, "min": v.min, "max": v.max}[fn]()
            bars.append({"label": name, "value": _round(result)})
        bars = bars[:limit]
        return {"layer": layer_name(layer, ctx.lang), "bars": bars,
                "rows": [{"group": b["label"], "value": b["value"]} for b in bars],
                "value": sum(b["value"] or 0 for b in bars) if fn in ("count", "sum") or not value else None}


class LayerItemsKind(QueryKind):
    name = "layer_items"
    panel_types = ("table",)
    schema = ItemsQuery

    def refs(self, query: dict) -> Refs:
        return Refs(layers={query["layer"]} if not query["layer"].startswith("$") else set())

    def run(self, ctx: Context, query: dict) -> dict:
        layer = visible_layer(ctx, query["layer"])
        conds = [Feature.layer_id == layer.id]
        for f in query.get("filters", []):
            prop, op, val = f["property"], f["op"], str(f["value"])[:200]
            if op == "eq":
                conds.append(text_of(prop) == val)
            elif op == "ne":
                conds.append(func.coalesce(text_of(prop), "") != val)
            elif op == "contains":
                conds.append(text_of(prop).contains(val, autoescape=True))
            else:
                try:
                    num = float(val)
                except ValueError:
                    continue
                col = number_of(ctx, prop)
                conds.append(col > num if op == "gt" else col < num)
        q = (select(Feature.fid, Feature.properties).where(and_(*conds))
             .order_by(Feature.layer_id, Feature.id).limit(query["limit"]))
        items = ctx.session.execute(q).all()
        columns = list(query.get("columns") or [])
        if not columns:
            for _fid, props in items[:50]:
                for k in props or {}:
                    if k not in columns and len(columns) < 8:
                        columns.append(k)
        rows = [{**{c: (props or {}).get(c) for c in columns}, "id": fid} for fid, props in items]
        return {"layer": layer_name(layer, ctx.lang), "columns": [*columns, "id"], "rows": rows}
