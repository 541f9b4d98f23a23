"""`/api/restrictions` — road restrictions (通行規制).

GET    /api/restrictions?at=&all=1&bbox=   in force now (default), at a moment (`at`, ISO 8601; bare = JST),
                                           or all of them (`all=1`: past, present and future) — public ones,
                                           plus the caller's organisation's private ones
POST   /api/restrictions                   one restriction (staff token; 201): {"type", "geometry" (GeoJSON),
                                           "road"?, "section"?, "reason"?, "start"?, "end"?, "visibility"?, "id"?}
POST   /api/restrictions/upload            a list (CSV with lat/lon, GeoJSON, KML; body = the file or multipart
                                           field `file`); `?visibility=public|private` (default public),
                                           `&replace=0` keeps what an earlier file of that name brought
GET    /api/restrictions/<id>              one restriction
DELETE /api/restrictions/<id>              remove it (token; 204)

A private restriction is 404 on every route for anyone but its organisation's staff and admins.
"""
from __future__ import annotations

import logging

import orjson
from flask import Blueprint, jsonify, request

from api import schemas as s
from api.contract import Answer, contract
from api.errors import error, refused, request_lang
from auth import current_staff, require_token
from layers import restrictions_manage
from refusal import Refused
from store.db import get_db, utcnow

log = logging.getLogger(__name__)
bp = Blueprint("restrictions_api", __name__)
REFUSE = (400, "invalid_restriction", "restriction.invalid")


def _private(resp):
    resp.headers["Cache-Control"] = "private, no-cache"
    resp.headers["Vary"] = "Cookie, Authorization"
    return resp


@bp.get("/api/restrictions")
@contract("Road restrictions in force now, at a moment (`at`), or all of them (`all=1`); public ones, plus the "
          "caller's organisation's private ones", auth="optional", query=s.RestrictionsQuery,
          refuse={"bbox": (400, "bad_bbox", "contract.invalid_request"),
                  "*": (400, "bad_time", "restriction.bad_time")},
          answers={200: Answer("restrictions", s.RestrictionList)})
def list_restrictions():
    from api.public import parse_bbox
    from sources.observed import parse_time
    from timezones import JST

    at = utcnow()
    if request.args.get("all") in ("1", "true"):
        at = None
    elif request.args.get("at"):
        at = parse_time(request.args["at"], bare=JST)
        if at is None:
            return error(400, "bad_time", "restriction.bad_time", details=[{"at": request.args["at"][:100]}])
    try:
        bbox = parse_bbox(request.args.get("bbox"))
    except ValueError as exc:
        return error(400, "bad_bbox", str(exc), details=[{"bbox": request.args.get("bbox", "")[:200]}])
    return _private(jsonify(restrictions_manage.list_restrictions(get_db(), current_staff(), at, bbox)))


@bp.post("/api/restrictions")
@contract("Add a road restriction", auth="token", body=s.RestrictionNew, validate_body=False, refuse=REFUSE,
          errors=(403, 409), answers={201: Answer("added", s.RestrictionOut)})
def create_restriction():
    staff = require_token()
    try:
        body = orjson.loads(request.get_data() or b"null")
    except orjson.JSONDecodeError:
        body = None
    try:
        r = restrictions_manage.create(get_db(), staff, body, request_lang())
    except Refused as exc:
        return refused(exc)
    log.info("road restriction %s added by %s", r["id"], staff.email)
    return jsonify(r), 201


@bp.post("/api/restrictions/upload")
@contract("Upload road restrictions", description="CSV with lat/lon, GeoJSON or KML: the request body, or the "
          "multipart field `file`", auth="token", query=s.RestrictionsUploadQuery, form=s.UploadFile,
          refuse=REFUSE,
          errors=(403, 413, 415, 422), answers={200: Answer("stored and skipped rows", {"type": "object"})})
def upload_restrictions():
    staff = require_token()
    upload = request.files.get("file")
    raw = upload.read() if upload is not None else request.get_data()
    name = (upload.filename if upload is not None else request.args.get("filename", "")) or "upload"
    try:
        result = restrictions_manage.upload(get_db(), staff, raw, name[:200], request.args.get("visibility", "public"),
                                            request.args.get("replace", "1") not in ("0", "false"), request_lang())
    except Refused as exc:
        return refused(exc)
    log.info("road restrictions %s uploaded by %s: %s stored", name[:80], staff.email, result["stored"])
    return jsonify(result)


@bp.get("/api/restrictions/<rid>")
@contract("One road restriction", auth="optional", answers={200: Answer("the restriction", s.RestrictionOut)})
def get_restriction(rid: str):
    try:
        return _private(jsonify(restrictions_manage.get_restriction(get_db(), current_staff(), rid)))
    except Refused as exc:
        return refused(exc)


@bp.delete("/api/restrictions/<rid>")
@contract("Delete a road restriction", auth="token", errors=(403,), answers={204: Answer("deleted", media=None)})
def delete_restriction(rid: str):
    staff = require_token()
    try:
        restrictions_manage.remove(get_db(), staff, rid)
    except Refused as exc:
        return refused(exc)
    log.info("road restriction %s deleted by %s", rid[:120], staff.email)
    return "", 204
