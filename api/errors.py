"""JSON errors in the request's language: {"error": code, "message": text, "details": [...]}."""
from __future__ import annotations

from flask import jsonify, request

from i18n import lang_from_accept, normalize_lang, t
from refusal import Refused


def request_lang() -> str:
    if request.args.get("lang"):
        return normalize_lang(request.args["lang"])
    return lang_from_accept(request.headers.get("Accept-Language"))


def error(status: int, code: str, message_key: str, details: list | None = None, **fmt):
    body = {"error": code, "message": t(message_key, request_lang(), **fmt), "details": details or []}
    return jsonify(body), status


def refused(exc: Refused):
    """A service's `Refused` as our JSON error (a 401 names the Bearer scheme it wants)."""
    body, status = error(exc.status, exc.code, exc.message_key, exc.details, **exc.fmt)
    if status == 401:
        body.headers["WWW-Authenticate"] = 'Bearer realm="ishikawa-map"'
    return body, status


def install(server) -> None:
    """Any `Refused` that reaches Flask (an API route, `auth.require_token`) answers as our JSON error."""
    server.register_error_handler(Refused, refused)
