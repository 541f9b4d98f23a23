"""The staff API: Bearer tokens only (`Authorization: Bearer <token>`).

POST   /api/layers                   multipart: file, name, visibility, group [, name_en, crs, lat_column,
                                     lon_column, on_invalid=skip, description, license, attribution]
PUT    /api/layers/<id>/data         multipart: file [, crs, lat_column, lon_column, on_invalid=skip]
PATCH  /api/layers/<id>              JSON: settings (name_ja, name_en, group, visibility, color, shape, popup, …)
DELETE /api/layers/<id>
POST   /api/layers/<id>/rollback     back to the previous data
GET    /api/layers/<id>/download.geojson | download.csv   (anyone for public layers)
GET    /api/openapi.json

Errors: {"error": code, "message": text, "details": [...]} with 400/401/403/404/413/415/422.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from api import schemas as s
from api.contract import CSV, GEOJSON, Answer, contract, read_body
from api.errors import error, request_lang
from auth import current_staff, require_token
from layers.manage import (
    Refused,
    UploadOptions,
    change_settings,
    check_file,
    layer_csv,
    layer_for_edit,
    layer_info,
    publish,
    remove,
    replace,
    roll_back,
)
from store.db import get_db
from store.features import feature_collection_bytes
from store.layers import get_visible_layer
from store.models import PUBLIC
from store.users import organisation_by_code

log = logging.getLogger(__name__)
bp = Blueprint("staff_api", __name__)
# a form that does not fit: no file is `no_file`, as before; any other field `bad_request`
UPLOAD_REFUSE = {"file": (400, "no_file", "upload.no_file"), "*": (400, "bad_request", "contract.invalid_request")}
# what an upload can be refused with, beyond the declaration's own statuses
UPLOAD_ERRORS = (403, 415, (422, "Unplaceable rows (`details` lists them), or virus_found: the virus scanner found a "
                              "virus (CLAMD_URL); nothing was stored"),
                 (503, "The virus scanner (CLAMD_URL) cannot be reached; nothing was stored"))


def _settings():
    return current_app.extensions["ishikawa.settings"]


def _max_bytes() -> int:
    return _settings().upload_max_mb * 1024 * 1024


def refused(exc: Refused):
    return error(exc.status, exc.code, exc.message_key, exc.details, **exc.fmt)


def _file():
    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        raise Refused(413, "too_large", "upload.too_large", limit=_settings().upload_max_mb) from None
    if upload is None:
        raise Refused(400, "no_file", "upload.no_file")
    return upload.filename or "", upload.read(_max_bytes() + 1)


def _options() -> UploadOptions:
    on_invalid = request.form.get("on_invalid", "")
    if on_invalid not in ("", "skip", "fail"):
        raise Refused(400, "bad_request", "api.bad_on_invalid")
    return UploadOptions(crs=request.form.get("crs") or None, lat_column=request.form.get("lat_column") or None,
                         lon_column=request.form.get("lon_column") or None, skip_invalid=on_invalid == "skip")


@bp.errorhandler(Refused)
def _on_refused(exc: Refused):
    return refused(exc)


@bp.post("/api/layers")
@contract("Upload a file as a new layer", auth="token", form=s.NewLayerForm,
          refuse=UPLOAD_REFUSE, errors=UPLOAD_ERRORS,
          answers={201: Answer("created", s.Created)})
def create_layer():
    staff = require_token()
    form = request.form
    filename, raw = _file()
    visibility = form.get("visibility", "")
    if visibility not in ("public", "private"):
        raise Refused(400, "bad_request", "layers.bad_visibility")
    if not form.get("name", "").strip():
        raise Refused(400, "bad_request", "layers.need_name")
    if not form.get("group", "").strip():
        raise Refused(400, "bad_request", "layers.bad_group", group="")
    org_id = None
    if form.get("organisation"):
        db = get_db()
        with db.session() as s:
            org = organisation_by_code(s, form["organisation"])
            org_id = org.id if org else None
        if org_id is None:
            raise Refused(400, "bad_request", "layers.bad_organisation")
        if not staff.may_manage(org_id):
            raise Refused(403, "forbidden", "layers.forbidden")
    outcome = publish(get_db(), staff, raw, filename, _options(), {
        "name_ja": form.get("name"), "name_en": form.get("name_en"), "group": form.get("group"),
        "visibility": visibility, "organisation_id": org_id, "description_ja": form.get("description"),
        "license": form.get("license"), "attribution_ja": form.get("attribution")}, _max_bytes(), request_lang(),
        clamd_url=_settings().clamd_url)
    log.info("layer %s created by %s from %s (%d features, %d skipped)", outcome.layer_id, staff.email, filename,
             outcome.feature_count, len(outcome.skipped))
    return jsonify({"id": outcome.layer_id, "feature_count": outcome.feature_count, "skipped": outcome.skipped,
                    "skipped_count": outcome.result.problem_count, "format": outcome.result.format,
                    "crs": f"EPSG:{outcome.result.crs}", "url": f"/api/layers/{outcome.layer_id}/features"}), 201


@bp.put("/api/layers/<layer_id>/data")
@contract("Replace a layer's data (the previous data is kept for rollback)", auth="token",
          form=s.UploadOptions, refuse=UPLOAD_REFUSE,
          errors=UPLOAD_ERRORS, answers={200: Answer("replaced", s.Replaced)})
def replace_data(layer_id: str):
    staff = require_token()
    with get_db().session() as s:
        layer_for_edit(s, staff, layer_id)
    filename, raw = _file()
    outcome = replace(get_db(), staff, layer_id, raw, filename, _options(), _max_bytes(), request_lang(),
                      clamd_url=_settings().clamd_url)
    log.info("layer %s data replaced by %s from %s", layer_id, staff.email, filename)
    return jsonify({"id": layer_id, "feature_count": outcome.feature_count, "skipped": outcome.skipped,
                    "skipped_count": outcome.result.problem_count})


@bp.patch("/api/layers/<layer_id>")
@contract("Change a layer's settings", auth="token", body=s.LayerSettings, validate_body=False,
          refuse=(400, "bad_request", "contract.invalid_request"), errors=(403,),
          answers={200: Answer("the layer's settings", s.LayerInfo)})
def patch_layer(layer_id: str):
    staff = require_token()
    with get_db().session() as s:  # who may touch the layer first: 404/403 before any other answer
        layer_for_edit(s, staff, layer_id)
    read_body(patch_layer.contract)  # the declared shape, once the layer is known to be the caller's to see
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not body:
        raise Refused(400, "bad_request", "api.bad_json_body")
    if "name" in body:  # the same word as POST
        body["name_ja"] = body.pop("name")
    info = change_settings(get_db(), staff, layer_id, body)
    log.info("layer %s settings changed by %s: %s", layer_id, staff.email, ", ".join(sorted(body)))
    return jsonify(info)


@bp.delete("/api/layers/<layer_id>")
@contract("Delete a layer", auth="token", errors=(403,), answers={204: Answer("deleted", media=None)})
def delete_layer(layer_id: str):
    staff = require_token()
    remove(get_db(), staff, layer_id)
    log.info("layer %s deleted by %s", layer_id, staff.email)
    return Response(status=204)


@bp.post("/api/layers/<layer_id>/rollback")
@contract("Back to the previous data", auth="token", errors=(403, 409),
          answers={200: Answer("rolled back", s.Replaced)})
def rollback(layer_id: str):
    staff = require_token()
    count = roll_back(get_db(), staff, layer_id)
    return jsonify({"id": layer_id, "feature_count": count})


def _download_layer(s, layer_id: str):
    layer = get_visible_layer(s, layer_id, current_staff())
    if layer is None or layer.kind in ("hazard_tiles",):
        raise Refused(404, "not_found", "api.not_found")
    return layer


def _download_headers(resp: Response, layer, ext: str) -> Response:
    resp.headers["Content-Disposition"] = f'attachment; filename="{layer.id}.{ext}"'
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "public, max-age=60" if layer.visibility == PUBLIC else "private, no-store"
    return resp


@bp.get("/api/layers/<layer_id>/download.geojson")
@contract("Download as GeoJSON", auth="optional", answers={200: Answer("GeoJSON file", None, GEOJSON)})
def download_geojson(layer_id: str):
    with get_db().session() as s:
        layer = _download_layer(s, layer_id)
        body = feature_collection_bytes(s, layer.id)
        return _download_headers(Response(body, mimetype="application/geo+json"), layer, "geojson")


@bp.get("/api/layers/<layer_id>/download.csv")
@contract("Download as CSV (UTF-8 with BOM; formula cells neutralised)", auth="optional",
          answers={200: Answer("CSV file", None, CSV)})
def download_csv(layer_id: str):
    with get_db().session() as s:
        layer = _download_layer(s, layer_id)
        body = layer_csv(s, layer)
        return _download_headers(Response(body, mimetype="text/csv; charset=utf-8"), layer, "csv")


@bp.get("/api/layers/<layer_id>/info")
@contract("A layer's settings, for staff who may see it", auth="optional",
          answers={200: Answer("settings", s.LayerInfo)})
def staff_layer_info(layer_id: str):
    """Settings of a layer, for staff who may see it (404 otherwise)."""
    with get_db().session() as s:
        layer = get_visible_layer(s, layer_id, current_staff())
        if layer is None or current_staff() is None:
            raise Refused(404, "not_found", "api.not_found")
        return jsonify(layer_info(layer))


@bp.post("/staff/upload/file")
def stage_file():
    """The staff pages send a file here (session cookie + X-CSRF-Token header, with a progress bar);
    it is kept for the preview and the publish step, readable only by its uploader."""
    from auth import csrf_ok
    from store import staging

    staff = current_staff()
    if staff is None:
        raise Refused(401, "unauthorized", "auth.page_unauthorized")
    if not csrf_ok(request.headers.get("X-CSRF-Token")):
        raise Refused(400, "bad_request", "auth.csrf")
    filename, raw = _file()
    if not raw:
        raise Refused(422, "empty_file", "upload.empty")
    check_file(raw, filename, _max_bytes(), _settings().clamd_url, who=staff.email)  # size, virus scan
    token = staging.save(_settings().instance_path, staff.id, filename, raw)
    return jsonify({"token": token, "filename": filename, "size": len(raw)})


@bp.get("/api/openapi.json")
@contract("This description", answers={200: Answer("OpenAPI 3.1", {"type": "object"})})
def openapi():
    from api.openapi import spec

    return jsonify(spec(current_app))


def too_large_handler(exc):
    """413 as JSON for /api/ (the form parser raises before any view runs)."""
    if request.path.startswith("/api/"):
        return error(413, "too_large", "upload.too_large", limit=_settings().upload_max_mb)
    return exc
