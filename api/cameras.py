"""`/api/cameras` — cameras and their snapshots.

GET    /api/cameras                         public cameras, plus the caller's organisation's private ones
POST   /api/cameras                         register one (staff token; 201), its first snapshot fetched at once
GET    /api/cameras/<id>                    one camera
PATCH  /api/cameras/<id>                    change fields (token)
DELETE /api/cameras/<id>                    remove it and its snapshots (token; 204)
GET    /api/cameras/<id>/images?since=      its snapshots since then (default: the last 24 h), oldest first
GET    /api/cameras/<id>/latest.jpg         the newest snapshot (re-encoded JPEG); /thumb.jpg its thumbnail
GET    /api/cameras/<id>/images/<n>.jpg     one snapshot; /images/<n>/thumb.jpg its thumbnail

A private camera is 404 on every route for anyone but its organisation's staff and admins.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import orjson
from flask import Blueprint, Response, current_app, jsonify, request

from api import schemas as s
from api.contract import JPEG, Answer, contract
from api.errors import error, refused, request_lang
from auth import current_staff, require_token
from layers import cameras_manage
from refusal import Refused
from sources.cameras import fetch_soon, parse_hosts
from store.cameras import CameraImage, cameras_folder, get_visible, images_since, latest_image, visible_cameras
from store.db import get_db, utcnow

log = logging.getLogger(__name__)
bp = Blueprint("cameras_api", __name__)
REFUSE = (400, "invalid_camera", "camera.invalid")  # a body that does not fit: as the other camera refusals


def _settings():
    return current_app.extensions["ishikawa.settings"]


def _hosts() -> list[str]:
    return parse_hosts(_settings().source_hosts)


def _body():
    try:
        return orjson.loads(request.get_data() or b"null")
    except orjson.JSONDecodeError:
        return None


@bp.get("/api/cameras")
@contract("Public cameras, plus the caller's organisation's private ones", auth="optional",
          answers={200: Answer("cameras", s.CameraList)})
def list_cameras():
    staff = current_staff()
    db = get_db()
    with db.session() as s:
        now = utcnow()
        body = [cameras_manage.camera_json(s, cam, now, staff) for cam in visible_cameras(s, staff)]
    resp = jsonify({"cameras": body})
    resp.headers["Cache-Control"] = "private, no-cache"
    resp.headers["Vary"] = "Cookie, Authorization"
    return resp


@bp.post("/api/cameras")
@contract("Register a camera (its first snapshot is fetched at once)", auth="token", body=s.CameraNew,
          refuse=REFUSE, errors=(403,), answers={201: Answer("registered", s.CameraOut)})
def create_camera():
    staff = require_token()
    try:
        cam = cameras_manage.register(get_db(), staff, _body(), request_lang(), _hosts())
    except Refused as exc:
        log.info("camera refused for %s: %s %s", staff.email, exc.code, exc.details)
        return refused(exc)
    log.info("camera %s registered by %s", cam["id"], staff.email)
    fetch_soon(get_db(), cameras_folder(_settings().instance_path), cam["id"], _hosts())
    return jsonify(cam), 201


@bp.get("/api/cameras/<camera_id>")
@contract("One camera", auth="optional", answers={200: Answer("the camera", s.CameraOut)})
def get_camera(camera_id: str):
    try:
        return jsonify(cameras_manage.get_camera(get_db(), current_staff(), camera_id))
    except Refused as exc:
        return refused(exc)


@bp.patch("/api/cameras/<camera_id>")
@contract("Change a camera", auth="token", body=s.CameraPatch, refuse=REFUSE, errors=(403,),
          answers={200: Answer("the camera", s.CameraOut)})
def patch_camera(camera_id: str):
    staff = require_token()
    try:
        cam, refetch = cameras_manage.update(get_db(), staff, camera_id, _body(), request_lang(), _hosts())
    except Refused as exc:
        log.info("camera %s change refused for %s: %s", camera_id[:80], staff.email, exc.code)
        return refused(exc)
    if refetch:
        fetch_soon(get_db(), cameras_folder(_settings().instance_path), cam["id"], _hosts())
    return jsonify(cam)


@bp.delete("/api/cameras/<camera_id>")
@contract("Delete a camera and its snapshots", auth="token", errors=(403,),
          answers={204: Answer("deleted", media=None)})
def delete_camera(camera_id: str):
    staff = require_token()
    try:
        cameras_manage.remove(get_db(), staff, camera_id, _settings().instance_path)
    except Refused as exc:
        return refused(exc)
    log.info("camera %s deleted by %s", camera_id, staff.email)
    return "", 204


def _not_found():
    return error(404, "not_found", "camera.not_found")


@bp.get("/api/cameras/<camera_id>/images")
@contract("Snapshots since then (default: the last 24 h)", auth="optional", query=s.SinceQuery,
          refuse=(400, "bad_time", "camera.bad_time"), answers={200: Answer("snapshots", s.CameraImages)})
def camera_images(camera_id: str):
    from api.public import parse_time

    try:
        since = parse_time(request.args.get("since"), utcnow() - timedelta(hours=24))
    except ValueError:
        return error(400, "bad_time", "camera.bad_time", details=[{"since": request.args.get("since", "")[:100]}])
    with get_db().session() as s:
        cam = get_visible(s, camera_id, current_staff())
        if cam is None:
            return _not_found()
        rows = images_since(s, cam.id, since)
        body = {"camera": cam.id, "images": [
            {"id": img.id, "taken_at": img.taken_at.isoformat(), "width": img.width, "height": img.height,
             "bytes": img.bytes, "url": f"/api/cameras/{cam.id}/images/{img.id}.jpg",
             "thumb_url": f"/api/cameras/{cam.id}/images/{img.id}/thumb.jpg"} for img in rows]}
        public = cam.visibility == "public"
    resp = jsonify(body)
    resp.headers["Cache-Control"] = "public, max-age=30" if public else "private, no-cache"
    return resp


def _send(cam_public: bool, rel: str, max_age: int):
    folder = cameras_folder(_settings().instance_path).resolve()
    path = (folder / rel).resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        return error(404, "not_found", "camera.no_image")
    resp = Response(Path(path).read_bytes(), mimetype="image/jpeg")
    if cam_public:
        resp.headers["Cache-Control"] = f"public, max-age={max_age}"
    else:
        resp.headers["Cache-Control"] = "private, no-cache"
        resp.headers["Vary"] = "Cookie, Authorization"
    return resp


def _image(camera_id: str, image_id: int | None, thumb: bool):
    with get_db().session() as s:
        cam = get_visible(s, camera_id, current_staff())
        if cam is None:
            return _not_found()
        if image_id is None:
            img = latest_image(s, cam.id)
        else:
            img = s.get(CameraImage, image_id) if 0 < image_id < 2 ** 62 else None
            img = img if img is not None and img.camera_id == cam.id else None
        if img is None:
            return error(404, "not_found", "camera.no_image")
        rel, public = (img.thumb_path if thumb else img.path), cam.visibility == "public"
    # the latest changes with every snapshot; a numbered one never changes
    return _send(public, rel, 30 if image_id is None else 86400)


@bp.get("/api/cameras/<camera_id>/latest.jpg")
@contract("The newest snapshot", auth="optional", answers={200: Answer("JPEG", None, JPEG)})
def latest_jpg(camera_id: str):
    return _image(camera_id, None, False)


@bp.get("/api/cameras/<camera_id>/thumb.jpg")
@contract("The newest snapshot's thumbnail", auth="optional", answers={200: Answer("JPEG", None, JPEG)})
def latest_thumb(camera_id: str):
    return _image(camera_id, None, True)


@bp.get("/api/cameras/<camera_id>/images/<int:image_id>.jpg")
@contract("One snapshot", auth="optional", answers={200: Answer("JPEG", None, JPEG)})
def image_jpg(camera_id: str, image_id: int):
    return _image(camera_id, image_id, False)


@bp.get("/api/cameras/<camera_id>/images/<int:image_id>/thumb.jpg")
@contract("One snapshot's thumbnail", auth="optional", answers={200: Answer("JPEG", None, JPEG)})
def image_thumb(camera_id: str, image_id: int):
    return _image(camera_id, image_id, True)
