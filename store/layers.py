"""Organisations and layers."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.db import upsert, utcnow
from store.models import PUBLIC, Layer, Organisation


def ensure_organisation(s: Session, code: str, name_ja: str, name_en: str) -> Organisation:
    org = s.scalar(select(Organisation).where(Organisation.code == code))
    if org is None:
        from store.organisations import SEED_BOUNDARIES

        org = Organisation(code=code, name_ja=name_ja, name_en=name_en, boundary=SEED_BOUNDARIES.get(code, ""),
                           active=True, created_at=utcnow())
        s.add(org)
        s.flush()
    return org


def organisations(s: Session) -> dict[int, Organisation]:
    return {o.id: o for o in s.scalars(select(Organisation))}


def get_public_layer(s: Session, layer_id: str) -> Layer | None:
    """The layer if anyone may see it; None for unknown *and* private layers (no existence leak)."""
    layer = s.get(Layer, layer_id)
    return layer if layer is not None and layer.visibility == PUBLIC else None


def get_visible_layer(s: Session, layer_id: str, staff=None) -> Layer | None:
    """The layer if this person (a store.users.Staff, or None for anonymous) may see it; None for
    unknown layers and for private layers they may not see alike — callers answer 404, never 403."""
    from store.users import may_see_layer

    layer = s.get(Layer, layer_id)
    return layer if may_see_layer(staff, layer) else None


def visible_clause(staff=None):
    """The SQL form of `store.users.may_see_layer`: public layers, plus the private layers of the
    staff member's organisation (admins: all). Every query that selects layers or their sensors in
    bulk (lists, areas, "all") filters with it."""
    from store.permissions import visible_sql

    return visible_sql(staff, Layer.organisation_id, Layer.visibility)


def visible_layer_rows(s: Session, staff=None) -> list[Layer]:
    """Public layers, plus the private layers this staff member may see."""
    return list(s.scalars(select(Layer).where(visible_clause(staff)).order_by(Layer.sort_order, Layer.id)))


def public_layers(s: Session) -> list[Layer]:
    return list(s.scalars(select(Layer).where(Layer.visibility == PUBLIC)
                          .order_by(Layer.sort_order, Layer.id)))


def upsert_layer(s: Session, layer_id: str, **fields) -> Layer:
    return upsert(s, Layer, layer_id, **fields)


def touch_layer(s: Session, layer: Layer, feature_count: int | None = None) -> None:
    """Mark a data change: new version (cache keys change with it) and update time."""
    layer.version = (layer.version or 0) + 1
    layer.updated_at = utcnow()
    if feature_count is not None:
        layer.feature_count = feature_count
