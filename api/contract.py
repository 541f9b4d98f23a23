"""The API contract, declared once per route.

Each `/api/` view carries one `@contract(...)` below its route decorator: a summary, the pydantic
models of its query string and JSON body (api/schemas.py), whether it needs a staff Bearer token,
and its answers. The same declaration

- validates the request before the view runs (a staff route checks the token first, so a caller
  without one learns nothing about the shape of the request): a query or body the models refuse is
  our JSON error `{"error", "message", "details": [{"field", "message", "type"}]}` in the request's
  language (400; a body that is no JSON at all is also 400), raised as `refusal.Refused`;
- hands the validated values to the view (a parameter named `query` or `body` receives them);
- and produces the operation in `/api/openapi.json` (api/openapi.py walks the app's URL map; a
  route without a contract is missing there, and tests/test_contract.py fails on it).

A small decorator of our own rather than spectree / flask-openapi3 / APIFlask: those bring their own
blueprint or app classes and their own validation-error bodies, while every answer here must be our
error format with messages in Japanese by default, and staff routes must answer 401 before any
validation; pydantic (already the dashboards' schema library) does the validating and the JSON
Schemas, this module only wires them to Flask and OpenAPI.
"""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from flask import request
from pydantic import BaseModel, TypeAdapter, ValidationError

from api.hardening import valid_id
from i18n import t
from refusal import Refused

JSON = "application/json"
GEOJSON = "application/geo+json"
CSV = "text/csv"
JPEG = "image/jpeg"

# pydantic error type -> message key (the message each detail carries, in the request's language)
_MESSAGES = {
    "missing": "contract.err.missing", "extra_forbidden": "contract.err.extra",
    "string_too_long": "contract.err.too_long", "string_too_short": "contract.err.too_short",
    "too_long": "contract.err.too_many", "too_short": "contract.err.too_few",
    "string_pattern_mismatch": "contract.err.pattern", "literal_error": "contract.err.choice",
    "enum": "contract.err.choice", "greater_than_equal": "contract.err.range", "less_than_equal": "contract.err.range",
    "greater_than": "contract.err.range", "less_than": "contract.err.range", "finite_number": "contract.err.number",
    "int_parsing": "contract.err.integer", "int_type": "contract.err.integer", "int_from_float": "contract.err.integer",
    "float_parsing": "contract.err.number", "float_type": "contract.err.number", "string_type": "contract.err.text",
    "list_type": "contract.err.list", "dict_type": "contract.err.object", "model_type": "contract.err.object",
    "model_attributes_type": "contract.err.object", "bool_type": "contract.err.bool",
    "bool_parsing": "contract.err.bool", "union_tag_invalid": "contract.err.choice",
}


@dataclass(frozen=True)
class Answer:
    """One declared answer: a description, a media type and the schema of its body (a pydantic
    model, a JSON Schema dict, or None for "any" / no body)."""
    description: str
    schema: Any = None
    media: str | tuple | None = JSON  # a tuple: one of these (negotiated, or by a parameter)
    headers: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Op:
    summary: str
    description: str = ""
    query: type[BaseModel] | None = None
    body: Any = None  # pydantic model or type (list[Model]) of a JSON body
    form: type[BaseModel] | None = None  # multipart/form-data fields (documented; the view reads the file)
    body_required: bool = True
    validate_body: bool = True  # False: the service validates the body with this same model (dashboards)
    auth: str | None = None  # "token": a staff Bearer token is required; "optional": it adds private things
    answers: dict = field(default_factory=dict)  # status -> Answer
    errors: tuple = ()  # statuses answered with our error body, beyond the ones the declaration implies
    tags: tuple = ()
    path: dict = field(default_factory=dict)  # path parameter -> JSON Schema (default from the URL rule)
    refuse: tuple | dict = (400, "invalid_request", "contract.invalid_request")  # status, code, message of a refusal
    extra_query: tuple = ()  # documented query parameters read by hand (name, schema, description)


def _adapter(tp) -> TypeAdapter:
    return tp if isinstance(tp, TypeAdapter) else TypeAdapter(tp)


def problems(exc: ValidationError, where: str, lang: str) -> list[dict]:
    """pydantic's errors as our details: field path, message in the request's language, type."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"])
        out.append({"field": loc or where,
                    "message": t(_MESSAGES.get(err["type"], "contract.err.invalid"), lang),
                    "type": err["type"]})
    return out[:50]


def _lang() -> str:
    from api.errors import request_lang

    return request_lang()


def _refuse(op: Op, details: list[dict]):
    """The route's refusal: one (status, code, message key) for all, or one per field name."""
    how = op.refuse
    if isinstance(how, dict):
        fields = [d["field"].split(".")[0] for d in details]
        how = next((how[f] for f in fields if f in how), how.get("*", Op.refuse))
    status, code, key = how
    return Refused(status, code, key, details)


def read_query(op: Op) -> BaseModel:
    names = {f.alias or name for name, f in op.query.model_fields.items()}
    raw = {k: v for k, v in request.args.items() if k in names}
    try:
        return op.query.model_validate(raw)
    except ValidationError as exc:
        raise _refuse(op, problems(exc, "query", _lang())) from None


def read_json() -> Any:
    """The request body as JSON (orjson: nested beyond 1024 levels is an error, never a crash);
    Refused(400) when it is absent or not JSON."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise Refused(400, "bad_json", "contract.no_body", [{"field": "body", "type": "missing",
                                                             "message": t("contract.err.missing", _lang())}])
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Refused(400, "bad_json", "contract.not_json", [{"field": "body", "type": "json_invalid",
                                                              "message": t("contract.not_json", _lang())}]) from None


def read_body(op: Op) -> Any:
    data = read_json()
    try:
        return _adapter(op.body).validate_python(data)
    except ValidationError as exc:
        raise _refuse(op, problems(exc, "body", _lang())) from None


def read_form(op: Op) -> BaseModel:
    """multipart/form-data fields (the file itself is read by the view, within the size limit)."""
    data = request.form.to_dict()
    if "file" in op.form.model_fields and "file" in request.files:
        data["file"] = b""
    try:
        return op.form.model_validate(data)
    except ValidationError as exc:
        raise _refuse(op, problems(exc, "form", _lang())) from None


def contract(summary: str, **kw) -> Callable:
    """Declare a view's request and answers (see the module's docstring); use below @bp.get etc."""
    op = Op(summary=summary, **kw)

    def wrap(view: Callable) -> Callable:
        params = inspect.signature(view).parameters

        @functools.wraps(view)
        def checked(*args, **kwargs):
            if op.auth == "token":
                from auth import require_token

                require_token()  # 401 before anything else is said about the request
            if any(isinstance(v, int) and not valid_id(v) for v in kwargs.values()):
                raise Refused(404, "not_found", "http.404")  # an id no database holds: unknown
            if op.query is not None:
                q = read_query(op)
                if "query" in params:
                    kwargs["query"] = q
            if op.form is not None:
                read_form(op)
            if op.body is not None and op.validate_body and (op.body_required or request.content_length):
                b = read_body(op)
                if "body" in params:
                    kwargs["body"] = b
            return view(*args, **kwargs)

        checked.contract = op
        return checked

    return wrap


def declared(view: Callable) -> Op | None:
    return getattr(view, "contract", None)
