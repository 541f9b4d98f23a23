"""What staff do with accounts: their own password and API tokens; admins manage everyone.

Plain functions (no Flask, no Dash) taking a Database and the acting `Staff`, used by
`pages/staff_account.py` and tested directly. Failures raise `AccountError(message_key)`; nothing
is written then. The rule (store/permissions.py, action `manage_users`): everyone changes their own
password and tokens; users are created, re-assigned and deactivated by prefecture admins (every
organisation) and by org_admins (their own organisation only, never giving or touching the `admin`
role); nobody can lock themself out.
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from store import audit
from store.models import Organisation
from store.permissions import MANAGE_USERS, can, grantable_roles
from store.users import (
    MIN_PASSWORD,
    ROLES,
    Staff,
    User,
    all_users,
    check_password,
    create_token,
    create_user,
    end_sessions,
    get_user_by_email,
    organisation_by_code,
    revoke_token,
    revoke_tokens,
    set_password,
    staff_of,
    tokens_of,
)

log = logging.getLogger("ishikawa.auth")


class AccountError(Exception):
    def __init__(self, message_key: str, **fmt):
        super().__init__(message_key)
        self.message_key, self.fmt = message_key, fmt


def _user(s, staff: Staff) -> User:
    user = s.get(User, staff.id)
    if user is None or not user.active:
        raise AccountError("account.gone")
    return user


def _require_manager(staff: Staff | None, org_id: int | None = None) -> None:
    """May manage users: of `org_id`, or (None) of at least their own organisation."""
    if staff is None or not can(staff, MANAGE_USERS, staff.organisation_id if org_id is None else org_id):
        raise AccountError("account.admin_only")


def may_manage_users(staff: Staff | None) -> bool:
    return staff is not None and can(staff, MANAGE_USERS, staff.organisation_id)


# --- one's own account ---

def change_password(db, staff: Staff, current: str, new: str, confirm: str) -> Staff:
    """Returns the new Staff snapshot (its session nonce changed: every other session ends)."""
    if (new or "") != (confirm or ""):
        raise AccountError("account.password_mismatch")
    if len(new or "") < MIN_PASSWORD:
        raise AccountError("account.password_short", n=MIN_PASSWORD)
    with db.session() as s:
        user = _user(s, staff)
        if not check_password(user, current or ""):
            log.warning("password change refused (wrong current password): %s", staff.email)
            raise AccountError("account.password_wrong")
        set_password(user, new)
        end_sessions(s, user.id)
        audit.record(s, staff, "password.change", f"user:{user.id}", user.email)
        s.flush()
        s.refresh(user)
        fresh = staff_of(s, user)
    log.info("password changed: %s", staff.email)
    return fresh


def my_tokens(db, staff: Staff) -> list[dict]:
    with db.session() as s:
        return [{"id": tok.id, "name": tok.name, "created_at": tok.created_at, "last_used_at": tok.last_used_at}
                for tok in tokens_of(s, staff.id)]


def new_token(db, staff: Staff, name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise AccountError("account.token_need_name")
    with db.session() as s:
        token = create_token(s, _user(s, staff), name[:100])
        audit.record(s, staff, "token.create", f"user:{staff.id}", name[:100])
    log.info("API token created by %s: %r", staff.email, name[:100])
    return token


def drop_token(db, staff: Staff, token_id) -> None:
    try:
        token_id = int(token_id)
    except (TypeError, ValueError):
        raise AccountError("account.no_token") from None
    with db.session() as s:
        if not revoke_token(s, staff.id, token_id):
            raise AccountError("account.no_token")
        audit.record(s, staff, "token.revoke", f"token:{token_id}", staff.email)
    log.info("API token %s revoked by %s", token_id, staff.email)


# --- admins: everyone's accounts ---

def organisation_options(db, lang: str, staff: Staff | None = None) -> list[dict]:
    """The organisations to pick from (with `staff`: those whose users they manage)."""
    with db.session() as s:
        orgs = s.scalars(select(Organisation).order_by(Organisation.id)).all()
        return [{"label": (o.name_en if lang == "en" and o.name_en else o.name_ja), "value": o.code} for o in orgs
                if staff is None or can(staff, MANAGE_USERS, o.id)]


def role_options(staff: Staff | None) -> tuple[str, ...]:
    return grantable_roles(staff)


def users(db, staff: Staff) -> list[dict]:
    """The accounts this person manages (admins: everyone; org_admins: their organisation's)."""
    _require_manager(staff)
    with db.session() as s:
        orgs = {o.id: o for o in s.scalars(select(Organisation))}
        return [{"id": u.id, "email": u.email, "organisation": orgs[u.organisation_id].code,
                 "organisation_ja": orgs[u.organisation_id].name_ja,
                 "organisation_en": orgs[u.organisation_id].name_en or orgs[u.organisation_id].name_ja,
                 "role": u.role, "active": u.active, "last_login_at": u.last_login_at, "me": u.id == staff.id}
                for u in all_users(s) if can(staff, MANAGE_USERS, u.organisation_id)]


def add_user(db, staff: Staff, email: str, org_code: str, role: str, password: str) -> None:
    _require_manager(staff)
    if role not in ROLES or role not in grantable_roles(staff):
        raise AccountError("account.bad_role")
    if len(password or "") < MIN_PASSWORD:
        raise AccountError("account.password_short", n=MIN_PASSWORD)
    with db.session() as s:
        if "@" not in (email or "") or len(email) > 254:
            raise AccountError("account.bad_email")
        org = organisation_by_code(s, org_code or "")
        if org is None or not can(staff, MANAGE_USERS, org.id):
            raise AccountError("account.bad_org")  # another organisation: as if unknown
        if get_user_by_email(s, email) is not None:
            raise AccountError("account.exists")
        made = create_user(s, email, password, org_code, role)
        audit.record(s, staff, "user.create", f"user:{made.id}", made.email, made.organisation_id,
                     detail={"role": role})
    log.info("user %s (%s, %s) created by %s", email, org_code, role, staff.email)


def change_user(db, staff: Staff, user_id, *, role: str | None = None, active: bool | None = None,
                org_code: str | None = None, password: str | None = None) -> None:
    _require_manager(staff)
    with db.session() as s:
        user = s.get(User, int(user_id)) if str(user_id).isdigit() and len(str(user_id)) < 12 else None
        if user is None or not can(staff, MANAGE_USERS, user.organisation_id) \
                or user.role not in grantable_roles(staff):
            raise AccountError("account.no_user")  # another organisation's (or a higher role's): as if unknown
        before = audit.snapshot(user, ("role", "active", "organisation_id"))
        if user.id == staff.id and (active is False or (role is not None and role != user.role)):
            raise AccountError("account.not_yourself")  # the last way back in must stay open
        if role is not None:
            if role not in ROLES or role not in grantable_roles(staff):
                raise AccountError("account.bad_role")
            user.role = role
        if org_code is not None:
            org = organisation_by_code(s, org_code)
            if org is None or not can(staff, MANAGE_USERS, org.id):
                raise AccountError("account.bad_org")
            user.organisation_id = org.id
        ended = False
        revoked = 0
        if active is not None:
            if not active and user.active:
                ended = True  # sessions end now, and re-activating brings neither them nor old tokens back
                revoked = revoke_tokens(s, user)
            user.active = bool(active)
        if password:
            if len(password) < MIN_PASSWORD:
                raise AccountError("account.password_short", n=MIN_PASSWORD)
            set_password(user, password)
            ended = True  # a reset means the account may be in wrong hands: its sessions and tokens end
            revoked += revoke_tokens(s, user)
        if ended:
            end_sessions(s, user.id)
        audit.record(s, staff, "user.update", f"user:{user.id}", user.email, user.organisation_id,
                     changes=audit.diff(before, audit.snapshot(user, ("role", "active", "organisation_id"))),
                     detail={"password_reset": bool(password), "tokens_revoked": revoked})
        email = user.email
    log.info("user %s changed by %s: role=%s active=%s org=%s password=%s sessions=%s tokens revoked=%d", email,
             staff.email, role, active, org_code, "reset" if password else "-", "ended" if ended else "-", revoked)
