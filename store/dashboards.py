"""Dashboards: the saved JSON document (dashboards/model.py) and its versions.

The document is stored whole (`doc`); the columns beside it are what lists and the visibility rule
need without parsing it. Every save keeps the previous document as a version.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.db import Base, UTCDateTime, utcnow
from store.models import PUBLIC

KEEP_VERSIONS = 50


class Dashboard(Base):
    __tablename__ = "dashboards"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    visibility: Mapped[str] = mapped_column(String(10), default=PUBLIC)
    title_ja: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    doc: Mapped[dict] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(254), default="")


class DashboardVersion(Base):
    __tablename__ = "dashboard_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dashboard_id: Mapped[int] = mapped_column(ForeignKey("dashboards.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    doc: Mapped[dict] = mapped_column(JSON)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    saved_by: Mapped[str] = mapped_column(String(254), default="")


def by_slug(s: Session, slug: str) -> Dashboard | None:
    return s.scalar(select(Dashboard).where(Dashboard.slug == slug))


def listed(s: Session, staff=None) -> list[Dashboard]:
    """Public dashboards, plus the private ones of the staff member's organisation (admins: all)."""
    from store.permissions import visible_sql

    q = select(Dashboard).where(visible_sql(staff, Dashboard.organisation_id, Dashboard.visibility))
    return list(s.scalars(q.order_by(Dashboard.title_ja, Dashboard.slug)))


def save(s: Session, dash: Dashboard | None, doc: dict, organisation_id: int, by: str) -> Dashboard:
    """Create (dash None) or replace; the replaced document is kept as a version."""
    now = utcnow()
    if dash is None:
        dash = Dashboard(slug=doc["slug"], organisation_id=organisation_id, created_at=now, version=0)
        s.add(dash)
    else:
        s.add(DashboardVersion(dashboard_id=dash.id, version=dash.version, doc=dash.doc,
                               saved_at=dash.updated_at, saved_by=dash.updated_by))
    dash.slug = doc["slug"]
    dash.organisation_id = organisation_id
    dash.visibility = doc["visibility"]
    dash.title_ja, dash.title_en = doc["title_ja"], doc.get("title_en", "")
    dash.doc = doc
    dash.version = (dash.version or 0) + 1
    dash.updated_at, dash.updated_by = now, by
    s.flush()
    _trim_versions(s, dash.id)
    return dash


def _trim_versions(s: Session, dashboard_id: int) -> None:
    count = s.scalar(select(func.count()).select_from(DashboardVersion)
                     .where(DashboardVersion.dashboard_id == dashboard_id)) or 0
    if count > KEEP_VERSIONS:
        old = list(s.scalars(select(DashboardVersion.id).where(DashboardVersion.dashboard_id == dashboard_id)
                             .order_by(DashboardVersion.version).limit(count - KEEP_VERSIONS)))
        s.execute(delete(DashboardVersion).where(DashboardVersion.id.in_(old)))


def versions(s: Session, dash: Dashboard) -> list[DashboardVersion]:
    return list(s.scalars(select(DashboardVersion).where(DashboardVersion.dashboard_id == dash.id)
                          .order_by(DashboardVersion.version.desc())))


def version_doc(s: Session, dash: Dashboard, version: int) -> dict | None:
    row = s.scalar(select(DashboardVersion).where(DashboardVersion.dashboard_id == dash.id,
                                                  DashboardVersion.version == version))
    return row.doc if row is not None else None


def remove(s: Session, dash: Dashboard) -> None:
    s.execute(delete(DashboardVersion).where(DashboardVersion.dashboard_id == dash.id))
    s.delete(dash)
    s.flush()
