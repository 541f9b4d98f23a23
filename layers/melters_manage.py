"""What staff and devices do with snow-melting devices — register, report a state, upload a device
list, change, delete — shared by the API (api/melters.py, `POST /api/readings`) and the staff page.
No Flask, no Dash; failures raise `refusal.Refused`.

Permission rule (the cameras' one): a device is seen by everyone when public and by its
organisation's staff and admins when private; anyone else gets "not found" (its existence is not
leaked). Only its organisation's staff and admins change it or report its state.
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from i18n import t
from layers.fields import Fields, number
from layers.melters import LAYER_ID, device_properties
from refusal import Refused
from store.db import Database, utcnow
from store.melters import (
    PRIVATE,
    PUBLIC,
    MeltingDevice,
    get_visible,
    history,
    new_device,
    normalise_state,
    posted_device,
    report_state,
    shown_id,
    state_counts,
    visible_devices,
)
from store.models import Layer, Organisation

FIELDS = {"id", "name", "name_en", "lon", "lat", "road", "visibility", "interval_s", "organisation", "state", "time"}
MAX_UPLOAD_DEVICES = 5000


def touch_layer(s) -> None:
    """The layer's version follows its devices (cached answers of the OGC API, catalogue)."""
    layer = s.get(Layer, LAYER_ID)
    if layer is not None:
        layer.version = (layer.version or 0) + 1
        layer.updated_at = utcnow()


def device_json(s, dev: MeltingDevice, now=None, staff=None) -> dict:
    now = now or utcnow()
    org = s.get(Organisation, dev.organisation_id)
    props = device_properties(dev, now)
    out = {"id": shown_id(dev), "name": dev.name_ja, "name_en": dev.name_en, "lon": dev.lon, "lat": dev.lat,
           "road": dev.road, "visibility": dev.visibility, "organisation": org.code if org else None,
           "origin": dev.origin, "interval_s": dev.interval_s, "state": dev.state or None,
           "state_since": props["since"], "reported_at": props["reported_at"], "stale": props["stale"],
           "age_minutes": props["age_min"]}
    if staff is not None and staff.may_manage(dev.organisation_id):
        out["note"] = dev.note
    return out


def _parse_time(value, lang: str, now: datetime) -> datetime | None:
    from sources.observed import parse_time, time_problem

    at = parse_time(value)
    if at is None or time_problem(at, now):
        return None
    return at.replace(microsecond=0) if at.microsecond else at


def clean(body, lang: str, partial: bool = False) -> dict:
    """The device fields of a request body, or Refused(400) naming every bad field."""
    if not isinstance(body, dict):
        raise Refused(400, "invalid_device", "melter.bad_json")
    f = Fields(body, "melter.field", lang, FIELDS, partial)
    if "id" in body and not partial:
        did = body.get("id")
        if not isinstance(did, str) or not re.fullmatch(r"[A-Za-z0-9_.:-]{1,120}", did):
            f.bad("id")
        else:
            f.values["id"] = did
    f.name()
    f.optional_text("name_en")
    f.optional_text("road")
    f.position(decimals=6)
    f.interval(30, 86400)
    f.visibility()
    f.organisation()
    if "state" in body:
        st = normalise_state(body.get("state"))
        if st is None:
            f.bad("state")
        else:
            f.values["state"] = st
    if "time" in body:
        at = _parse_time(body.get("time"), lang, utcnow())
        if at is None:
            f.bad("time")
        else:
            f.values["time"] = at
    return f.checked("invalid_device", "melter.invalid")


def _organisation_for(s, staff, code: str | None) -> int:
    if not code:
        return staff.organisation_id
    org = s.scalar(select(Organisation).where(Organisation.code == code))
    if org is None or not staff.may_manage(org.id):
        raise Refused(400, "invalid_device", "melter.invalid",
                      [{"field": "organisation", "message": t("melter.field.organisation")}])
    return org.id


def _editable(s, staff, device_id: str, organisation_id: int | None = None) -> MeltingDevice:
    dev = get_visible(s, device_id, staff, organisation_id)
    if dev is None:
        raise Refused(404, "not_found", "melter.not_found")
    if staff is None or not staff.may_manage(dev.organisation_id):
        raise Refused(403, "forbidden", "melter.forbidden")
    return dev


def get_device(db: Database, staff, device_id: str) -> dict:
    with db.session() as s:
        dev = get_visible(s, device_id, staff)
        if dev is None:
            raise Refused(404, "not_found", "melter.not_found")
        return device_json(s, dev, staff=staff)


def list_devices(db: Database, staff) -> dict:
    with db.session() as s:
        now = utcnow()
        devs = visible_devices(s, staff)
        return {"devices": [device_json(s, d, now, staff) for d in devs], "counts": state_counts(devs, now)}


def register(db: Database, staff, body, lang: str = "ja") -> dict:
    if staff is None:
        raise Refused(401, "unauthorized", "auth.api_unauthorized")
    values = clean(body, lang)
    with db.session() as s:
        org_id = _organisation_for(s, staff, values.pop("organisation", None))
        state, at = values.pop("state", None), values.pop("time", None)
        did = values.pop("id", None) or f"melter-{secrets.token_hex(4)}"
        if posted_device(s, did, org_id) is not None:
            # the organisation's own device has that id; another organisation's never counts
            raise Refused(409, "device_exists", "melter.exists")
        dev = new_device(s, s.get(Organisation, org_id).code, did, organisation_id=org_id, origin="staff", **values)
        s.flush()
        if state:
            report_state(s, dev, state, at or utcnow().replace(microsecond=0))
        touch_layer(s)
        s.flush()
        return device_json(s, dev, staff=staff)


def update(db: Database, staff, device_id: str, body, lang: str = "ja") -> dict:
    with db.session() as s:
        dev = _editable(s, staff, device_id)
        values = clean(body, lang, partial=True)
        if "organisation" in values:
            org_id = _organisation_for(s, staff, values.pop("organisation"))
            if posted_device(s, shown_id(dev), org_id) not in (None, dev):  # that organisation has the id
                raise Refused(409, "device_exists", "melter.exists")
            dev.organisation_id = org_id
        state, at = values.pop("state", None), values.pop("time", None)
        for key, value in values.items():
            setattr(dev, key, value)
        if state:
            report_state(s, dev, state, at or utcnow().replace(microsecond=0))
        touch_layer(s)
        s.flush()
        return device_json(s, dev, staff=staff)


def remove(db: Database, staff, device_id: str, organisation: str | None = None) -> None:
    """Delete a device and its history; `organisation` (a code) names whose device is meant when
    several are shown by that id (an admin's list), else the staff member's own comes first."""
    from sqlalchemy import delete

    from store.melters import MeltingStateChange

    with db.session() as s:
        org = s.scalar(select(Organisation.id).where(Organisation.code == organisation)) if organisation else None
        dev = _editable(s, staff, device_id, org)
        s.execute(delete(MeltingStateChange).where(MeltingStateChange.device_id == dev.id))
        s.delete(dev)
        touch_layer(s)


def states(db: Database, staff, device_id: str, since: datetime | None) -> dict:
    """The history of a device's state changes since then (default: the last 7 days)."""
    since = since or utcnow() - timedelta(days=7)
    with db.session() as s:
        dev = get_visible(s, device_id, staff)
        if dev is None:
            raise Refused(404, "not_found", "melter.not_found")
        return {"device": shown_id(dev), "changes": [{"state": c.state, "time": c.at.isoformat()}
                                               for c in history(s, dev.id, since)]}


# --- POST /api/readings: an item with a `state` instead of a `value` ---

def reading_item(s, staff, item: dict, now: datetime, lang: str) -> tuple[str, dict | None]:
    """One state report of `POST /api/readings`, in the caller's transaction.
    ("written" | "duplicate" | "created", None) or ("error", {"message", "reason"?})."""
    from sources.observed import parse_time, time_problem

    did = str(item.get("sensor_id") or "").strip()[:120]
    state = normalise_state(item.get("state"))
    at = parse_time(item.get("time"))
    if not did or state is None or at is None:
        return "error", {"message": t("melter.err.reading", lang)}
    reason = time_problem(at, now)
    if reason:
        return "error", {"reason": reason, "message": t(f"alerts.err.reading_{reason}", lang)}
    # only the poster's own organisation's devices answer to its ids: another organisation's id,
    # public or private, is free for it (its own device, shown by the id it posted)
    dev = posted_device(s, did, staff.organisation_id)
    created = False
    if dev is None:
        lon, lat = number(item.get("lon")), number(item.get("lat"))
        if lon is None or lat is None or not (-180 <= lon <= 180 and -90 <= lat <= 90):
            return "error", {"message": t("alerts.err.new_sensor", lang)}
        if not staff.may_manage(staff.organisation_id):  # a viewer changes nothing
            return "error", {"message": t("alerts.err.sensor_forbidden", lang)}
        name = str(item.get("name") or did)[:200]
        vis = item.get("visibility") if item.get("visibility") in (PUBLIC, PRIVATE) else PRIVATE
        dev = new_device(s, s.get(Organisation, staff.organisation_id).code, did,
                         organisation_id=staff.organisation_id, name_ja=name,
                         name_en=str(item.get("name_en") or name)[:200], lon=round(lon, 6), lat=round(lat, 6),
                         road=str(item.get("road") or "")[:200], visibility=vis, origin="api")
        s.flush()
        created = True
    elif not staff.may_manage(dev.organisation_id):
        return "error", {"message": t("alerts.err.sensor_forbidden", lang)}
    wrote = report_state(s, dev, state, at)
    touch_layer(s)
    return ("created" if created else "written" if wrote else "duplicate"), None


def is_state_item(item) -> bool:
    return isinstance(item, dict) and "state" in item and "value" not in item


# --- device lists from uploads ---

def upload_devices(db: Database, staff, raw: bytes, filename: str, visibility: str, lang: str = "ja") -> dict:
    """Add or update the devices of an uploaded list (CSV with lat/lon, GeoJSON, KML points) in the
    uploader's organisation; a row's state (状態: 稼働中 / 停止 / 故障) is reported too."""
    from layers.org_items import read_uploaded_list
    from sources.melters import device_rows

    result, feats = read_uploaded_list(staff, raw, filename, visibility, MAX_UPLOAD_DEVICES, "invalid_device",
                                       "melter.field.visibility", "too_many_devices", "melter.err.too_many")
    now = utcnow().replace(microsecond=0)
    with db.session() as s:
        org = s.get(Organisation, staff.organisation_id)
        rows, problems = device_rows(feats, f"{org.code}-melter")
        added = updated = reported = 0
        for row in rows:  # by the ids the organisation knows its devices by; others' ids are free
            dev = posted_device(s, row.id, staff.organisation_id)
            if dev is None:
                dev = new_device(s, org.code, row.id, organisation_id=staff.organisation_id, origin="upload")
                added += 1
            else:
                updated += 1
            dev.name_ja, dev.name_en, dev.lon, dev.lat = row.name_ja, row.name_en, row.lon, row.lat
            dev.road, dev.visibility = row.road, visibility
            s.flush()
            if row.state:
                reported += report_state(s, dev, row.state, row.observed_at or now)
        touch_layer(s)
    problems = problems + [{"row": p.row, "reason": p.key.split(".")[-1]} for p in result.problems]
    for p in problems:
        p["message"] = t(f"melter.upload.{p['reason']}", lang) if p["reason"] in (
            "not_point", "duplicate_id", "bad_state", "taken") else t("melter.upload.skipped", lang)
    return {"added": added, "updated": updated, "states": reported, "problems": problems[:200],
            "problem_count": len(problems)}


def manageable(db: Database, staff) -> list[dict]:
    """The devices this person may change: their organisation's (admins: all)."""
    from layers import org_items

    return org_items.manageable(db, staff, MeltingDevice, (MeltingDevice.organisation_id, MeltingDevice.id),
                                lambda s, d, now: device_json(s, d, now, staff))
