"""Kept versions of an uploaded layer's data: each replacement or rollback keeps the data it
replaces (the newest KEEP_VERSIONS), compressed, with its columns and file name."""
from __future__ import annotations

import zlib
from datetime import datetime
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import ForeignKey, Integer, LargeBinary, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.db import Base, UTCDateTime, utcnow
from store.edit_error import EditError
from store.models import Feature, Layer

if TYPE_CHECKING:  # store.models imports this module while store.users may be half-loaded
    from store.users import Staff


KEEP_VERSIONS = 5


class LayerVersion(Base):
    __tablename__ = "layer_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_id: Mapped[str] = mapped_column(ForeignKey("layers.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # when it was replaced
    created_by: Mapped[str] = mapped_column(String(254), default="")
    source: Mapped[str] = mapped_column(String(300), default="")  # file name of that data
    feature_count: Mapped[int] = mapped_column(Integer, default=0)
    columns: Mapped[str] = mapped_column(String(4000), default="[]")  # JSON list of property names
    data: Mapped[bytes] = mapped_column(LargeBinary)  # zlib(orjson([[fid, geometry text, props], ...]))


def keep_version(s: Session, layer: Layer, staff: Staff) -> LayerVersion:
    """The layer's current data as a new kept version (older ones beyond KEEP_VERSIONS go)."""
    rows = s.execute(select(Feature.fid, Feature.geometry, Feature.properties)
                     .where(Feature.layer_id == layer.id).order_by(Feature.id)).all()
    blob = zlib.compress(orjson.dumps([[fid, geom, props] for fid, geom, props in rows]), 6)
    filename = (layer.options or {}).get("source", {}).get("filename", "")
    version = LayerVersion(layer_id=layer.id, created_by=staff.email, source=filename[:300], feature_count=len(rows),
                           data=blob, columns=orjson.dumps((layer.options or {}).get("columns", [])).decode()[:4000])
    s.add(version)
    s.flush()
    old = s.scalars(select(LayerVersion.id).where(LayerVersion.layer_id == layer.id)
                    .order_by(LayerVersion.id.desc()).offset(KEEP_VERSIONS)).all()
    if old:
        s.execute(delete(LayerVersion).where(LayerVersion.id.in_(old)))
    return version


def layer_versions(s: Session, layer_id: str) -> list[LayerVersion]:
    return list(s.scalars(select(LayerVersion).where(LayerVersion.layer_id == layer_id)
                          .order_by(LayerVersion.id.desc())))


def take_version(s: Session, layer_id: str, version_id: int | None = None) -> tuple[list, list[str], str]:
    """Remove a kept version (the newest, or version_id) and give its data: (stored rows as
    [fid, geometry text, properties], columns, file name)."""
    target = next((v for v in layer_versions(s, layer_id) if version_id in (None, v.id)), None)
    if target is None:
        raise EditError("layers.no_version")
    rows, columns = orjson.loads(zlib.decompress(target.data)), orjson.loads(target.columns or "[]")
    source = target.source
    s.delete(target)
    s.flush()
    return rows, columns, source


def drop_versions(s: Session, layer_id: str) -> None:
    s.execute(delete(LayerVersion).where(LayerVersion.layer_id == layer_id))
