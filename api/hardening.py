"""What every answer of the app keeps to, whatever route gives it (installed once by app.py).

- Every JSON answer is valid JSON: a number that is not finite (±inf, NaN — never stored on
  purpose, but old rows or a computation may hold one) is written as `null`, never as the
  `Infinity`/`NaN` that JSON does not have.
- A JSON body nested too deep for the parser is a bad request (400), not a crash.
- Machine paths (`/api/…`, `/ogcapi/…`, `/ngsi/…`) answer errors as our JSON
  `{"error", "message", "details"}`: an unknown path is 404 (not the map's page with 200), a body
  over the size limit 413, a wrong method 405.
- Ids in URLs beyond what a database integer holds are unknown ids (`valid_id`).
- The public read APIs (layers, dashboards and their data) may be read by any web page
  (`Access-Control-Allow-Origin: *`).
"""
from __future__ import annotations

import logging
import math
import re

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException, NotFound, RequestEntityTooLarge

from api.errors import error

log = logging.getLogger(__name__)
MAX_ID = 2 ** 63 - 1  # the largest id a BIGINT holds (SQLite's INTEGER too)
MACHINE_PATHS = ("/api", "/ogcapi", "/ngsi")


def valid_id(n) -> bool:
    """Whether n can be a stored integer id at all (larger ones are unknown, never a 500)."""
    return isinstance(n, int) and not isinstance(n, bool) and 0 < n <= MAX_ID


def _finite(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


class FiniteJSONProvider(DefaultJSONProvider):
    def dumps(self, obj, **kwargs) -> str:
        kwargs["allow_nan"] = False
        try:
            return super().dumps(obj, **kwargs)
        except ValueError:  # a non-finite number somewhere: null instead
            return super().dumps(_finite(obj), **kwargs)

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:  # nested thousands deep: a bad body like any other
            raise ValueError("JSON nested too deep") from None


def machine_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in MACHINE_PATHS)


def _code(exc: HTTPException) -> str:
    return re.sub(r"[^a-z0-9]+", "_", (exc.name or "error").lower()).strip("_")


def http_error(exc: HTTPException):
    """An HTTP error raised outside a view's own handling (routing, body limits, abort)."""
    if exc.response is not None or not machine_path(request.path):
        return exc  # already a full answer (e.g. a 401 JSON), or a page: Flask/Dash as before
    if exc.code == 413:
        from flask import current_app

        settings = current_app.extensions.get("ishikawa.settings")
        limit = (getattr(settings, "upload_max_mb", None)
                 or (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // 2 ** 20)
        log.info("413 for %s %s", request.method, request.path)
        return error(413, "too_large", "upload.too_large", limit=limit)
    allow = _methods_here() if exc.code == 405 else set()
    if exc.code == 405 and not allow:  # only the map's catch-all page route matched: an unknown path
        return http_error(NotFound())
    key = f"http.{exc.code}" if exc.code in (400, 404, 405) else "http.other"
    body, status = error(exc.code or 500, _code(exc), key, http_status=exc.code)
    if exc.code == 405:  # RFC 9110: a 405 names the methods the resource has
        body.headers["Allow"] = ", ".join(sorted(allow))
    return body, status


CATCH_ALL = ("/<path:path>", "/<path>")


def _methods_here() -> set[str]:
    """The methods the machine path has, not counting the map's catch-all page route (GET)."""
    from flask import current_app

    adapter = current_app.url_map.bind_to_environ(request.environ)
    matched = {}
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        try:
            rule, _args = adapter.match(method=method, return_rule=True)
        except HTTPException:
            continue
        if rule.rule not in CATCH_ALL:
            matched[method] = rule
    # a fixed path (/api/melters/upload) is its own resource, not also an id of /api/melters/<id>
    fixed = {m for m, r in matched.items() if not r.arguments}
    found = fixed or set(matched)
    if "GET" in found:
        found.add("HEAD")
    return found | {"OPTIONS"} if found else found


def _allow_on_options(resp):
    """OPTIONS at a machine path lists its own methods (not the map page's GET)."""
    if request.method == "OPTIONS" and machine_path(request.path) and "Allow" in resp.headers:
        methods = _methods_here()
        if methods:
            resp.headers["Allow"] = ", ".join(sorted(methods))
    return resp


def _unknown_machine_path():
    """The map's catch-all page route must not answer for /api/… or /ogcapi/…."""
    rule = request.url_rule
    if rule is not None and rule.rule in CATCH_ALL and machine_path(request.path):
        if _methods_here():  # the path is ours, the method is not one of it (GET of a POST-only route)
            from werkzeug.exceptions import MethodNotAllowed

            return http_error(MethodNotAllowed(valid_methods=sorted(_methods_here())))
        return http_error(NotFound())
    return None


# public read APIs any web page may read (OGC API sets its own): the layer list and layers, and the
# dashboards and their panels' data. `*` never lends a visitor's cookies or token to another site
# (browsers send no credentials to a `*` answer), so such a page reads exactly what anonymous does.
PUBLIC_READS = re.compile(r"/api/layers(/[^/]+(/[^/]+)?)?|/api/dashboards(/[^/]+(/panels/[^/]+/data(\.csv)?)?)?")


def _public_reads_for_any_origin(resp):
    if request.method in ("GET", "HEAD") and PUBLIC_READS.fullmatch(request.path):
        resp.headers.setdefault("Access-Control-Allow-Origin", "*")
    return resp


def init_hardening(server: Flask) -> None:
    server.json = FiniteJSONProvider(server)
    server.register_error_handler(HTTPException, http_error)
    server.register_error_handler(RequestEntityTooLarge, http_error)  # replaces the /api/-only one
    server.before_request(_unknown_machine_path)
    server.after_request(_allow_on_options)
    server.after_request(_public_reads_for_any_origin)
