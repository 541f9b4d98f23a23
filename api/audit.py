"""The audit log: `GET /api/audit` (Bearer token of an admin or org_admin) and `/staff/audit.csv`
(log-in). Who may read what is decided in layers/audit_log.py.

`GET /api/audit?organisation=<code>&action=<kind or family>&actor=<part of an e-mail>&since=&until=&limit=&offset=`
answers `{"entries": [{id, at (UTC), actor, actor_organisation, organisation, via, address, action,
target, target_name, changes: {field: [before, after]}, detail}], "total", "limit", "offset"}`,
newest first.
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from api import schemas as s
from api.contract import Answer, contract
from api.errors import request_lang
from layers import audit_log
from store.db import get_db, utcnow

bp = Blueprint("audit_api", __name__)
PAGING = (400, "bad_request", "audit.err.paging")
FILTERS = ("organisation", "action", "actor", "since", "until")


def _filters() -> dict:
    return {k: request.args.get(k) for k in FILTERS}


@bp.get("/api/audit")
@contract("The audit log, newest first (admins: every organisation; org_admins: their own)", auth="token",
          query=s.AuditQuery, errors=(403,),
          refuse={"limit": PAGING, "offset": PAGING, "*": (400, "bad_request", "contract.invalid_request")},
          answers={200: Answer("entries", s.AuditEntries)})
def audit_json():
    from auth import require_token

    staff = require_token()
    return jsonify(audit_log.entries_json(get_db(), staff, request.args.get("limit", 100),
                                          request.args.get("offset", 0), **_filters()))


@bp.get("/staff/audit.csv")
def audit_csv():
    from auth import current_staff

    body = audit_log.csv_bytes(get_db(), current_staff(), request_lang(), **_filters())
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"',
                             "Cache-Control": "no-store"})
