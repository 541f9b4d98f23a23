"""Alert events (fired, cleared, repeat, no data …) over the time range: counted per JST day,
per rule or per kind, or listed newest first. Only events of rules the viewer may see: public
rules for everyone, the own organisation's for its staff, all for admins."""
from __future__ import annotations

from typing import Literal

from pydantic import Field
from sqlalchemy import func, literal_column, select

from dashboards.queries.base import Context, Denied, QueryKind, QuerySchema, Refs, iso
from store.alerts import AlertEvent, AlertRule

KINDS = ("fired", "cleared", "repeat", "delayed", "nodata", "data_back")


class EventsQuery(QuerySchema):
    rule: int | None = Field(None, ge=1, le=2**31 - 1)
    by: Literal["day", "rule", "kind", "list"] = "day"
    kinds: list[Literal[KINDS]] = Field(default_factory=lambda: ["fired"], max_length=len(KINDS))  # type: ignore[valid-type]
    limit: int = Field(100, ge=1, le=500)


def _visible(ctx: Context):
    from store.permissions import visible_sql

    return visible_sql(ctx.scope, AlertRule.organisation_id, AlertRule.public.is_(True))


def _jst_day(ctx: Context):
    if ctx.session.get_bind().dialect.name == "postgresql":
        return func.to_char(AlertEvent.at + literal_column("interval '9 hours'"), "YYYY-MM-DD")
    return func.date(AlertEvent.at, "+9 hours")


class AlertEventsKind(QueryKind):
    name = "alert_events"
    panel_types = ("bar", "table", "stat")
    schema = EventsQuery

    def refs(self, query: dict) -> Refs:
        return Refs(rules={query["rule"]} if query.get("rule") else set())

    def run(self, ctx: Context, query: dict) -> dict:
        conds = [AlertEvent.at >= ctx.since, AlertEvent.at <= ctx.until, _visible(ctx),
                 AlertEvent.kind.in_(query.get("kinds") or ["fired"])]
        if query.get("rule"):
            rule = ctx.session.scalar(select(AlertRule).where(AlertRule.id == query["rule"], _visible(ctx)))
            if rule is None:
                raise Denied()
            conds.append(AlertEvent.rule_id == rule.id)
        base = select(AlertEvent).join(AlertRule, AlertRule.id == AlertEvent.rule_id).where(*conds)
        by = query.get("by", "day")
        if by == "list":
            rows = [{"time": iso(e.at), "rule": e.rule_name, "kind": e.kind, "value": e.value,
                     "subject": e.subject} for e in ctx.session.scalars(
                base.order_by(AlertEvent.at.desc()).limit(query.get("limit", 100)))]
            return {"rows": rows, "value": len(rows)}
        key = {"day": _jst_day(ctx), "rule": AlertEvent.rule_name, "kind": AlertEvent.kind}[by]
        q = (select(key.label("k"), func.count().label("n")).select_from(AlertEvent)
             .join(AlertRule, AlertRule.id == AlertEvent.rule_id).where(*conds).group_by(key).order_by(key))
        bars = [{"label": str(k), "value": int(n)} for k, n in ctx.session.execute(q)]
        return {"bars": bars, "rows": [{"group": b["label"], "count": b["value"]} for b in bars],
                "value": sum(b["value"] for b in bars)}
