"""Staff users, API tokens and log-in throttling.

Interface (small on purpose; `auth/` builds on it):

- `Staff`: a plain, frozen snapshot of a logged-in person (id, email, organisation id/code, role),
  safe to keep after the session closes. `staff.is_admin`; `staff.may_manage(org_id)`.
- `create_user(s, email, password, org_code, role)`, `get_user_by_email(s, email)`,
  `check_password(user, password)`, `set_password(user, password)`, `staff_of(s, user)`.
- `create_token(s, user, name="")` -> the token text (shown once; only its SHA-256 is stored),
  `user_for_token(s, token)` -> User or None, `revoke_tokens(s, user)`.
- `ensure_first_admin(s, email, password)`: the first admin from ADMIN_EMAIL / ADMIN_PASSWORD,
  only while no user exists.
- `may_see_layer(staff, layer)` / `may_edit_layer(staff, layer)`: the one rule for private
  layers: public layers are for everyone; private ones for admins and the owning organisation's
  editors. Callers answer 404 (never 403) when `may_see_layer` is False.
- Sessions: a session names the user's `session_generation` (and a fragment of the password
  hash); `end_sessions(s, user_id)` moves the generation on, so every session made before it —
  copies of the cookie included — stops working. Log-out, password changes and resets, and
  deactivation call it. (Log-in throttling lives in auth/throttle.py.)

Roles and what each may do: the one rule set in `store/permissions.py` (`can(...)`); `is_admin`,
`may_manage`, `may_see` and `may_see_layer` / `may_edit_layer` are written in its terms. Staff of a
deactivated organisation cannot log in, and their tokens and sessions stop working
(`may_log_in`).
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, delete, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from store.db import Base, UTCDateTime, utcnow
from store.models import Organisation
from store.permissions import (  # noqa: F401  (the role names are re-exported here)
    ADMIN,
    ALL_ORGANISATIONS,
    EDIT,
    EDITOR,
    ORG_ADMIN,
    PRIVATE,
    ROLES,
    VIEW,
    VIEWER,
    can,
)

MIN_PASSWORD = 8
TOKEN_PREFIX = "imt_"


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    password_hash: Mapped[str] = mapped_column(String(300))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    role: Mapped[str] = mapped_column(String(20), default=EDITOR)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # moved on by end_sessions(): every session cookie made before no longer logs anybody in
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the token
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


@dataclass(frozen=True)
class Staff:
    id: int
    email: str
    organisation_id: int
    organisation_code: str
    role: str
    # the user's session generation and a fragment of the password hash: end_sessions() and a
    # password change end the sessions made before them
    session_nonce: str = ""

    @property
    def is_admin(self) -> bool:
        """Acts across every organisation (the prefecture's admins)."""
        return can(self, ALL_ORGANISATIONS)

    def may_manage(self, organisation_id: int | None) -> bool:
        """May change things of this organisation (layers, groups, sources, rules, dashboards, cameras)."""
        return can(self, EDIT, organisation_id)

    def may_see(self, organisation_id: int | None, visibility: str = PRIVATE) -> bool:
        return can(self, VIEW, organisation_id, visibility)


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def _nonce(user: User) -> str:
    fragment = hashlib.sha256(user.password_hash.encode()).hexdigest()[:12]
    return f"{user.session_generation or 0}.{fragment}"


def end_sessions(s: Session, user_id: int) -> None:
    """Every session of this user ends (atomic in SQL: two log-outs at once both count)."""
    s.execute(update(User).where(User.id == user_id)
              .values(session_generation=func.coalesce(User.session_generation, 0) + 1))


def upgrade_schema(conn) -> None:
    """Columns added since the first release, for databases made before them."""
    from sqlalchemy import inspect, text

    columns = {c["name"] for c in inspect(conn).get_columns("users")}
    if "session_generation" not in columns:
        conn.execute(text("ALTER TABLE users ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0"))
    conn.execute(text("DROP TABLE IF EXISTS login_failures"))  # throttling moved to auth/throttle.py


def staff_of(s: Session, user: User) -> Staff:
    org = s.get(Organisation, user.organisation_id)
    return Staff(id=user.id, email=user.email, organisation_id=user.organisation_id,
                 organisation_code=org.code if org else "", role=user.role, session_nonce=_nonce(user))


def get_user_by_email(s: Session, email: str) -> User | None:
    return s.scalar(select(User).where(User.email == normalize_email(email)))


def organisation_by_code(s: Session, code: str) -> Organisation | None:
    """By code ("kaga") or by either name ("加賀市", "Kaga City")."""
    code = (code or "").strip()
    return s.scalar(select(Organisation).where(
        (Organisation.code == code) | (Organisation.name_ja == code) | (Organisation.name_en == code)))


def set_password(user: User, password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise ValueError(f"password must have at least {MIN_PASSWORD} characters")
    user.password_hash = generate_password_hash(password)


def check_password(user: User | None, password: str) -> bool:
    if user is None or not user.active:
        # same work as a real check, so timing does not tell which e-mails exist
        check_password_hash(_DUMMY_HASH, password or "")
        return False
    return check_password_hash(user.password_hash, password or "")


_DUMMY_HASH = generate_password_hash("not-a-password-" + secrets.token_hex(8))


def create_user(s: Session, email: str, password: str, org_code: str, role: str = EDITOR) -> User:
    email = normalize_email(email)
    if "@" not in email or len(email) > 254:
        raise ValueError(f"not an e-mail address: {email!r}")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    org = organisation_by_code(s, org_code)
    if org is None:
        known = ", ".join(o.code for o in s.scalars(select(Organisation).order_by(Organisation.code)))
        raise ValueError(f"unknown organisation {org_code!r} (known: {known})")
    if get_user_by_email(s, email) is not None:
        raise ValueError(f"user {email} exists already")
    user = User(email=email, organisation_id=org.id, role=role, password_hash="")
    set_password(user, password)
    s.add(user)
    s.flush()
    return user


def ensure_first_admin(s: Session, email: str, password: str, org_code: str = "ishikawa") -> User | None:
    """The first admin at first start; does nothing once any user exists or without both values."""
    if not email or not password:
        return None
    if s.scalar(select(func.count()).select_from(User)):
        return None
    return create_user(s, email, password, org_code, ADMIN)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(s: Session, user: User, name: str = "") -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    s.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), name=name[:100]))
    s.flush()
    return token


def user_for_token(s: Session, token: str | None, now: datetime | None = None) -> User | None:
    token = (token or "").strip()
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = s.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None:
        return None
    user = s.get(User, row.user_id)
    if not may_log_in(s, user):
        return None
    row.last_used_at = now or utcnow()
    return user


def revoke_tokens(s: Session, user: User) -> int:
    return s.execute(delete(ApiToken).where(ApiToken.user_id == user.id)).rowcount or 0


def may_log_in(s: Session, user: User | None) -> bool:
    """An active account of an active organisation (a deactivated organisation's staff are out)."""
    if user is None or not user.active:
        return False
    org = s.get(Organisation, user.organisation_id)
    return org is not None and org.active is not False


def may_see_layer(staff: Staff | None, layer) -> bool:
    return layer is not None and can(staff, VIEW, layer.organisation_id, layer.visibility)


def may_edit_layer(staff: Staff | None, layer) -> bool:
    return layer is not None and can(staff, EDIT, layer.organisation_id)


# --- account management (pages/staff_account.py through auth/accounts.py) ---

def tokens_of(s: Session, user_id: int) -> list[ApiToken]:
    return list(s.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)))


def revoke_token(s: Session, user_id: int, token_id: int) -> bool:
    """Only the owner's own token: another person's id removes nothing."""
    return bool(s.execute(delete(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id)).rowcount)


def all_users(s: Session) -> list[User]:
    return list(s.scalars(select(User).order_by(User.organisation_id, User.email)))
