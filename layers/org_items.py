"""What the services of an organisation's own map items (cameras, snow-melting devices, road
restrictions) share: the list a person may manage, and the checks before an uploaded list is read."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from refusal import Refused
from store.db import Database, utcnow
from store.models import PRIVATE, PUBLIC


def manageable(db: Database, staff, model, order_by: tuple, to_json: Callable) -> list[dict]:
    """The rows of `model` this person may change: their organisation's (admins: all), in `order_by`,
    each as `to_json(session, row, now)`; nobody signed in: none."""
    if staff is None:
        return []
    with db.session() as s:
        q = select(model).order_by(*order_by)
        if not staff.is_admin:
            q = q.where(model.organisation_id == staff.organisation_id)
        now = utcnow()
        return [to_json(s, row, now) for row in s.scalars(q)]


def read_uploaded_list(staff, raw: bytes, filename: str, visibility: str, max_rows: int, invalid_code: str,
                       visibility_key: str, too_many_code: str, too_many_key: str):
    """(read result, its features) of an uploaded list (CSV with lat/lon, GeoJSON, KML…), after the
    checks every such upload makes: someone signed in (401), a known visibility (400, `invalid_code`,
    `visibility_key`) and at most `max_rows` rows (422, `too_many_code`, `too_many_key` with {max})."""
    from sources.restrictions import read_list

    if staff is None:
        raise Refused(401, "unauthorized", "auth.api_unauthorized")
    if visibility not in (PUBLIC, PRIVATE):
        raise Refused(400, invalid_code, visibility_key)
    result = read_list(raw, filename)
    feats = list(result.features)
    if len(feats) > max_rows:
        raise Refused(422, too_many_code, too_many_key, max=max_rows)
    return result, feats
