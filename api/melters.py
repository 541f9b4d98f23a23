"""`/api/melters` — snow-melting devices (消雪装置) and their states.

GET    /api/melters                   public devices, plus the caller's organisation's private ones; counts by state
POST   /api/melters                   register one (staff token; 201): {"id"?, "name", "name_en"?, "lon", "lat",
                                      "road"?, "visibility"?, "interval_s"?, "state"?, "time"?}
POST   /api/melters/upload            a device list (CSV with lat/lon, GeoJSON, KML; body = the file, or
                                      multipart field `file`); `?visibility=public|private` (default private)
GET    /api/melters/<id>              one device
PATCH  /api/melters/<id>              change fields, or report a state ({"state": "故障", "time"?}) (token)
DELETE /api/melters/<id>              remove it and its history (token; 204)
GET    /api/melters/<id>/states?since=  its state changes since then (default: the last 7 days)

States also arrive by `POST /api/readings` (an item with `state` instead of `value`) and from
brokers (`Device` entities with `deviceState`). A private device is 404 on every route for anyone
but its organisation's staff and admins.
"""
from __future__ import annotations

import logging

import orjson
from flask import Blueprint, jsonify, request

from api import schemas as s
from api.contract import Answer, contract
from api.errors import error, refused, request_lang
from auth import current_staff, require_token
from layers import melters_manage
from refusal import Refused
from store.db import get_db

log = logging.getLogger(__name__)
bp = Blueprint("melters_api", __name__)
REFUSE = (400, "invalid_device", "melter.invalid")
UPLOAD = "CSV with lat/lon, GeoJSON or KML: the request body, or the multipart field `file`"


def _body():
    try:
        return orjson.loads(request.get_data() or b"null")
    except orjson.JSONDecodeError:
        return None


def _private(resp):
    resp.headers["Cache-Control"] = "private, no-cache"
    resp.headers["Vary"] = "Cookie, Authorization"
    return resp


@bp.get("/api/melters")
@contract("Public snow-melting devices, plus the caller's organisation's private ones; counts by state",
          auth="optional", answers={200: Answer("devices", s.MelterList)})
def list_melters():
    return _private(jsonify(melters_manage.list_devices(get_db(), current_staff())))


@bp.post("/api/melters")
@contract("Register a snow-melting device", auth="token", body=s.MelterNew, validate_body=False, refuse=REFUSE,
          errors=(403, 409), answers={201: Answer("registered", s.MelterOut)})
def create_melter():
    staff = require_token()
    try:
        dev = melters_manage.register(get_db(), staff, _body(), request_lang())
    except Refused as exc:
        return refused(exc)
    log.info("melting device %s registered by %s", dev["id"], staff.email)
    return jsonify(dev), 201


@bp.post("/api/melters/upload")
@contract("Upload a device list (added or updated by id)", description=UPLOAD, auth="token",
          query=s.UploadQuery, form=s.UploadFile, refuse=REFUSE, errors=(403, 413, 415, 422),
          answers={200: Answer("added, updated and skipped rows", {"type": "object"})})
def upload_melters():
    staff = require_token()
    upload = request.files.get("file")
    raw = upload.read() if upload is not None else request.get_data()
    name = (upload.filename if upload is not None else request.args.get("filename", "")) or ""
    try:
        result = melters_manage.upload_devices(get_db(), staff, raw, name[:200],
                                               request.args.get("visibility", "private"), request_lang())
    except Refused as exc:
        return refused(exc)
    log.info("melting device list %s uploaded by %s: %s added, %s updated", name[:80], staff.email,
             result["added"], result["updated"])
    return jsonify(result)


@bp.get("/api/melters/<device_id>")
@contract("One snow-melting device", auth="optional", answers={200: Answer("the device", s.MelterOut)})
def get_melter(device_id: str):
    try:
        return _private(jsonify(melters_manage.get_device(get_db(), current_staff(), device_id)))
    except Refused as exc:
        return refused(exc)


@bp.patch("/api/melters/<device_id>")
@contract("Change a device, or report its state ({\"state\": \"故障\", \"time\"?})", auth="token", body=s.MelterPatch,
          validate_body=False, refuse=REFUSE, errors=(403, 409), answers={200: Answer("the device", s.MelterOut)})
def patch_melter(device_id: str):
    staff = require_token()
    try:
        return jsonify(melters_manage.update(get_db(), staff, device_id, _body(), request_lang()))
    except Refused as exc:
        return refused(exc)


@bp.delete("/api/melters/<device_id>")
@contract("Delete a device and its history", auth="token", errors=(403,), answers={204: Answer("deleted", media=None)})
def delete_melter(device_id: str):
    staff = require_token()
    try:
        melters_manage.remove(get_db(), staff, device_id)
    except Refused as exc:
        return refused(exc)
    log.info("melting device %s deleted by %s", device_id[:120], staff.email)
    return "", 204


@bp.get("/api/melters/<device_id>/states")
@contract("A device's state changes since then (default: the last 7 days)", auth="optional", query=s.StatesQuery,
          refuse=(400, "bad_time", "melter.bad_time"), answers={200: Answer("state changes", s.MelterStates)})
def melter_states(device_id: str):
    from sources.observed import parse_time

    since = None
    if request.args.get("since"):
        from timezones import JST

        since = parse_time(request.args["since"], bare=JST)
        if since is None:
            return error(400, "bad_time", "melter.bad_time", details=[{"since": request.args["since"][:100]}])
    try:
        return _private(jsonify(melters_manage.states(get_db(), current_staff(), device_id, since)))
    except Refused as exc:
        return refused(exc)
