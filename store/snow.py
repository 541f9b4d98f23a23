"""Snow removal: road segments, vehicles, GPS fixes and road passes.

A pass is (segment, vehicle, time, work): a plow went along that segment at that time, plowing,
spreading or just travelling. Passes are kept, so the road status of any past moment can be rebuilt.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.db import Base, UTCDateTime, utcnow

WORKS = ("plowing", "spreading", "travel")
WORKING = ("plowing", "spreading")  # a pass in these modes clears the segment
NETWORK = "default"
KEEP_HOURS = 26  # fixes and passes kept (the replay needs 24 h)


class SnowNetwork(Base):
    """Which road network is loaded (one row): its version changes whenever it is replaced."""

    __tablename__ = "snow_network"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    source: Mapped[str] = mapped_column(Text, default="")
    digest: Mapped[str] = mapped_column(String(64), default="")
    segment_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoadSegment(Base):
    __tablename__ = "snow_segments"
    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)  # order in the network (stable for a version)
    name: Mapped[str] = mapped_column(String(200), default="")
    road_class: Mapped[str] = mapped_column(String(40), default="other")
    manager: Mapped[str] = mapped_column(String(200), default="")
    route: Mapped[str] = mapped_column(String(200), default="")
    area: Mapped[str] = mapped_column(String(200), default="")
    length_m: Mapped[float] = mapped_column(Float, default=0.0)
    geometry: Mapped[str] = mapped_column(Text)  # GeoJSON LineString, WGS84, <= 6 decimals


class Vehicle(Base):
    """A snowplow, with the state the ingest path needs between two deliveries of fixes."""

    __tablename__ = "snow_vehicles"
    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    last_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_speed: Mapped[float | None] = mapped_column(Float, nullable=True)  # km/h
    last_heading: Mapped[float | None] = mapped_column(Float, nullable=True)  # degrees from north
    last_work: Mapped[str] = mapped_column(String(20), default="travel")
    last_segment: Mapped[str | None] = mapped_column(String(120), nullable=True)
    last_pass_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[dict] = mapped_column(JSON, default=dict)  # reason -> count


class Fix(Base):
    __tablename__ = "snow_fixes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    vehicle_id: Mapped[str] = mapped_column(ForeignKey("snow_vehicles.id", ondelete="CASCADE"))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    speed: Mapped[float | None] = mapped_column(Float, nullable=True)
    heading: Mapped[float | None] = mapped_column(Float, nullable=True)
    work: Mapped[str] = mapped_column(String(20), default="travel")
    segment_id: Mapped[str | None] = mapped_column(String(120), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    __table_args__ = (Index("ix_snow_fixes_vehicle_time", "vehicle_id", "time"),
                      Index("ix_snow_fixes_time", "time"))


class Pass(Base):
    __tablename__ = "snow_passes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    segment_id: Mapped[str] = mapped_column(ForeignKey("snow_segments.id", ondelete="CASCADE"))
    vehicle_id: Mapped[str] = mapped_column(String(120))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    work: Mapped[str] = mapped_column(String(20))
    filled: Mapped[bool] = mapped_column(default=False)  # inferred between two fixes, not seen
    __table_args__ = (Index("ix_snow_passes_time", "time"),
                      Index("ix_snow_passes_segment_time", "segment_id", "time"))


# --- the network -------------------------------------------------------------------------------

def network(s: Session) -> SnowNetwork | None:
    return s.get(SnowNetwork, NETWORK)


def replace_network(s: Session, features: list[dict], source: str, digest: str = "") -> int:
    """Replace the road network (and the passes on the old one) in the caller's transaction."""
    s.execute(delete(Pass))
    s.execute(delete(RoadSegment))
    s.execute(Fix.__table__.update().values(segment_id=None))
    s.execute(Vehicle.__table__.update().values(last_segment=None))
    from store.features import normalize_geometry

    rows, seen = [], set()
    for i, feat in enumerate(features):
        geom_text, _bounds = normalize_geometry(feat["geometry"])
        sid = str(feat.get("id") or f"s{i + 1:05d}")
        if sid in seen:
            raise ValueError(f"duplicate segment id {sid}")
        seen.add(sid)
        p = feat.get("properties") or {}
        rows.append(dict(id=sid, seq=i, name=str(p.get("name") or ""), road_class=str(p.get("road_class") or "other"),
                         manager=str(p.get("manager") or ""), route=str(p.get("route") or p.get("name") or ""),
                         area=str(p.get("area") or ""), length_m=float(p.get("length_m") or 0.0),
                         geometry=geom_text))
    if rows:
        s.execute(RoadSegment.__table__.insert(), rows)
    net = network(s)
    if net is None:
        net = SnowNetwork(name=NETWORK, version=1)
        s.add(net)
    else:
        net.version = (net.version or 0) + 1
    net.source, net.digest, net.segment_count, net.updated_at = source, digest, len(rows), utcnow()
    s.flush()
    return len(rows)


def segments(s: Session) -> list[RoadSegment]:
    return list(s.scalars(select(RoadSegment).order_by(RoadSegment.seq)))


def segments_collection_bytes(s: Session) -> bytes:
    """The network as GeoJSON (the browser gets it once; colours come through the style function)."""
    parts = [
        b'{"type":"Feature","id":' + orjson.dumps(sid) + b',"geometry":' + geom.encode()
        + b',"properties":' + orjson.dumps({"id": sid, "name": name, "route": route, "area": area,
                                             "manager": manager, "road_class": cls}) + b"}"
        for sid, geom, name, route, area, manager, cls in s.execute(
            select(RoadSegment.id, RoadSegment.geometry, RoadSegment.name, RoadSegment.route, RoadSegment.area,
                   RoadSegment.manager, RoadSegment.road_class).order_by(RoadSegment.seq))
    ]
    return b'{"type":"FeatureCollection","features":[' + b",".join(parts) + b"]}"


# --- vehicles, fixes, passes ---------------------------------------------------------------------

def vehicles(s: Session, ids: list[str] | None = None) -> dict[str, Vehicle]:
    q = select(Vehicle)
    if ids is not None:
        q = q.where(Vehicle.id.in_(ids))
    return {v.id: v for v in s.scalars(q)}


def ensure_vehicles(s: Session, ids: list[str]) -> dict[str, Vehicle]:
    have = vehicles(s, ids)
    for vid in ids:
        if vid not in have:
            have[vid] = Vehicle(id=vid, name=vid, rejected={}, accepted=0, last_work="travel")
            s.add(have[vid])
    s.flush()
    return have


def add_fixes(s: Session, rows: list[dict]) -> None:
    if rows:
        s.execute(Fix.__table__.insert(), rows)


def add_passes(s: Session, rows: list[dict]) -> None:
    if rows:
        s.execute(Pass.__table__.insert(), rows)


def last_cleared(s: Session, at: datetime | None = None, window: timedelta = timedelta(hours=24)
                 ) -> dict[str, tuple[datetime, str]]:
    """segment id -> (time, work) of its newest plowing/spreading pass within `window` before `at`
    (at=None: now, passes stamped up to 2 minutes ahead included)."""
    at_ = at or utcnow() + timedelta(minutes=2)
    q = (select(Pass.segment_id, Pass.work, func.max(Pass.time))
         .where(Pass.work.in_(WORKING), Pass.time <= at_, Pass.time > at_ - window - timedelta(minutes=2))
         .group_by(Pass.segment_id, Pass.work))
    out: dict[str, tuple[datetime, str]] = {}
    for sid, work, t in s.execute(q):
        if t is None:
            continue
        if t.tzinfo is None:  # max() over a TypeDecorator column comes back raw on some backends

            t = t.replace(tzinfo=UTC)
        if sid not in out or t > out[sid][0]:
            out[sid] = (t, work)
    return out


def fixes_between(s: Session, since: datetime, until: datetime, vehicle_ids: list[str] | None = None) -> list[Fix]:
    q = select(Fix).where(Fix.time > since, Fix.time <= until)
    if vehicle_ids is not None:
        q = q.where(Fix.vehicle_id.in_(vehicle_ids))
    return list(s.scalars(q.order_by(Fix.vehicle_id, Fix.time)))


def fixes_after_id(s: Session, after_id: int, upto_id: int) -> list[Fix]:
    return list(s.scalars(select(Fix).where(Fix.id > after_id, Fix.id <= upto_id).order_by(Fix.vehicle_id, Fix.time)))


def max_ids(s: Session) -> tuple[int, int]:
    return (s.scalar(select(func.max(Fix.id))) or 0, s.scalar(select(func.max(Pass.id))) or 0)


def newest_fix(s: Session) -> tuple[datetime | None, datetime | None]:
    """(newest fix time, newest receive time) over all vehicles."""
    t, r = s.execute(select(func.max(Vehicle.last_time), func.max(Vehicle.last_received_at))).one()

    fix = lambda d: d.replace(tzinfo=UTC) if d is not None and d.tzinfo is None else d  # noqa: E731
    return fix(t), fix(r)


def prune(s: Session, before: datetime) -> tuple[int, int]:
    """Drop fixes and passes older than `before` (the replay needs 24 hours; keep a little more)."""
    f = s.execute(delete(Fix).where(Fix.time < before)).rowcount or 0
    p = s.execute(delete(Pass).where(Pass.time < before)).rowcount or 0
    return f, p


# --- the storm report (layers/snow_report.py) ---------------------------------------------------

def _aware(d: datetime) -> datetime:
    return d.replace(tzinfo=UTC) if d is not None and d.tzinfo is None else d


def first_working_passes(s: Session, start: datetime, end: datetime) -> dict[str, datetime]:
    """segment id -> its first plowing/spreading pass in [start, end)."""
    q = (select(Pass.segment_id, func.min(Pass.time))
         .where(Pass.work.in_(WORKING), Pass.time >= start, Pass.time < end).group_by(Pass.segment_id))
    return {sid: _aware(t) for sid, t in s.execute(q) if t is not None}


def pass_lengths_by_vehicle(s: Session, start: datetime, end: datetime) -> list[tuple[str, str, float]]:
    """(vehicle id, work, metres of road passed) in [start, end), summed in SQL."""
    q = (select(Pass.vehicle_id, Pass.work, func.sum(RoadSegment.length_m))
         .join(RoadSegment, RoadSegment.id == Pass.segment_id)
         .where(Pass.time >= start, Pass.time < end).group_by(Pass.vehicle_id, Pass.work))
    return [(vid, work, float(m or 0.0)) for vid, work, m in s.execute(q)]


def report_fixes(s: Session, start: datetime, end: datetime) -> list[tuple[str, datetime, float | None, str]]:
    """(vehicle id, time, speed, work) of the fixes in [start, end) and of the 5 minutes before (so
    the interval running over the start is counted from the start), by vehicle and time."""
    q = (select(Fix.vehicle_id, Fix.time, Fix.speed, Fix.work)
         .where(Fix.time >= start - timedelta(seconds=300), Fix.time < end).order_by(Fix.vehicle_id, Fix.time))
    return [(vid, _aware(t), speed, work) for vid, t, speed, work in s.execute(q)]
