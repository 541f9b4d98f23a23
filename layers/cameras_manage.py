"""What staff do with cameras — register, change, delete — shared by the API (api/cameras.py) and
the staff page. No Flask, no Dash; failures raise `refusal.Refused`.

Permission rule (one place): a camera is seen by everyone when public, and by its organisation's
staff and admins when private; anyone else gets "not found" (404, its existence not leaked). Only
its organisation's editors and admins change it; another organisation's public camera is 403.
"""
from __future__ import annotations

import re
import secrets
from pathlib import Path

from i18n import t
from layers import org_items
from layers.fields import Fields
from refusal import Refused
from store import audit
from store.cameras import (
    DEFAULT_INTERVAL_S,
    MIN_INTERVAL_S,
    Camera,
    cameras_folder,
    delete_camera,
    get_visible,
    is_stale,
    latest_image,
)
from store.db import Database, utcnow
from store.models import Layer, Organisation

LAYER_ID = "cameras"  # the built-in layer that shows them
MAX_INTERVAL_S = 86400
FIELDS = {"name", "name_en", "lon", "lat", "url", "interval_s", "visibility", "organisation"}


def _audited(cam: Camera) -> dict:
    """What the audit log keeps of a camera; its URL without user, password or query (they may hold secrets)."""
    from urllib.parse import urlsplit

    out = audit.snapshot(cam, ("name_ja", "name_en", "organisation_id", "lon", "lat", "interval_s", "visibility"))
    try:
        u = urlsplit(cam.url or "")
        out["url"] = f"{u.scheme}://{u.hostname or ''}{f':{u.port}' if u.port else ''}{u.path}" if u.scheme else ""
    except ValueError:
        out["url"] = ""
    return out


def clean(body, lang: str, partial: bool = False, allowed_hosts: list[str] | None = None) -> dict:
    """The camera fields of a request body, or Refused(400) naming every bad field."""
    if not isinstance(body, dict):
        raise Refused(400, "invalid_camera", "camera.bad_json")
    f = Fields(body, "camera.field", lang, FIELDS, partial)
    f.name()
    f.optional_text("name_en")
    f.position(decimals=7)
    if f.asked("url"):
        url = body.get("url")
        if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url.strip()) or len(url) > 2000:
            f.bad("url")
        else:
            from sources.url_guard import UrlRefused, check_url

            try:
                check_url(url.strip(), allowed_hosts)
            except UrlRefused as exc:
                f.bad("url", "url_refused", reason=str(exc))
            else:
                f.values["url"] = url.strip()
    f.interval(MIN_INTERVAL_S, MAX_INTERVAL_S, default=DEFAULT_INTERVAL_S)
    f.visibility()
    f.organisation()
    return f.checked("invalid_camera", "camera.invalid")


def camera_json(s, cam: Camera, now=None, staff=None) -> dict:
    """What anyone who may see the camera is told; its snapshot URL (which may carry a key) and
    its last error only to those who may change it."""
    img = latest_image(s, cam.id)
    org = s.get(Organisation, cam.organisation_id)
    out = {
        "id": cam.id, "name": cam.name_ja, "name_en": cam.name_en, "lon": cam.lon, "lat": cam.lat,
        "interval_s": cam.interval_s, "visibility": cam.visibility, "demo": cam.demo,
        "organisation": org.code if org else None,
        "last_ok_at": cam.last_ok_at.isoformat() if cam.last_ok_at else None,
        "last_error": cam.last_error or None,
        "stale": is_stale(cam, now),
        "latest": ({"taken_at": img.taken_at.isoformat(), "width": img.width, "height": img.height,
                    "url": f"/api/cameras/{cam.id}/latest.jpg", "thumb_url": f"/api/cameras/{cam.id}/thumb.jpg"}
                   if img else None),
    }
    if staff is None or not staff.may_manage(cam.organisation_id):
        out.pop("last_error")
    else:
        out["url"] = cam.url
    return out


def _touch_layer(s) -> None:
    """The camera layer's version follows its cameras (cached answers of the OGC API, catalogue)."""
    layer = s.get(Layer, LAYER_ID)
    if layer is not None:
        layer.version = (layer.version or 0) + 1
        layer.updated_at = utcnow()


def _slug(name_en: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", (name_en or "").lower()).strip("-")[:40]
    return f"{base or 'cam'}-{secrets.token_hex(3)}"


def _organisation_for(s, staff, code: str | None) -> int:
    if not code:
        if not staff.may_manage(staff.organisation_id):  # a viewer changes nothing
            raise Refused(403, "forbidden", "perm.forbidden")
        return staff.organisation_id
    org = s.query(Organisation).filter_by(code=code).one_or_none()
    if org is None or not staff.may_manage(org.id):
        raise Refused(400, "invalid_camera", "camera.invalid",
                      [{"field": "organisation", "message": t("camera.field.organisation")}])
    return org.id


def get_camera(db: Database, staff, camera_id: str) -> dict:
    with db.session() as s:
        cam = get_visible(s, camera_id, staff)
        if cam is None:
            raise Refused(404, "not_found", "camera.not_found")
        return camera_json(s, cam, staff=staff)


def register(db: Database, staff, body, lang: str = "ja", allowed_hosts: list[str] | None = None) -> dict:
    if staff is None:
        raise Refused(401, "unauthorized", "auth.api_unauthorized")
    values = clean(body, lang, allowed_hosts=allowed_hosts)
    with db.session() as s:
        org_id = _organisation_for(s, staff, values.pop("organisation", None))
        cam = Camera(id=_slug(values.get("name_en", "")), organisation_id=org_id, **values)
        s.add(cam)
        _touch_layer(s)
        s.flush()
        audit.record(s, staff, "camera.create", f"camera:{cam.id}", cam.name_ja, cam.organisation_id,
                     changes=audit.diff({}, _audited(cam)))
        return camera_json(s, cam, staff=staff)


def _editable(s, staff, camera_id: str) -> Camera:
    cam = get_visible(s, camera_id, staff)
    if cam is None:
        raise Refused(404, "not_found", "camera.not_found")
    if staff is None or not staff.may_manage(cam.organisation_id):
        raise Refused(403, "forbidden", "camera.forbidden")
    return cam


def update(db: Database, staff, camera_id: str, body, lang: str = "ja",
           allowed_hosts: list[str] | None = None) -> tuple[dict, bool]:
    """(the camera, whether its URL changed: then fetch it again now)."""
    with db.session() as s:
        cam = _editable(s, staff, camera_id)
        values = clean(body, lang, partial=True, allowed_hosts=allowed_hosts)
        before = _audited(cam)
        if "organisation" in values:
            cam.organisation_id = _organisation_for(s, staff, values.pop("organisation"))
        url_changed = "url" in values and values["url"] != cam.url
        for key, value in values.items():
            setattr(cam, key, value)
        if url_changed:
            cam.last_attempt_at = None
        _touch_layer(s)
        s.flush()
        audit.record(s, staff, "camera.update", f"camera:{cam.id}", cam.name_ja, cam.organisation_id,
                     changes=audit.diff(before, _audited(cam)))
        return camera_json(s, cam, staff=staff), url_changed and not cam.demo


def remove(db: Database, staff, camera_id: str, instance_path: Path) -> None:
    with db.session() as s:
        cam = _editable(s, staff, camera_id)
        audit.record(s, staff, "camera.delete", f"camera:{cam.id}", cam.name_ja, cam.organisation_id)
        delete_camera(s, cameras_folder(instance_path), cam)
        _touch_layer(s)


def manageable(db: Database, staff) -> list[dict]:
    """The cameras this person may change: their organisation's (admins: all)."""
    return org_items.manageable(db, staff, Camera, (Camera.organisation_id, Camera.id),
                                lambda s, cam, now: camera_json(s, cam, now, staff))
