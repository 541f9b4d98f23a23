"""The core tables (organisations, layers, features, sensors, readings, feeds); every other feature
keeps its tables in a module of its own, and store/schema.py gathers them all.
Coordinates are WGS84 lon/lat; times are UTC."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column

from store.db import Base, UTCDateTime, utcnow

PUBLIC = "public"
PRIVATE = "private"


class Organisation(Base):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # e.g. "kaga"
    name_ja: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    # one of the shipped municipal outlines (data/boundaries): the default map frame of its portal
    # (/o/<code>); "" = the whole prefecture. store/organisations.py manages organisations.
    boundary: Mapped[str] = mapped_column(String(40), default="", server_default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow, nullable=True)


class Layer(Base):
    __tablename__ = "layers"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # slug, used in URLs
    kind: Mapped[str] = mapped_column(String(40))  # a name in registry.LAYER_KINDS
    name_ja: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    group: Mapped[str] = mapped_column(String(80))  # menu group key
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    visibility: Mapped[str] = mapped_column(String(10), default=PUBLIC)
    description_ja: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    license: Mapped[str] = mapped_column(String(200), default="")
    attribution_ja: Mapped[str] = mapped_column(Text, default="")
    attribution_en: Mapped[str] = mapped_column(Text, default="")
    options: Mapped[dict] = mapped_column(JSON, default=dict)  # kind-specific (tile url, style…)
    default_visible: Mapped[bool] = mapped_column(default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=100)
    feature_count: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped on every data change
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Feature(Base):
    __tablename__ = "features"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    layer_id: Mapped[str] = mapped_column(ForeignKey("layers.id", ondelete="CASCADE"))
    fid: Mapped[str] = mapped_column(String(120))  # stable id within the layer
    geometry: Mapped[str] = mapped_column(Text)  # GeoJSON geometry, WGS84, ≤ 6 decimals
    properties: Mapped[dict] = mapped_column(JSON, default=dict)
    minx: Mapped[float] = mapped_column(Float)
    miny: Mapped[float] = mapped_column(Float)
    maxx: Mapped[float] = mapped_column(Float)
    maxy: Mapped[float] = mapped_column(Float)
    # No bbox index: it doubled the cost of a big upload. Small layers are read whole through the
    # (layer_id, fid) index and filtered; big point layers keep a grid index (store/grids.py).
    # (layer_id, id): a layer's rows in file order without sorting them (first page of the item
    # table, downloads); it costs little on insert since ids only grow.
    __table_args__ = (UniqueConstraint("layer_id", "fid"), Index("ix_features_layer_order", "layer_id", "id"))


class Sensor(Base):
    __tablename__ = "sensors"
    # the store's key; a sensor an organisation creates by posting an id another sensor holds is
    # keyed `<org>:<id>` (store/sensors.py): posted ids are per organisation
    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    # the id its organisation posted and addresses it by, shown everywhere ("" : the same as `id`)
    ref: Mapped[str] = mapped_column(String(120), default="", server_default="", index=True)
    layer_id: Mapped[str] = mapped_column(ForeignKey("layers.id", ondelete="CASCADE"))
    name_ja: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    attribute: Mapped[str] = mapped_column(String(60), default="snowDepth")
    unit: Mapped[str] = mapped_column(String(20), default="cm")
    address: Mapped[str] = mapped_column(String(300), default="")
    # newest reading, kept here so the map needs no GROUP BY over the whole history
    last_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Reading(Base):
    __tablename__ = "readings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sensor_id: Mapped[str] = mapped_column(ForeignKey("sensors.id", ondelete="CASCADE"))
    attribute: Mapped[str] = mapped_column(String(60))
    value: Mapped[float] = mapped_column(Float)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # outside the attribute's plausible range (store/plausibility.py): kept, but out of everything
    implausible: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    __table_args__ = (
        UniqueConstraint("sensor_id", "attribute", "observed_at"),
        Index("ix_readings_sensor_time", "sensor_id", "observed_at"),
        # covering: series and latest values read the index alone, never the scattered table rows
        # (a sensor's readings are spread over the table; 4-14× faster raw series at 16 M readings)
        Index("ix_readings_cover", "sensor_id", "attribute", "observed_at", "value", "implausible"),
    )


class Feed(Base):
    """State of each data feed, for /healthz and the stale badges."""

    __tablename__ = "feeds"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="starting")  # ok / error / stopped
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    interval_s: Mapped[float] = mapped_column(Float, default=60.0)
