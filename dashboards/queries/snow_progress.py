"""Snow-removal progress: the share of road length a plow cleared within the last N hours, per
area or per route (the same figures as /snow; the road network and its clearing are public)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from dashboards.queries.base import Context, QueryKind, QuerySchema
from layers.snow.progress import progress
from layers.snow.roads import road_states
from store.snow import segments


class ProgressQuery(QuerySchema):
    by: Literal["area", "route"] = "area"
    hours: int = Field(3, ge=1, le=24)


class SnowProgressKind(QueryKind):
    name = "snow_progress"
    panel_types = ("bar", "table", "stat", "gauge")
    schema = ProgressQuery

    def run(self, ctx: Context, query: dict) -> dict:
        at = min(ctx.until, ctx.now)
        result = progress(segments(ctx.session), road_states(ctx.session, at), at.timestamp(), float(query["hours"]))
        rows = [{"name": r["name"], "share": round(r["share"] * 100, 1), "cleared_km": round(r["cleared_m"] / 1000, 2),
                 "total_km": round(r["total_m"] / 1000, 2)} for r in result[query["by"]]]
        return {"unit": "%", "rows": rows, "bars": [{"label": r["name"], "value": r["share"]} for r in rows],
                "value": round(result["total"]["share"] * 100, 1), "hours": query["hours"]}
