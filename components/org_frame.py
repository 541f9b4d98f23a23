"""The map frame a logged-in staff member sees first: their organisation's municipal boundary.

An organisation's boundary (one of the shipped municipal outlines, chosen when it is added) sets
its default map frame: its staff see their own area on `/` (when the link names no position) and
on the staff map pickers. Prefecture staff, and organisations without a boundary, see the whole
prefecture (the ordinary default).
"""
from __future__ import annotations

from components.map_state import frame_for_bbox


def organisation_frame(staff) -> tuple[float, float, int] | None:
    """(lat, lon, zoom) of this staff member's organisation's boundary; None: no own frame."""
    if staff is None or getattr(staff, "organisation_id", None) is None:
        return None
    from store.db import get_db
    from store.models import Organisation
    from store.organisations import boundary_bbox

    with get_db().session() as s:
        org = s.get(Organisation, staff.organisation_id)
        boundary = org.boundary if org is not None else ""
    bbox = boundary_bbox(boundary) if boundary else None
    return frame_for_bbox(bbox) if bbox else None


def picker_view(staff, center: list[float], zoom: int) -> dict:
    """`center`/`zoom` keyword arguments for a staff map picker: the organisation's frame, or the
    given prefecture-wide default."""
    frame = organisation_frame(staff)
    if frame is None:
        return {"center": center, "zoom": zoom}
    return {"center": [frame[0], frame[1]], "zoom": frame[2]}
