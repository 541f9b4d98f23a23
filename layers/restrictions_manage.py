"""What staff do with road restrictions — upload a list, add one, delete — and what anyone may read,
shared by the API (api/restrictions.py) and the staff page. No Flask, no Dash; failures raise
`refusal.Refused`.

Permission rule (the cameras' one): public restrictions for everyone, private ones for their
organisation's staff and admins; anyone else gets "not found". Only the organisation's staff and
admins change them.
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy import delete, select

from i18n import t
from layers import org_items
from layers.restrictions import LAYER_ID, restriction_properties
from refusal import Refused
from store.db import Database, utcnow
from store.models import Layer, Organisation
from store.restrictions import PRIVATE, PUBLIC, RoadRestriction, get_visible, kind_of_text, put, visible_restrictions

MAX_ROWS = 20000
FIELDS = {"id", "type", "road", "section", "reason", "start", "end", "geometry", "visibility", "source"}
UPLOAD_REASONS = ("bad_geometry", "no_type", "bad_start", "bad_end", "ends_before_start", "duplicate_id", "taken")


def touch_layer(s) -> None:
    layer = s.get(Layer, LAYER_ID)
    if layer is not None:
        layer.version = (layer.version or 0) + 1
        layer.updated_at = utcnow()


def restriction_json(s, r: RoadRestriction, now=None, orgs: dict | None = None) -> dict:
    props = restriction_properties(r, now or utcnow())
    org = (orgs or {}).get(r.organisation_id) or s.get(Organisation, r.organisation_id)
    return {"id": r.id, "type": r.kind, "type_text": r.kind_text, "road": r.road, "section": r.section,
            "reason": r.reason, "start": props["start"], "end": props["end"], "in_force": props["in_force"],
            "source": r.source, "origin": r.origin, "visibility": r.visibility,
            "organisation": org.code if org else None, "geometry": r.geometry_dict()}


def list_restrictions(db: Database, staff, at: datetime | None = None, bbox=None) -> dict:
    """Those the viewer may see: in force at `at` when given, else all (past, present and future)."""
    with db.session() as s:
        now = utcnow()
        orgs = {o.id: o for o in s.scalars(select(Organisation))}
        rows = visible_restrictions(s, staff, bbox, at)
        return {"restrictions": [restriction_json(s, r, now, orgs) for r in rows],
                "at": at.isoformat() if at else None}


def get_restriction(db: Database, staff, rid: str) -> dict:
    with db.session() as s:
        r = get_visible(s, rid, staff)
        if r is None:
            raise Refused(404, "not_found", "restriction.not_found")
        return restriction_json(s, r)


def _check_geometry(geom) -> str | None:
    from sources.restrictions import geometry_problem

    if not isinstance(geom, dict):
        return "restriction.field.geometry"
    return "restriction.field.geometry" if geometry_problem(geom) else None


def create(db: Database, staff, body, lang: str = "ja") -> dict:
    from sources.restrictions import parse_when

    if staff is None:
        raise Refused(401, "unauthorized", "auth.api_unauthorized")
    if not isinstance(body, dict):
        raise Refused(400, "invalid_restriction", "restriction.bad_json")
    errors = []

    def bad(field, key):
        errors.append({"field": field, "message": t(key, lang)})

    for key in body:
        if key not in FIELDS:
            bad(str(key)[:60], "restriction.field.unknown")
    kind_text = body.get("type")
    if not isinstance(kind_text, str) or not kind_text.strip() or len(kind_text) > 100:
        bad("type", "restriction.field.type")
    for field, limit in (("road", 200), ("section", 300), ("reason", 300), ("source", 300)):
        if field in body and (not isinstance(body[field], str) or len(body[field]) > limit):
            bad(field, "restriction.field.text")
    times = {}
    for field in ("start", "end"):
        value = body.get(field)
        if value is not None and not isinstance(value, str):
            bad(field, "restriction.field.time")
            continue
        times[field], ok = parse_when(value)
        if not ok:
            bad(field, "restriction.field.time")
    if times.get("start") and times.get("end") and times["end"] <= times["start"]:
        bad("end", "restriction.field.end_before_start")
    if _check_geometry(body.get("geometry")):
        bad("geometry", "restriction.field.geometry")
    vis = body.get("visibility", PUBLIC)
    if vis not in (PUBLIC, PRIVATE):
        bad("visibility", "restriction.field.visibility")
    rid = body.get("id")
    if rid is not None and (not isinstance(rid, str) or not re.fullmatch(r"[A-Za-z0-9_.:-]{1,120}", rid)):
        bad("id", "restriction.field.id")
    if errors:
        raise Refused(400, "invalid_restriction", "restriction.invalid", errors)
    with db.session() as s:
        rid = rid or f"r-{secrets.token_hex(5)}"
        if s.get(RoadRestriction, rid) is not None:
            raise Refused(409, "restriction_exists", "restriction.exists")
        r = RoadRestriction(id=rid, organisation_id=staff.organisation_id, visibility=vis,
                            kind=kind_of_text(kind_text), kind_text=kind_text.strip(),
                            road=(body.get("road") or "").strip(), section=(body.get("section") or "").strip(),
                            reason=(body.get("reason") or "").strip(), starts_at=times.get("start"),
                            ends_at=times.get("end"), source=(body.get("source") or "").strip(), origin="api")
        r = put(s, r, body["geometry"])
        touch_layer(s)
        s.flush()
        return restriction_json(s, r)


def upload(db: Database, staff, raw: bytes, filename: str, visibility: str, replace: bool = True,
           lang: str = "ja") -> dict:
    """Restrictions from a file (CSV with lat/lon, GeoJSON, KML…) in the uploader's organisation.
    replace: the restrictions an earlier upload of a file of the same name brought are removed first
    (a fresh list from 石川みち情報ネット replaces yesterday's)."""
    from sources.restrictions import restriction_rows

    result, feats = org_items.read_uploaded_list(staff, raw, filename, visibility, MAX_ROWS, "invalid_restriction",
                                                 "restriction.field.visibility", "too_many_restrictions",
                                                 "restriction.too_many")
    source = (filename or "upload")[:200]
    with db.session() as s:
        org = s.get(Organisation, staff.organisation_id)
        rows, problems = restriction_rows(feats, f"{org.code}-r", source)
        if not rows and not result.problem_count and problems and all(p["reason"] == "no_type" for p in problems):
            raise Refused(422, "no_type_column", "restriction.no_type_column")
        removed = 0
        if replace:
            removed = s.execute(delete(RoadRestriction).where(
                RoadRestriction.organisation_id == staff.organisation_id, RoadRestriction.origin == "upload",
                RoadRestriction.source == source)).rowcount or 0
        stored = 0
        for row in rows:
            old = s.get(RoadRestriction, row.id)
            if old is not None and old.organisation_id != staff.organisation_id:
                problems.append({"row": row.row, "reason": "taken"})
                continue
            put(s, RoadRestriction(id=row.id, organisation_id=staff.organisation_id, visibility=visibility,
                                   kind=row.kind, kind_text=row.kind_text, road=row.road, section=row.section,
                                   reason=row.reason, starts_at=row.starts_at, ends_at=row.ends_at,
                                   source=row.source, origin="upload"), row.geometry)
            stored += 1
        touch_layer(s)
        now = utcnow()
        in_force = sum(1 for row in rows if (row.starts_at is None or row.starts_at <= now)
                       and (row.ends_at is None or row.ends_at > now))
    problems = sorted(problems, key=lambda p: p["row"])
    out = [{"row": p["row"], "reason": p["reason"], "message": t(f"restriction.upload.{p['reason']}", lang)}
           for p in problems[:200] if p["reason"] in UPLOAD_REASONS]
    out += [p.as_dict(lang) for p in result.problems[:50]]
    return {"stored": stored, "in_force": in_force, "replaced": removed, "problems": out,
            "problem_count": len(problems) + result.problem_count}


def remove(db: Database, staff, rid: str) -> None:
    with db.session() as s:
        r = get_visible(s, rid, staff)
        if r is None:
            raise Refused(404, "not_found", "restriction.not_found")
        if staff is None or not staff.may_manage(r.organisation_id):
            raise Refused(403, "forbidden", "restriction.forbidden")
        s.delete(r)
        touch_layer(s)


def manageable(db: Database, staff) -> list[dict]:
    """The restrictions this person may change: their organisation's (admins: all)."""
    return org_items.manageable(db, staff, RoadRestriction, (RoadRestriction.starts_at, RoadRestriction.id),
                                restriction_json)
