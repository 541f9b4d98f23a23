"""Road restrictions (通行規制): closures, alternating one-way traffic, chain rules, winter closures.

Each restriction is a line or a point (GeoJSON in WGS84) with its type, the road and section, the
reason, and its period (UTC; an open start or end is NULL), owned by an organisation and public or
private like everything else. "In force" at a moment t: started (or no start) and not ended.
"""
from __future__ import annotations

from datetime import datetime

import orjson
from sqlalchemy import Float, ForeignKey, Index, String, Text, and_, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.db import Base, UTCDateTime, utcnow
from store.permissions import VIEW, can, visible_sql

PUBLIC = "public"
PRIVATE = "private"
CLOSURE, ALTERNATING, CHAIN, WINTER, LANE, OTHER = (
    "closure", "alternating", "chain", "winter_closure", "lane", "other")
KINDS = (CLOSURE, ALTERNATING, CHAIN, WINTER, LANE, OTHER)

# what files and feeds write -> our type (compared without spaces, lower-case); longest match first
_KIND_WORDS = [
    ("冬期閉鎖", WINTER), ("冬季閉鎖", WINTER), ("冬期通行止", WINTER), ("冬季通行止", WINTER), ("winter", WINTER),
    ("チェーン", CHAIN), ("chain", CHAIN),
    ("片側交互", ALTERNATING), ("交互通行", ALTERNATING), ("alternat", ALTERNATING),
    ("車線規制", LANE), ("車線減少", LANE), ("lane", LANE),
    ("通行止", CLOSURE), ("全面通行止", CLOSURE), ("閉鎖", CLOSURE), ("closure", CLOSURE), ("closed", CLOSURE),
]


def kind_of_text(text) -> str:
    """Our type for a restriction's type text (Japanese or English); OTHER when none fits."""
    if not isinstance(text, str):
        return OTHER
    key = "".join(text.split()).lower()
    if key in KINDS:
        return key
    for word, kind in _KIND_WORDS:
        if word.lower() in key:
            return kind
    return OTHER


class RoadRestriction(Base):
    __tablename__ = "road_restrictions"
    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    visibility: Mapped[str] = mapped_column(String(10), default=PUBLIC)
    kind: Mapped[str] = mapped_column(String(20), default=OTHER)
    kind_text: Mapped[str] = mapped_column(String(100), default="")  # as the source wrote it
    road: Mapped[str] = mapped_column(String(200), default="")
    section: Mapped[str] = mapped_column(String(300), default="")
    reason: Mapped[str] = mapped_column(String(300), default="")
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    geometry: Mapped[str] = mapped_column(Text)  # GeoJSON geometry, WGS84
    minx: Mapped[float] = mapped_column(Float)
    miny: Mapped[float] = mapped_column(Float)
    maxx: Mapped[float] = mapped_column(Float)
    maxy: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(300), default="")  # file name, feed, "demo"
    origin: Mapped[str] = mapped_column(String(20), default="upload")  # upload / api / demo / ckan / broker
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    __table_args__ = (Index("ix_road_restrictions_period", "starts_at", "ends_at"),)

    def geometry_dict(self) -> dict:
        return orjson.loads(self.geometry)


def in_force_clause(at: datetime):
    return and_(or_(RoadRestriction.starts_at.is_(None), RoadRestriction.starts_at <= at),
                or_(RoadRestriction.ends_at.is_(None), RoadRestriction.ends_at > at))


def is_in_force(r: RoadRestriction, at: datetime | None = None) -> bool:
    at = at or utcnow()
    return (r.starts_at is None or r.starts_at <= at) and (r.ends_at is None or r.ends_at > at)


def may_see(staff, r: RoadRestriction | None) -> bool:
    if r is None:
        return False
    return can(staff, VIEW, r.organisation_id, r.visibility)


def visible_restrictions(s: Session, staff, bbox=None, at: datetime | None = None) -> list[RoadRestriction]:
    """Those the viewer may see; in force at `at` when given (else all)."""
    q = select(RoadRestriction)
    q = q.where(visible_sql(staff, RoadRestriction.organisation_id, RoadRestriction.visibility))
    if bbox is not None:
        q = q.where(RoadRestriction.maxx >= bbox[0], RoadRestriction.minx <= bbox[2],
                    RoadRestriction.maxy >= bbox[1], RoadRestriction.miny <= bbox[3])
    if at is not None:
        q = q.where(in_force_clause(at))
    return list(s.scalars(q.order_by(RoadRestriction.starts_at, RoadRestriction.id)))


def get_visible(s: Session, rid, staff) -> RoadRestriction | None:
    r = s.get(RoadRestriction, rid) if isinstance(rid, str) and 0 < len(rid) <= 120 else None
    return r if may_see(staff, r) else None


def put(s: Session, r: RoadRestriction, geometry: dict) -> RoadRestriction:
    """Store (or replace) a restriction with its geometry and bounds."""
    import shapely
    from shapely.geometry import shape

    geom = shape(geometry)
    r.geometry = shapely.to_geojson(shapely.set_precision(geom, 1e-6))
    r.minx, r.miny, r.maxx, r.maxy = (float(v) for v in geom.bounds)
    return s.merge(r)
