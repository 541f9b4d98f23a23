"""The dashboard document: one declared schema that the API, the editor and JSON import all use.

`parse_dashboard(data)` validates a whole document (each panel's query by its query kind's own
schema) and returns it normalised as plain JSON; problems raise `Refused(400, "invalid_dashboard")`
with one detail per field (`{"field": "panels.0.query.sensors", "message_key": …}`).
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from refusal import Refused
from registry import QUERY_KINDS
from timezones import JST

PANEL_TYPES = ("timeseries", "stat", "gauge", "bar", "table", "map", "text")
RELATIVE = {"now-1h": timedelta(hours=1), "now-6h": timedelta(hours=6), "now-24h": timedelta(hours=24),
            "now-7d": timedelta(days=7), "now-30d": timedelta(days=30), "now-90d": timedelta(days=90),
            "now-1y": timedelta(days=365)}
REFRESH = {"off": 0, "30s": 30, "1m": 60, "5m": 300}
VARIABLE_TYPES = ("area", "sensor", "layer", "custom")
SLUG = r"^[a-z0-9][a-z0-9-]{1,59}$"
GRID_COLUMNS = 12
MAX_PANELS = 24
MAX_SPAN = timedelta(days=366)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Grid(_Strict):
    x: int = Field(0, ge=0, lt=GRID_COLUMNS)
    y: int = Field(0, ge=0, le=500)
    w: int = Field(6, ge=1, le=GRID_COLUMNS)
    h: int = Field(4, ge=2, le=16)

    @model_validator(mode="after")
    def _fits(self):
        if self.x + self.w > GRID_COLUMNS:
            raise ValueError("grid_overflow")
        return self


class Panel(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    type: Literal[PANEL_TYPES]  # type: ignore[valid-type]
    title_ja: str = Field("", max_length=200)
    title_en: str = Field("", max_length=200)
    query: dict = Field(default_factory=lambda: {"kind": "none"})
    options: dict = Field(default_factory=dict)
    grid: Grid = Field(default_factory=Grid)

    @field_validator("options")
    @classmethod
    def _small_options(cls, value: dict):
        if len(repr(value)) > 20000:
            raise ValueError("too_large")
        return value


class Variable(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,29}$")
    type: Literal[VARIABLE_TYPES]  # type: ignore[valid-type]
    label_ja: str = Field("", max_length=100)
    label_en: str = Field("", max_length=100)
    options: list[str] = Field(default_factory=list, max_length=200)  # custom values
    default: str = Field("", max_length=200)


class TimeRange(_Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: str = Field("now-24h", alias="from", max_length=40)
    to: str = Field("now", max_length=40)

    @field_validator("from_", "to")
    @classmethod
    def _time(cls, value: str):
        if value == "now" or value in RELATIVE or parse_time(value) is not None:
            return value
        raise ValueError("bad_time")


class DashboardDoc(_Strict):
    slug: str = Field(pattern=SLUG)
    title_ja: str = Field(min_length=1, max_length=200)
    title_en: str = Field("", max_length=200)
    description_ja: str = Field("", max_length=2000)
    description_en: str = Field("", max_length=2000)
    organisation: str = Field("", max_length=40)
    visibility: Literal["public", "private"] = "private"
    time: TimeRange = Field(default_factory=TimeRange)
    refresh: Literal[tuple(REFRESH)] = "off"  # type: ignore[valid-type]
    variables: list[Variable] = Field(default_factory=list, max_length=10)
    panels: list[Panel] = Field(default_factory=list, max_length=MAX_PANELS)


def parse_time(text: str) -> datetime | None:
    """An absolute time: ISO 8601; without an offset it is Japan time. Aware UTC, or None."""
    if not isinstance(text, str) or not re.match(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?)?", text):
        return None
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=JST)
    if not 2000 <= dt.year <= 2100:
        return None
    return dt.astimezone(UTC)


def _field(loc: tuple) -> str:
    return ".".join(str(x) for x in loc if x != "from_") + (".from" if loc and loc[-1] == "from_" else "")


_MESSAGES = {
    "missing": "dash.err.missing", "extra_forbidden": "dash.err.extra", "string_too_long": "dash.err.too_long",
    "string_too_short": "dash.err.too_short", "too_long": "dash.err.too_many", "string_pattern_mismatch":
    "dash.err.pattern", "literal_error": "dash.err.choice", "greater_than_equal": "dash.err.range",
    "less_than_equal": "dash.err.range", "less_than": "dash.err.range", "greater_than": "dash.err.range",
    "int_parsing": "dash.err.number", "int_type": "dash.err.number", "float_parsing": "dash.err.number",
    "float_type": "dash.err.number", "finite_number": "dash.err.number", "string_type": "dash.err.text",
    "list_type": "dash.err.list", "dict_type": "dash.err.object", "model_type": "dash.err.object",
    "bool_type": "dash.err.bool", "bool_parsing": "dash.err.bool", "int_from_float": "dash.err.number",
}


def problems_of(exc: ValidationError, prefix: tuple = ()) -> list[dict]:
    out = []
    for err in exc.errors():
        key = _MESSAGES.get(err["type"], "dash.err.invalid")
        if err["type"] == "value_error":
            reason = str(err.get("ctx", {}).get("error", ""))
            key = {"grid_overflow": "dash.err.grid", "bad_time": "dash.err.time",
                   "too_large": "dash.err.too_long"}.get(reason, "dash.err.invalid")
        out.append({"field": _field(prefix + tuple(err["loc"])), "message_key": key})
    return out


def _refuse(details: list[dict]):
    return Refused(400, "invalid_dashboard", "dash.err.invalid_doc", details)


def parse_dashboard(data) -> dict:
    """Validate a whole document; the normalised JSON (defaults filled in) or Refused(400)."""
    if not isinstance(data, dict):
        raise _refuse([{"field": "", "message_key": "dash.err.object"}])
    try:
        doc = DashboardDoc.model_validate(data)
    except ValidationError as exc:
        raise _refuse(problems_of(exc)) from None
    out = doc.model_dump(by_alias=True)
    details: list[dict] = []
    names = {v.name for v in doc.variables}
    if len(names) != len(doc.variables):
        details.append({"field": "variables", "message_key": "dash.err.duplicate"})
    ids = [p.id for p in doc.panels]
    if len(set(ids)) != len(ids):
        details.append({"field": "panels", "message_key": "dash.err.duplicate"})
    for i, var in enumerate(doc.variables):
        if var.type == "custom" and not var.options:
            details.append({"field": f"variables.{i}.options", "message_key": "dash.err.missing"})
    for i, panel in enumerate(doc.panels):
        try:
            out["panels"][i]["query"] = parse_query(panel.type, panel.query, names, prefix=("panels", i, "query"))
        except Refused as exc:
            details.extend(exc.details)
    start, end = doc.time.from_, doc.time.to
    if start not in RELATIVE and start != "now" and end != "now" and end not in RELATIVE:
        a, b = parse_time(start), parse_time(end)
        if a and b and not a < b:
            details.append({"field": "time.to", "message_key": "dash.err.time_order"})
    if details:
        raise _refuse(details)
    return out


def parse_query(panel_type: str, query, variables: set[str], prefix: tuple = ("query",)) -> dict:
    """A panel's query, checked by its kind's own schema; `$name` must name a declared variable."""
    where = ".".join(str(x) for x in prefix)
    if not isinstance(query, dict):
        raise _refuse([{"field": where, "message_key": "dash.err.object"}])
    kind = QUERY_KINDS.get(str(query.get("kind", "")))
    if kind is None:
        raise _refuse([{"field": f"{where}.kind", "message_key": "dash.err.choice"}])
    if panel_type not in kind.panel_types:
        raise _refuse([{"field": f"{where}.kind", "message_key": "dash.err.kind_for_panel"}])
    try:
        parsed = kind.schema.model_validate({k: v for k, v in query.items() if k != "kind"})
    except ValidationError as exc:
        raise _refuse(problems_of(exc, prefix)) from None
    out = {"kind": kind.name, **parsed.model_dump()}
    bad = [f"{where}.{key}" for key, value in out.items() for ref in _var_refs(value) if ref not in variables]
    if bad:
        raise _refuse([{"field": f, "message_key": "dash.err.unknown_variable"} for f in bad])
    return out


def _var_refs(value) -> list[str]:
    if isinstance(value, str) and value.startswith("$"):
        return [value[1:]]
    if isinstance(value, list):
        return [x[1:] for x in value if isinstance(x, str) and x.startswith("$")]
    return []


def time_window(time_from: str, time_to: str, now: datetime) -> tuple[datetime, datetime]:
    """The dashboard's (or the URL's) time range as aware UTC; bad values fall back to 24 h."""
    end = now if time_to in ("now", "") else (now - RELATIVE[time_to] if time_to in RELATIVE else parse_time(time_to))
    end = end or now
    if time_from in RELATIVE:
        start = end - RELATIVE[time_from] if time_to in ("now", "") else now - RELATIVE[time_from]
    else:
        start = parse_time(time_from) or end - RELATIVE["now-24h"]
    if start >= end:
        start = end - RELATIVE["now-24h"]
    return max(start, end - MAX_SPAN), end


def json_schemas(ref: str = "#/components/schemas/{model}") -> dict[str, dict]:
    """JSON Schemas of the document, for the OpenAPI description: "Dashboard", its parts, and one
    "Query_<kind>" per query kind, which a panel's `query` is one of."""
    out: dict[str, dict] = {}
    main = DashboardDoc.model_json_schema(by_alias=True, ref_template=ref)
    out.update(main.pop("$defs", {}))
    out["Dashboard"] = main
    names = []
    for name, kind in QUERY_KINDS.items():
        schema = kind.schema.model_json_schema(by_alias=True, ref_template=ref)
        out.update(schema.pop("$defs", {}))
        schema.setdefault("properties", {})["kind"] = {"const": name}
        schema["required"] = ["kind", *schema.get("required", [])]
        schema["description"] = f"panel types: {', '.join(kind.panel_types)}"
        out[f"Query_{name}"] = schema
        names.append(name)
    out["Panel"]["properties"]["query"] = {"oneOf": [{"$ref": ref.format(model=f"Query_{n}")} for n in names]}
    return out
