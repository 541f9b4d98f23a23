"""The audit log: who changed what, when, for which organisation — written in the same session
(so the same transaction) as the change itself.

Interface:

- `record(s, staff, action, target=..., name=..., organisation_id=..., changes=..., detail=...)`:
  adds one row to the session `s` of the change. When the change is refused or fails, the
  session rolls back and the row goes with it; a committed change always has its row.
  `staff` is a `store.users.Staff` (or None for a failed log-in: then `email=` names the account
  tried). Whether it came through an API token or a log-in session, and the client address, are
  read from the Flask request when there is one.
- `diff(before, after)` -> `{field: [before, after]}` of the fields that changed (secrets shown as
  `***`); `snapshot(obj, fields)` -> the named attributes as plain JSON values.
- `scope_of(staff)` -> None (every organisation: admins) or the organisation id an `org_admin`
  sees; Refused 403 for everyone else. `search(s, scope, ...)` -> (entries, total), newest first.
- `purge(s, now, days)`: deletes entries older than `days` (AUDIT_RETENTION_DAYS).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import JSON, Index, Integer, String, delete, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from refusal import Refused
from store.db import Base, UTCDateTime, utcnow

ORG_ADMIN = "org_admin"  # manages their own organisation (roles of auth/)

# Every kind of change, in the order the filter lists them. A kind's label is `audit.action.<kind>`.
ACTIONS = (
    "layer.upload", "layer.replace", "layer.rollback", "layer.settings", "layer.visibility", "layer.delete",
    "layer.items", "layer.item_add", "group.create", "group.rename", "group.delete",
    "rule.create", "rule.update", "rule.pause", "rule.resume", "rule.delete", "rule.recipients",
    "source.create", "source.update", "source.delete", "source.subscribe",
    "dashboard.create", "dashboard.update", "dashboard.restore", "dashboard.delete",
    "camera.create", "camera.update", "camera.delete",
    "user.create", "user.update", "password.change", "token.create", "token.revoke",
    "auth.login", "auth.login_failed", "auth.logout",
    "org.create", "org.invite", "org.invite_accept", "org.deactivate", "org.reactivate",
)
SECRET_FIELDS = frozenset({"token", "password", "password_hash", "secret", "notify_token", "api_key", "ckan_token"})
HIDDEN = "***"


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # no foreign key: users may go
    actor_email: Mapped[str] = mapped_column(String(254), default="")
    actor_organisation_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # the organisation the change concerns (the owner of the layer, rule, …); its org_admins see it
    organisation_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    via: Mapped[str] = mapped_column(String(10), default="")  # session / token / cli / system
    address: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(200), default="")  # e.g. "layer:kaga-aed"
    target_name: Mapped[str] = mapped_column(String(300), default="")
    changes: Mapped[dict] = mapped_column(JSON, default=dict)  # {field: [before, after]}
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    __table_args__ = (
        Index("ix_audit_at", "at"),
        Index("ix_audit_org_at", "organisation_id", "at"),
        Index("ix_audit_actor_org_at", "actor_organisation_id", "at"),
    )


def _plain(value):
    """A value as JSON: numbers, text, booleans, lists and dicts of them; times as ISO 8601 UTC."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value if not isinstance(value, str) else value[:2000]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in list(value.items())[:200]}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in list(value)[:200]]
    return str(value)[:2000]


def snapshot(obj, fields) -> dict:
    """The named attributes of obj as plain values (for `diff`)."""
    return {f: _plain(getattr(obj, f, None)) for f in fields}


def diff(before: dict, after: dict) -> dict:
    """{field: [before, after]} for each field whose value changed; secrets only say they changed."""
    out = {}
    for key in list(before) + [k for k in after if k not in before]:
        old, new = _plain(before.get(key)), _plain(after.get(key))
        if old != new:
            out[key] = [HIDDEN, HIDDEN] if key in SECRET_FIELDS else [old, new]
    return out


def _request_context() -> tuple[str, str]:
    """(via, client address) of the Flask request being served, or ("system", "") outside one."""
    from flask import has_request_context, request

    if not has_request_context():
        return "system", ""
    via = "token" if request.headers.get("Authorization", "").lower().startswith("bearer ") else "session"
    return via, (request.remote_addr or "")[:64]


def record(s: Session, staff, action: str, target: str = "", name: str = "", organisation_id: int | None = None,
           changes: dict | None = None, detail: dict | None = None, email: str = "", via: str = "") -> AuditEntry:
    """One audit entry, added to the change's own session (nothing is committed here)."""
    ctx_via, address = _request_context()
    entry = AuditEntry(
        at=utcnow(), actor_id=getattr(staff, "id", None),
        actor_email=(getattr(staff, "email", "") or email or "")[:254],
        actor_organisation_id=getattr(staff, "organisation_id", None),
        organisation_id=organisation_id if organisation_id is not None else getattr(staff, "organisation_id", None),
        via=via or ctx_via, address=address, action=action[:40], target=str(target or "")[:200],
        target_name=str(name or "")[:300], changes=_plain(changes or {}), detail=_plain(detail or {}))
    s.add(entry)
    return entry


# --- reading it ---

def scope_of(staff) -> int | None:
    """None: every organisation (admins); an organisation id: an org_admin's own. Others: 403."""
    if staff is None:
        raise Refused(401, "unauthorized", "auth.api_unauthorized")
    if staff.role == "admin":
        return None
    if staff.role == ORG_ADMIN:
        return staff.organisation_id
    raise Refused(403, "forbidden", "audit.forbidden")


@dataclass
class Filters:
    organisation_id: int | None = None
    action: str = ""
    actor: str = ""  # part of an e-mail address
    since: datetime | None = None
    until: datetime | None = None


def _where(q, scope: int | None, f: Filters):
    if scope is not None:
        q = q.where(or_(AuditEntry.organisation_id == scope, AuditEntry.actor_organisation_id == scope))
    if f.organisation_id is not None:
        q = q.where(or_(AuditEntry.organisation_id == f.organisation_id,
                        AuditEntry.actor_organisation_id == f.organisation_id))
    if f.action:
        # a family ("layer") or one kind ("layer.delete")
        q = q.where(AuditEntry.action == f.action if "." in f.action else AuditEntry.action.startswith(f.action + "."))
    if f.actor:
        q = q.where(AuditEntry.actor_email.contains(f.actor.strip().lower(), autoescape=True))
    if f.since is not None:
        q = q.where(AuditEntry.at >= f.since)
    if f.until is not None:
        q = q.where(AuditEntry.at < f.until)
    return q


def search(s: Session, scope: int | None, f: Filters, limit: int = 50, offset: int = 0) -> tuple[list[AuditEntry], int]:
    total = s.scalar(_where(select(func.count()).select_from(AuditEntry), scope, f)) or 0
    rows = s.scalars(_where(select(AuditEntry), scope, f).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                     .limit(limit).offset(offset)).all()
    return list(rows), total


def purge(s: Session, now: datetime | None = None, days: int = 730) -> int:
    """Delete the entries older than `days`; returns how many."""
    cutoff = (now or utcnow()) - timedelta(days=max(int(days), 1))
    return s.execute(delete(AuditEntry).where(AuditEntry.at < cutoff)).rowcount or 0


def entry_json(e: AuditEntry, orgs: dict) -> dict:
    def code(org_id):
        org = orgs.get(org_id)
        return org.code if org else None

    return {"id": e.id, "at": e.at.isoformat() if e.at else None, "actor": e.actor_email,
            "actor_organisation": code(e.actor_organisation_id), "organisation": code(e.organisation_id),
            "via": e.via, "address": e.address, "action": e.action, "target": e.target,
            "target_name": e.target_name, "changes": e.changes or {}, "detail": e.detail or {}}
