"""Text panels ask for no data."""
from __future__ import annotations

from dashboards.queries.base import Context, QueryKind


class NoQueryKind(QueryKind):
    name = "none"
    panel_types = ("text",)

    def run(self, ctx: Context, query: dict) -> dict:
        return {}
