"""External data sources (FIWARE Orion brokers, CKAN datasets) and where their entities went."""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.db import Base, UTCDateTime, utcnow

# cameras: attrs[0] holds the image URL; restrictions: road restrictions (通行規制) from a CKAN resource
# with restriction columns or a broker's entities (sources/restrictions.py)
TARGETS = ("auto", "points", "readings", "fixes", "cameras", "restrictions")
KINDS = ("orion", "ckan")


class Source(Base):
    __tablename__ = "data_sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="orion")
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    base_url: Mapped[str] = mapped_column(String(500))
    service: Mapped[str] = mapped_column(String(50), default="")
    servicepath: Mapped[str] = mapped_column(String(600), default="/")
    entity_type: Mapped[str] = mapped_column(String(200), default="")
    q: Mapped[str] = mapped_column(Text, default="")
    georel: Mapped[str] = mapped_column(String(200), default="")
    geometry: Mapped[str] = mapped_column(String(40), default="")
    coords: Mapped[str] = mapped_column(Text, default="")
    attrs: Mapped[list] = mapped_column(JSON, default=list)
    key_values: Mapped[bool] = mapped_column(Boolean, default=False)
    token_header: Mapped[str] = mapped_column(String(80), default="X-Auth-Token")
    token: Mapped[str] = mapped_column(Text, default="")  # PEP proxy token: never shown back
    interval_s: Mapped[float] = mapped_column(Float, default=60.0)
    target: Mapped[str] = mapped_column(String(20), default="auto")
    visibility: Mapped[str] = mapped_column(String(10), default="public")
    layer_prefix: Mapped[str] = mapped_column(String(60), default="")
    notify_secret: Mapped[str] = mapped_column(String(80), default=lambda: secrets.token_urlsafe(24))
    subscription_id: Mapped[str] = mapped_column(String(60), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    from_env: Mapped[bool] = mapped_column(Boolean, default=False)
    # CKAN: dataset id and optional resource id; the hash of the last data written
    ckan_dataset: Mapped[str] = mapped_column(String(200), default="")
    ckan_resource: Mapped[str] = mapped_column(String(200), default="")
    content_hash: Mapped[str] = mapped_column(String(80), default="")
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def feed_name(self) -> str:
        return f"source-{self.id}"

    def layer_id(self, role: str) -> str:
        return f"{self.layer_prefix or f'src{self.id}'}-{role}"


class SensorOrigin(Base):
    """Which broker entity a sensor stands for (QuantumLeap history is asked by entity id)."""

    __tablename__ = "sensor_origins"
    sensor_id: Mapped[str] = mapped_column(ForeignKey("sensors.id", ondelete="CASCADE"), primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("data_sources.id", ondelete="CASCADE"))
    entity_id: Mapped[str] = mapped_column(String(256))
    entity_type: Mapped[str] = mapped_column(String(200))
    attribute: Mapped[str] = mapped_column(String(100))


def sources(s: Session, enabled_only: bool = False, organisation_id: int | None = None) -> list[Source]:
    q = select(Source).order_by(Source.id)
    if enabled_only:
        q = q.where(Source.enabled.is_(True))
    if organisation_id is not None:
        q = q.where(Source.organisation_id == organisation_id)
    return list(s.scalars(q))


def due_sources(s: Session, now: datetime) -> list[Source]:
    return [src for src in sources(s, enabled_only=True) if src.next_poll_at is None or src.next_poll_at <= now]


def upsert_feature(s: Session, layer, fid: str, geometry: dict, properties: dict) -> None:
    """Insert or replace one feature of a layer (push notifications bring one entity at a time)."""
    # imported here: store.models imports this module to register the tables
    from store.features import normalize_geometry
    from store.layers import touch_layer
    from store.models import Feature

    geom_text, (minx, miny, maxx, maxy) = normalize_geometry(geometry)
    feat = s.scalar(select(Feature).where(Feature.layer_id == layer.id, Feature.fid == fid))
    if feat is None:
        s.add(Feature(layer_id=layer.id, fid=fid, geometry=geom_text, properties=properties,
                      minx=minx, miny=miny, maxx=maxx, maxy=maxy))
        layer.feature_count = (layer.feature_count or 0) + 1
    else:
        feat.geometry, feat.properties = geom_text, properties
        feat.minx, feat.miny, feat.maxx, feat.maxy = minx, miny, maxx, maxy
    touch_layer(s, layer)
