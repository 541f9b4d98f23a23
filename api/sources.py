"""`/api/sources` — staff manage their organisation's broker and CKAN sources (Bearer token).

GET    /api/sources                       the sources the token's holder may manage
POST   /api/sources                       register one (201)
GET    /api/sources/<id>                  one source with its feed state
PATCH  /api/sources/<id>                  change fields
DELETE /api/sources/<id>                  remove it (its layers stay, with their last data)
POST   /api/sources/<id>/poll             poll now
POST   /api/sources/<id>/subscription     create an Orion subscription that pushes to /ngsi/notify/<id>
"""
from __future__ import annotations

import logging

import orjson
from flask import Blueprint, current_app, jsonify, request

from api import schemas as s
from api.contract import Answer, contract
from api.errors import error
from api.hardening import valid_id
from sources.source_config import audit_snapshot, audit_source, clean_source, forget_source, source_json
from store.brokers import Source, sources
from store.db import get_db
from store.feeds import feed_states
from store.layers import organisations

log = logging.getLogger(__name__)
bp = Blueprint("sources_api", __name__)
REFUSE = (400, "invalid", "sources.invalid")  # a body that does not fit: as the other refusals of a source


def staff_for_sources():
    """The one permission check of the sources API: a staff Bearer token (auth core)."""
    from auth import require_token

    return require_token()


def _settings():
    return current_app.extensions["ishikawa.settings"]


def _body() -> dict | None:
    try:
        return orjson.loads(request.get_data() or b"null")
    except orjson.JSONDecodeError:
        return None


def _own(s, staff, source_id: int) -> Source | None:
    if not valid_id(source_id):
        return None  # an id no database holds: unknown
    src = s.get(Source, source_id)
    return src if src is not None and staff.may_manage(src.organisation_id) else None


def _out(s, src: Source) -> dict:
    from store.models import Layer

    body = source_json(src, feed_states(s), _settings().public_base_url)
    body["layers"] = sorted(layer.id for layer in s.query(Layer).all()
                            if (layer.options or {}).get("source_id") == src.id)
    return body


@bp.get("/api/sources")
@contract("Sources the token's holder may manage", auth="token", answers={200: Answer("sources", s.SourceList)})
def list_sources():
    staff = staff_for_sources()
    with get_db().session() as s:
        rows = [src for src in sources(s) if staff.may_manage(src.organisation_id)]
        return jsonify({"sources": [_out(s, src) for src in rows]})


@bp.post("/api/sources")
@contract("Register a broker or CKAN source", auth="token", body=s.SourceNew, refuse=REFUSE,
          answers={201: Answer("registered", s.SourceOut)})
def create_source():
    staff = staff_for_sources()
    data = _body()
    values, errors = clean_source(data if data is not None else "", partial=False)
    with get_db().session() as s:
        org_id = staff.organisation_id
        if not staff.may_manage(org_id):  # a viewer changes nothing
            return error(403, "forbidden", "perm.forbidden")
        code = (data or {}).get("organisation") if isinstance(data, dict) else None
        if code:
            org = next((o for o in organisations(s).values() if o.code == code), None)
            if org is None or not staff.may_manage(org.id):
                errors.append({"field": "organisation", "message": "not an organisation you manage"})
            else:
                org_id = org.id
        if errors:
            return error(400, "invalid", "sources.invalid", details=errors)
        src = Source(organisation_id=org_id, **values)
        s.add(src)
        s.flush()
        audit_source(s, staff, "source.create", src, {})
        body = _out(s, src)
    return jsonify(body), 201


@bp.get("/api/sources/<int:source_id>")
@contract("One source with its feed state", auth="token", answers={200: Answer("the source", s.SourceOut)})
def get_source(source_id: int):
    staff = staff_for_sources()
    with get_db().session() as s:
        src = _own(s, staff, source_id)
        if src is None:
            return error(404, "not_found", "sources.not_found")
        return jsonify(_out(s, src))


@bp.patch("/api/sources/<int:source_id>")
@contract("Change a source", auth="token", body=s.Source, refuse=REFUSE,
          answers={200: Answer("the source", s.SourceOut)})
def patch_source(source_id: int):
    staff = staff_for_sources()
    data = _body()
    values, errors = clean_source(data if data is not None else "", partial=True)
    with get_db().session() as s:
        src = _own(s, staff, source_id)
        if src is None:
            return error(404, "not_found", "sources.not_found")
        if errors:
            return error(400, "invalid", "sources.invalid", details=errors)
        before = audit_snapshot(src)
        for key, value in values.items():
            setattr(src, key, value)
        src.next_poll_at = None  # try the new settings at once
        s.flush()
        audit_source(s, staff, "source.update", src, before)
        return jsonify(_out(s, src))


@bp.delete("/api/sources/<int:source_id>")
@contract("Remove a source (its layers stay)", auth="token", answers={204: Answer("removed", media=None)})
def delete_source(source_id: int):
    staff = staff_for_sources()
    with get_db().session() as s:
        src = _own(s, staff, source_id)
        if src is None:
            return error(404, "not_found", "sources.not_found")
        audit_source(s, staff, "source.delete", src)
        forget_source(s, src)
    return "", 204


@bp.post("/api/sources/<int:source_id>/poll")
@contract("Poll a source now", auth="token", errors=(502,),
          answers={200: Answer("what the poll did", {"type": "object"})})
def poll_now(source_id: int):
    from sources.broker_poll import client_for, poll_source

    staff = staff_for_sources()
    with get_db().session() as s:
        if _own(s, staff, source_id) is None:
            return error(404, "not_found", "sources.not_found")
    result = poll_source(get_db(), source_id, make_client=lambda src: client_for(src, retries=1))
    status = 502 if "error" in result else 200
    return jsonify({"result": result}), status


@bp.post("/api/sources/<int:source_id>/subscription")
@contract("Create an Orion subscription that pushes to /ngsi/notify/<id>", auth="token", errors=(400, 502),
          answers={201: Answer("the subscription", {"type": "object"})})
def subscribe(source_id: int):
    from sources.ngsi import NgsiError
    from sources.source_config import subscribe_source

    staff = staff_for_sources()
    with get_db().session() as s:
        src = _own(s, staff, source_id)
        if src is None:
            return error(404, "not_found", "sources.not_found")
        if src.kind != "orion":
            return error(400, "invalid", "sources.invalid", details=[{"field": "kind", "message": "orion only"}])
    try:
        body = subscribe_source(get_db(), source_id, _settings().public_base_url, staff)
    except NgsiError as exc:
        return error(502, "broker_error", "sources.broker_error", details=[str(exc)])
    return jsonify(body), 201
