"""Organisations as data: adding one, its municipal boundary, invites, deactivation.

- `create_organisation(s, code, name_ja, name_en, boundary)`: a new organisation (code: lower-case
  letters, digits and `-`; boundary: one of the 19 shipped outlines, or "" for the whole prefecture).
- `boundary_names()` / `boundary_bbox(name)`: the shipped municipal outlines
  (data/boundaries/ishikawa_municipalities.geojson).
- Invites: `create_invite(s, org, email, role, by)` -> the one-use token (only its SHA-256 is
  stored), `invite_for_token(s, token)` -> a still usable Invite or None, `use_invite(...)`.
- `set_active(s, org, active, unpublish)`: deactivate (its staff can no longer log in; optionally
  every public thing it owns becomes private) or reactivate.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from sqlalchemy import ForeignKey, Integer, String, inspect, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.db import Base, UTCDateTime, utcnow
from store.models import PRIVATE, PUBLIC, Layer, Organisation

BOUNDARIES = Path(__file__).resolve().parents[1] / "data" / "boundaries" / "ishikawa_municipalities.geojson"
# the boundary of each organisation the product started with (set when they are first made)
SEED_BOUNDARIES = {"kaga": "加賀市", "hakui": "羽咋市", "nomi": "能美市"}
CODE_RE = re.compile(r"^[a-z][a-z0-9-]{1,39}$")
INVITE_DAYS = 7
INVITE_PREFIX = "imi_"


class Invite(Base):
    """A one-use invitation to set a password and become staff of an organisation."""
    __tablename__ = "invites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    role: Mapped[str] = mapped_column(String(20))
    invited_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OrganisationError(ValueError):
    """A refused change; `key` names the message (i18n) and `field` the form field."""

    def __init__(self, key: str, field: str = "", **fmt):
        super().__init__(key)
        self.key, self.field, self.fmt = key, field, fmt


def upgrade_schema(conn) -> None:
    """Columns added to `organisations` since the first release, for databases made before them."""
    columns = {c["name"] for c in inspect(conn).get_columns("organisations")}
    pg = conn.dialect.name == "postgresql"
    exists = " IF NOT EXISTS" if pg else ""
    if "boundary" not in columns:
        conn.execute(text(f"ALTER TABLE organisations ADD COLUMN{exists} boundary VARCHAR(40) NOT NULL DEFAULT ''"))
        for code, name in SEED_BOUNDARIES.items():
            conn.execute(text("UPDATE organisations SET boundary = :b WHERE code = :c"), {"b": name, "c": code})
    if "active" not in columns:
        conn.execute(text(f"ALTER TABLE organisations ADD COLUMN{exists} active BOOLEAN NOT NULL DEFAULT TRUE"))
    if "created_at" not in columns:
        kind = "TIMESTAMP" if pg else "DATETIME"
        conn.execute(text(f"ALTER TABLE organisations ADD COLUMN{exists} created_at {kind}"))


# --- boundaries ----------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _outlines() -> dict[str, tuple[float, float, float, float]]:
    """Name → bounding box (minx, miny, maxx, maxy) of each shipped municipal outline, in file order."""
    with open(BOUNDARIES, encoding="utf-8") as f:
        data = json.load(f)
    out: dict[str, tuple[float, float, float, float]] = {}
    for feat in data["features"]:
        points = list(_points(feat["geometry"]["coordinates"]))
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        out[feat["properties"]["name"]] = (min(xs), min(ys), max(xs), max(ys))
    return out


def _points(c):
    if c and isinstance(c[0], (int, float)):
        yield c
    else:
        for part in c:
            yield from _points(part)


def boundary_names() -> list[str]:
    return list(_outlines())


def boundary_bbox(name: str) -> tuple[float, float, float, float] | None:
    return _outlines().get(name or "")


def resolve_boundary(name: str) -> str | None:
    """The outline's full name: exact, or the one name ending with it (志賀町 → 羽咋郡志賀町)."""
    name = (name or "").strip()
    if name in _outlines():
        return name
    found = [n for n in _outlines() if name and n.endswith(name)]
    return found[0] if len(found) == 1 else None


# --- organisations -------------------------------------------------------------------------------

def all_organisations(s: Session) -> list[Organisation]:
    return list(s.scalars(select(Organisation).order_by(Organisation.id)))


def get_by_code(s: Session, code: str) -> Organisation | None:
    return s.scalar(select(Organisation).where(Organisation.code == (code or "").strip()))


def clean(code: str, name_ja: str, name_en: str, boundary: str) -> tuple[str, str, str, str]:
    code = (code or "").strip().lower()
    name_ja, name_en, boundary = (name_ja or "").strip(), (name_en or "").strip(), (boundary or "").strip()
    if not CODE_RE.match(code):
        raise OrganisationError("orgs.err.code", "code")
    if not name_ja or len(name_ja) > 200:
        raise OrganisationError("orgs.err.name", "name_ja")
    if len(name_en) > 200:
        raise OrganisationError("orgs.err.name", "name_en")
    if boundary:
        boundary = resolve_boundary(boundary) or ""
        if not boundary:
            raise OrganisationError("orgs.err.boundary", "boundary")
    return code, name_ja, name_en, boundary


def create_organisation(s: Session, code: str, name_ja: str, name_en: str = "", boundary: str = "") -> Organisation:
    code, name_ja, name_en, boundary = clean(code, name_ja, name_en, boundary)
    if get_by_code(s, code) is not None:
        raise OrganisationError("orgs.err.code_taken", "code")
    if s.scalar(select(Organisation.id).where(Organisation.name_ja == name_ja)) is not None:
        raise OrganisationError("orgs.err.name_taken", "name_ja")
    org = Organisation(code=code, name_ja=name_ja, name_en=name_en, boundary=boundary, active=True,
                       created_at=utcnow())
    s.add(org)
    s.flush()
    return org


def set_active(s: Session, org: Organisation, active: bool, unpublish: bool = False) -> dict:
    """Deactivate (or reactivate) an organisation. Deactivated: none of its staff can log in, and
    their tokens and sessions stop working (store.users.may_log_in). `unpublish`: every public
    layer, dashboard, camera and public alert rule it owns becomes private. Returns what changed."""
    from store.alerts import AlertRule
    from store.cameras import Camera
    from store.dashboards import Dashboard
    from store.users import User, end_sessions

    org.active = bool(active)
    changed = {"layers": 0, "dashboards": 0, "cameras": 0, "rules": 0, "sessions": 0}
    if not active:
        for uid in s.scalars(select(User.id).where(User.organisation_id == org.id)):
            end_sessions(s, uid)
            changed["sessions"] += 1
    if not active and unpublish:
        for dash in s.scalars(select(Dashboard).where(Dashboard.organisation_id == org.id,
                                                      Dashboard.visibility == PUBLIC)):
            dash.doc = {**(dash.doc or {}), "visibility": PRIVATE}  # the stored document says the same
        for key, table in (("layers", Layer), ("dashboards", Dashboard), ("cameras", Camera)):
            changed[key] = s.execute(update(table).where(table.organisation_id == org.id,
                                                         table.visibility == PUBLIC)
                                     .values(visibility=PRIVATE)).rowcount or 0
        changed["rules"] = s.execute(update(AlertRule).where(AlertRule.organisation_id == org.id,
                                                             AlertRule.public.is_(True))
                                     .values(public=False)).rowcount or 0
    s.flush()
    return changed


# --- invites -------------------------------------------------------------------------------------

def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_invite(s: Session, org: Organisation, email: str, role: str, invited_by: str = "",
                  now: datetime | None = None, days: int = INVITE_DAYS) -> str:
    """The invite token (shown once, in the mail); earlier unused invites of this address end."""
    now = now or utcnow()
    email = (email or "").strip().lower()
    s.execute(update(Invite).where(Invite.email == email, Invite.used_at.is_(None)).values(used_at=now))
    token = INVITE_PREFIX + secrets.token_urlsafe(32)
    s.add(Invite(token_hash=_hash(token), email=email, organisation_id=org.id, role=role,
                 invited_by=invited_by, created_at=now, expires_at=now + timedelta(days=days)))
    s.flush()
    return token


def invite_for_token(s: Session, token: str | None, now: datetime | None = None) -> Invite | None:
    """The invite if it is unused, not expired and its organisation active; else None."""
    token = (token or "").strip()
    if not token.startswith(INVITE_PREFIX) or len(token) > 200:
        return None
    inv = s.scalar(select(Invite).where(Invite.token_hash == _hash(token)))
    if inv is None or inv.used_at is not None or inv.expires_at <= (now or utcnow()):
        return None
    org = s.get(Organisation, inv.organisation_id)
    return inv if org is not None and org.active is not False else None


def claim_invite(s: Session, inv: Invite, now: datetime | None = None) -> bool:
    """Mark used, atomically: of two uses at once only one wins."""
    return bool(s.execute(update(Invite).where(Invite.id == inv.id, Invite.used_at.is_(None))
                          .values(used_at=now or utcnow())).rowcount)


def pending_invites(s: Session, organisation_id: int | None = None, now: datetime | None = None) -> list[Invite]:
    q = select(Invite).where(Invite.used_at.is_(None), Invite.expires_at > (now or utcnow()))
    if organisation_id is not None:
        q = q.where(Invite.organisation_id == organisation_id)
    return list(s.scalars(q.order_by(Invite.id)))
