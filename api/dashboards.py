"""Dashboards over the API: a thin adapter over dashboards/service.py.

GET /api/dashboards, GET/PUT/DELETE /api/dashboards/<slug>, POST /api/dashboards (staff Bearer
token for writes), GET /api/dashboards/<slug>/panels/<panel id>/data[.csv]?from=&to=&var-<name>=.
Reads are open to anyone for public dashboards; a token adds its organisation's private ones.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify, request

from api import schemas as s
from api.contract import CSV, Answer, contract
from api.errors import error, request_lang
from auth import current_staff, require_token
from dashboards import service
from dashboards.model import SLUG
from i18n import t
from refusal import Refused
from store.cache import cache
from store.db import get_db

log = logging.getLogger(__name__)
bp = Blueprint("dashboards_api", __name__)
# the document's models live in dashboards/model.py; the service validates a body with them
DOC = {"$ref": "#/components/schemas/Dashboard"}
SLUG_SCHEMA = {"type": "string", "pattern": SLUG}
VAR = (("var-{name}", {"type": "string"}, "the value of a dashboard variable (one per variable; up to 200 characters "
                                         "are read)"),)


@bp.errorhandler(Refused)
def _on_refused(exc: Refused):
    lang = request_lang()
    details = [{k: v for k, v in {**d, "message": t(d["message_key"], lang)}.items() if k != "message_key"}
               if isinstance(d, dict) and "message_key" in d else d for d in exc.details]
    log.info("dashboards API %s %s refused: %s %s", request.method, request.path, exc.code,
             [d.get("field") for d in details if isinstance(d, dict)])
    return error(exc.status, exc.code, exc.message_key, details, **exc.fmt)


def _body():
    data = request.get_json(silent=True)
    if data is None:
        raise Refused(400, "bad_request", "api.bad_json_body")
    return data


def params() -> service.ViewParams:
    """Time range and variables from the query string (`from`, `to`, `var-<name>`)."""
    variables = {k[4:]: v[:200] for k, v in request.args.items() if k.startswith("var-") and len(k) <= 40}
    return service.ViewParams(time_from=request.args.get("from", "")[:40], time_to=request.args.get("to", "")[:40],
                              variables=variables, lang=request_lang())


@bp.get("/api/dashboards")
@contract("Public dashboards (plus the token's organisation's)", auth="optional",
          answers={200: Answer("dashboards", {"type": "array", "items": {"type": "object"}})})
def list_dashboards():
    return jsonify([d.as_json() for d in service.list_dashboards(get_db(), current_staff())])


@bp.get("/api/dashboards/<slug>")
@contract("A dashboard as JSON (what export writes and import reads)", auth="optional",
          path={"slug": SLUG_SCHEMA}, answers={200: Answer("the dashboard", DOC)})
def get_dashboard(slug: str):
    return jsonify(service.get_document(get_db(), current_staff(), slug, shown=True))


@bp.post("/api/dashboards")
@contract("Create a dashboard", auth="token", body=DOC, validate_body=False, errors=(403, 409, 422),
          answers={201: Answer("created", DOC)})
def create_dashboard():
    staff = require_token()
    doc = service.create(get_db(), staff, _body())
    return jsonify(doc), 201


@bp.put("/api/dashboards/<slug>")
@contract("Replace a dashboard (the old version is kept)", auth="token", body=DOC, validate_body=False,
          path={"slug": SLUG_SCHEMA}, errors=(403, 422), answers={200: Answer("saved", DOC)})
def replace_dashboard(slug: str):
    staff = require_token()
    return jsonify(service.replace(get_db(), staff, slug, _body()))


@bp.delete("/api/dashboards/<slug>")
@contract("Delete a dashboard", auth="token", path={"slug": SLUG_SCHEMA}, errors=(403,),
          answers={204: Answer("deleted", media=None)})
def delete_dashboard(slug: str):
    staff = require_token()
    service.delete(get_db(), staff, slug)
    return Response(status=204)


def _answer(slug: str, panel_id: str) -> dict:
    return service.panel_data(get_db(), current_staff(), slug, panel_id, params(), cache=cache)


@bp.get("/api/dashboards/<slug>/panels/<panel_id>/data")
@contract("A panel's data as JSON", auth="optional", query=s.PanelQuery, extra_query=VAR,
          path={"slug": SLUG_SCHEMA},
          answers={200: Answer("{panel, type, from, to, variables, data}", {"type": "object"})})
def panel_data(slug: str, panel_id: str):
    resp = jsonify(_answer(slug, panel_id))
    resp.headers["Cache-Control"] = "no-store" if current_staff() else "public, max-age=15"
    return resp


@bp.get("/api/dashboards/<slug>/panels/<panel_id>/data.csv")
@contract("A panel's data as CSV (UTF-8 with BOM, JST)", auth="optional", query=s.PanelQuery,
          extra_query=VAR, path={"slug": SLUG_SCHEMA}, answers={200: Answer("CSV file", None, CSV)})
def panel_data_csv(slug: str, panel_id: str):
    body = service.panel_csv(_answer(slug, panel_id))
    name = f"{slug}-{panel_id}.csv"
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
