"""OpenAPI 3.1 description of the API (GET /api/openapi.json), made from the routes' contracts.

Every `/api/` rule of the app whose view carries `@contract` (api/contract.py) becomes an operation:
path parameters from the URL rule, query parameters and bodies from the pydantic models of
api/schemas.py, answers from the declaration plus the errors it implies (400 for a request that
does not fit, 401 for a staff route, 404 for a path with ids, 413 for a body). tests/test_contract.py
fails on any /api rule missing here.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from werkzeug.routing import IntegerConverter, PathConverter

from api.contract import JSON, Answer, Op, _adapter, declared
from api.hardening import MAX_ID
from dashboards.model import json_schemas

REF = "#/components/schemas/{model}"

# what each error status means, whatever the route (a declaration may say more)
ERROR_MEANING = {
    400: "The request does not fit its declaration, or a value is refused (`details` names each field)",
    401: "Missing or invalid Bearer token",
    403: "Another organisation's thing that you may see but not change",
    404: "Unknown — or private and not yours (never 403, so existence does not leak)",
    409: "Conflicts with what is stored",
    413: "Body larger than allowed",
    415: "File type not supported (judged from the content, not the name)",
    422: "Understood but not usable (`details` says why)",
    502: "The remote broker or site answered an error",
    503: "A service the request needs is unavailable",
}


class Builder:
    def __init__(self) -> None:
        self.schemas: dict[str, dict] = {"Error": {
            "type": "object", "required": ["error", "message", "details"],
            "description": "Every error: a code, a message (Japanese unless Accept-Language: en or ?lang=en) "
                           "and details (per field: {field, message, type})",
            "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                           "details": {"type": "array", "items": {}}}}}

    def schema(self, tp, mode: str = "validation") -> dict:
        """JSON Schema of a model/type/dict; named models go to components."""
        if tp is None:
            return {}
        if isinstance(tp, dict):
            return tp
        got = _adapter(tp).json_schema(ref_template=REF, mode=mode)
        self.schemas.update(got.pop("$defs", {}))
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            name = tp.__name__ if mode == "validation" or tp.__name__ not in self.schemas else tp.__name__ + "Out"
            self.schemas[name] = got
            return {"$ref": REF.format(model=name)}
        return got

    def query_params(self, model) -> list[dict]:
        if model is None:
            return []
        full = model.model_json_schema(ref_template=REF, by_alias=True)
        self.schemas.update(full.pop("$defs", {}))
        required = set(full.get("required", []))
        out = []
        for name, prop in full.get("properties", {}).items():
            desc = prop.pop("description", None)
            param = {"name": name, "in": "query", "required": name in required, "schema": _plain(prop)}
            if desc:
                param["description"] = desc
            out.append(param)
        return out

    def answer(self, ans: Answer) -> dict:
        out: dict[str, Any] = {"description": ans.description or "OK"}
        if ans.media:
            media = ans.media if isinstance(ans.media, tuple) else (ans.media,)
            body = {"schema": self.schema(ans.schema, "serialization")} if ans.schema is not None else {}
            out["content"] = {m: body for m in media}
        if ans.headers:
            out["headers"] = ans.headers
        return out


def _no_null_defaults(node):
    """An optional field is left out, not sent as null: drop `"default": null` from the schemas."""
    if isinstance(node, dict):
        return {k: _no_null_defaults(v) for k, v in node.items() if not (k == "default" and v is None)}
    if isinstance(node, list):
        return [_no_null_defaults(v) for v in node]
    return node


def _plain(prop: dict) -> dict:
    """A query parameter's schema: an optional value is just absent (no JSON null in a URL)."""
    prop = dict(prop)
    prop.pop("title", None)
    any_of = prop.pop("anyOf", None)
    if any_of:
        rest = [x for x in any_of if x.get("type") != "null"]
        prop = {**(rest[0] if len(rest) == 1 else {"anyOf": rest}), **prop}
    if prop.get("default", 0) is None:
        prop.pop("default")
    return prop


def path_of(rule) -> tuple[str, list[dict]]:
    """`/api/x/<int:id>.jpg` -> `/api/x/{id}.jpg` and its path parameters."""
    path, params = "", []
    for dynamic, data in rule._trace:  # werkzeug's parsed rule: (is a variable, text or name)
        path += "{" + data + "}" if dynamic else data
    path = path.split("|", 1)[-1]
    for name, conv in rule._converters.items():
        if isinstance(conv, IntegerConverter):
            schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        elif isinstance(conv, PathConverter):
            schema = {"type": "string", "minLength": 1}
        else:
            schema = {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return path, params


def operation(b: Builder, op: Op, path_params: list[dict], endpoint: str) -> dict:
    params = [dict(p, schema=op.path.get(p["name"], p["schema"])) for p in path_params]
    params += b.query_params(op.query)
    params += [{"name": n, "in": "query", "required": False, "schema": sch, "description": d}
               for n, sch, d in op.extra_query]
    params.append({"name": "lang", "in": "query", "required": False, "schema": {"type": "string"},
                   "description": "ja (default) or en: the language of messages"})
    out: dict[str, Any] = {"operationId": endpoint.replace(".", "_"), "summary": op.summary, "parameters": params}
    if op.description:
        out["description"] = op.description
    if op.tags:
        out["tags"] = list(op.tags)
    if op.auth == "token":
        out["security"] = [{"bearer": []}]
    elif op.auth == "optional":
        out["security"] = [{}, {"bearer": []}]
    # an error is a status, or (status, what it means here)
    notes = {e[0]: e[1] for e in op.errors if isinstance(e, tuple)}
    statuses = {e[0] if isinstance(e, tuple) else e for e in op.errors}
    if op.body is not None:
        out["requestBody"] = {"required": op.body_required,
                              "content": {JSON: {"schema": b.schema(op.body)}}}
        statuses |= {400, 413}
    if op.form is not None:
        out["requestBody"] = {"required": True,
                              "content": {"multipart/form-data": {"schema": b.schema(op.form)}}}
        statuses |= {400, 413}
    if op.query is not None:
        statuses.add(400)
    if op.auth == "token":
        statuses.add(401)
    if path_params:
        statuses.add(404)
    responses = {str(code): b.answer(ans) for code, ans in sorted(op.answers.items())}
    for code in sorted(statuses):
        meaning = notes.get(code) or ERROR_MEANING.get(code, "Error")
        responses.setdefault(str(code), {"description": meaning, "content": {
            JSON: {"schema": {"$ref": REF.format(model="Error")}}}})
    out["responses"] = responses
    return out


def spec(app) -> dict:
    """The OpenAPI document of every declared /api/ route of app."""
    from api.schemas import FixItem

    b = Builder()
    b.schemas.update(json_schemas(REF))
    b.schema(FixItem)  # named in the description of POST /api/vehicles/fixes
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/"):
            continue
        op = declared(app.view_functions[rule.endpoint])
        if op is None:
            continue
        path, params = path_of(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = operation(b, op, params, rule.endpoint)
    return {
        "openapi": "3.1.0",
        "info": {"title": "ishikawa-map API", "version": "1.0",
                 "description": "石川県 データ連携基盤 マップ. Messages in Japanese unless Accept-Language: en or "
                                "?lang=en. Errors are {error, message, details}."},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "flask --app app create-token EMAIL"}},
                       "schemas": _no_null_defaults(b.schemas)},
        "paths": _no_null_defaults(paths),
    }
