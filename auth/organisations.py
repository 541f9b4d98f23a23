"""What a prefecture admin does with organisations: add one, invite its first administrator by
e-mail, deactivate it (and bring it back). Plain functions (no Flask, no Dash) taking a Database
and the acting `Staff`; used by `pages/staff_organisations.py`, the invite page (auth/invite_views.py)
and the CLI. Refusals raise `refusal.Refused` (403 when not allowed, 400 naming the field).

The invite mail goes through the same outbox as alert mails (`store.alerts.enqueue`; the
`alerts-mail` job sends it over `SMTP_URL`); the link in it (`PUBLIC_BASE_URL/invite/<token>`) works
once, for `INVITE_DAYS` days, and lets the invitee set a password.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from html import escape

from sqlalchemy import func, select

from i18n import t
from refusal import Refused
from store import alerts as sa, audit, organisations as so
from store.db import utcnow
from store.models import Layer, Organisation
from store.permissions import GRANTABLE, MANAGE_ORGANISATIONS, MANAGE_USERS, ORG_ADMIN, can
from store.users import MIN_PASSWORD, Staff, User, create_user, get_user_by_email, normalize_email, staff_of

log = logging.getLogger("ishikawa.auth")


@dataclass(frozen=True)
class MailConfig:
    mail_from: str
    base_url: str

    @classmethod
    def from_settings(cls, settings) -> MailConfig:
        return cls(settings.mail_from, settings.public_base_url.rstrip("/"))


def _refuse(exc: so.OrganisationError) -> Refused:
    return Refused(400, "invalid_organisation", exc.key,
                   [{"field": exc.field, "message_key": exc.key}] if exc.field else None)


def _bad(key: str, field: str = "") -> Refused:
    return Refused(400, "invalid_invite", key, [{"field": field, "message_key": key}] if field else None)


def _require(staff: Staff | None, action: str, org_id: int | None = None) -> None:
    if staff is None:
        raise Refused(401, "unauthorized", "auth.api_unauthorized")
    if not can(staff, action, org_id):
        raise Refused(403, "forbidden", "orgs.err.forbidden")


def name_of(org: Organisation, lang: str) -> str:
    return (org.name_en or org.name_ja) if lang == "en" else org.name_ja


def org_rows(db, staff: Staff) -> list[dict]:
    """Every organisation (admins) with its boundary, state, staff and layer counts."""
    _require(staff, MANAGE_ORGANISATIONS)
    with db.session() as s:
        users = dict(s.execute(select(User.organisation_id, func.count()).where(User.active.is_(True))
                               .group_by(User.organisation_id)).all())
        layers = dict(s.execute(select(Layer.organisation_id, func.count()).group_by(Layer.organisation_id)).all())
        invites = {}
        for inv in so.pending_invites(s):
            invites.setdefault(inv.organisation_id, []).append(inv.email)
        return [{"id": o.id, "code": o.code, "name_ja": o.name_ja, "name_en": o.name_en, "boundary": o.boundary,
                 "active": o.active is not False, "users": users.get(o.id, 0), "layers": layers.get(o.id, 0),
                 "invites": invites.get(o.id, [])} for o in so.all_organisations(s)]


def add_organisation(db, staff: Staff | None, code: str, name_ja: str, name_en: str = "",
                     boundary: str = "") -> str:
    """Create it; returns the code."""
    _require(staff, MANAGE_ORGANISATIONS)
    try:
        with db.session() as s:
            org = so.create_organisation(s, code, name_ja, name_en, boundary)
            s.flush()
            code = org.code
            audit.record(s, staff, "org.create", f"organisation:{org.code}", org.name_ja, org.id,
                         detail={"name_en": org.name_en, "boundary": org.boundary})
    except so.OrganisationError as exc:
        raise _refuse(exc) from None
    log.info("organisation %s (%s, boundary %r) added by %s", code, name_ja, boundary, staff.email)
    return code


def invite_text(org: Organisation, url: str, days: int, lang: str) -> tuple[str, str, str]:
    """Subject, text and HTML of an invite mail."""
    name = name_of(org, lang)
    subject = t("orgs.invite.subject", lang, org=name)
    lines = [t("orgs.invite.body", lang, org=name), "", url, "", t("orgs.invite.expires", lang, days=days),
             t("orgs.invite.ignore", lang)]
    html = ("<p>" + escape(lines[0]) + "</p>" + f'<p><a href="{escape(url)}">{escape(url)}</a></p>'
            + "<p>" + escape(lines[4]) + "<br>" + escape(lines[5]) + "</p>")
    return subject, "\n".join(lines), html


def invite(db, staff: Staff | None, org_code: str, email: str, config: MailConfig, role: str = ORG_ADMIN,
           lang: str = "ja") -> str:
    """Queue an invite mail to `email` for organisation `org_code` (admins: any organisation, as
    its first administrator; org_admins: their own). Returns the invite link (for the CLI)."""
    email = normalize_email(email)
    with db.session() as s:
        org = so.get_by_code(s, org_code)
        if org is None:
            raise Refused(404, "not_found", "orgs.err.unknown")
        _require(staff, MANAGE_USERS, org.id)
        if role not in GRANTABLE.get(staff.role, ()):
            raise _bad("account.bad_role", "role")
        if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
            raise _bad("account.bad_email", "email")
        if org.active is False:
            raise Refused(400, "invalid_invite", "orgs.err.inactive")
        if get_user_by_email(s, email) is not None:
            raise _bad("account.exists", "email")
        token = so.create_invite(s, org, email, role, staff.email)
        audit.record(s, staff, "org.invite", f"organisation:{org.code}", email, org.id, detail={"role": role})
        url = f"{config.base_url}/invite/{token}?lang={lang}"
        subject, text, html = invite_text(org, url, so.INVITE_DAYS, lang)
        # no organisation on the outbox row: the link must not show in that organisation's mail history
        sa.enqueue(s, f"invite:{token[-16:]}", email, subject, text, html, config.mail_from, kind="invite")
    log.info("invite for %s to %s (%s) queued by %s", email, org_code, role, staff.email)
    return url


def invite_facts(db, token: str) -> dict | None:
    """What the invite page shows (e-mail, organisation names), or None for a used/expired/unknown link."""
    with db.session() as s:
        inv = so.invite_for_token(s, token)
        if inv is None:
            return None
        org = s.get(Organisation, inv.organisation_id)
        return {"email": inv.email, "org_ja": org.name_ja, "org_en": org.name_en or org.name_ja, "role": inv.role}


def accept_invite(db, token: str, password: str, confirm: str) -> Staff:
    """Set the password: the account is made and the invite used up. Refused(400) with a message key."""
    if (password or "") != (confirm or ""):
        raise Refused(400, "invalid_invite", "account.password_mismatch")
    if len(password or "") < MIN_PASSWORD:
        raise Refused(400, "invalid_invite", "account.password_short", n=MIN_PASSWORD)
    with db.session() as s:
        inv = so.invite_for_token(s, token)
        if inv is None or not so.claim_invite(s, inv):
            raise Refused(400, "invalid_invite", "orgs.invite.invalid")
        if get_user_by_email(s, inv.email) is not None:
            raise Refused(400, "invalid_invite", "account.exists")
        org = s.get(Organisation, inv.organisation_id)
        user = create_user(s, inv.email, password, org.code, inv.role)
        user.last_login_at = utcnow()
        s.flush()
        fresh = staff_of(s, user)
        audit.record(s, fresh, "org.invite_accept", f"user:{user.id}", user.email, org.id, detail={"role": inv.role})
    log.info("invite accepted: %s (%s, %s)", fresh.email, fresh.organisation_code, fresh.role)
    return fresh


def set_organisation_active(db, staff: Staff | None, org_code: str, active: bool, unpublish: bool = False) -> dict:
    """Deactivate (its staff can no longer log in; `unpublish`: its public things become private) or
    reactivate. The admin's own organisation cannot be deactivated."""
    _require(staff, MANAGE_ORGANISATIONS)
    with db.session() as s:
        org = so.get_by_code(s, org_code)
        if org is None:
            raise Refused(404, "not_found", "orgs.err.unknown")
        if not active and org.id == staff.organisation_id:
            raise Refused(400, "invalid_organisation", "orgs.err.own")
        changed = so.set_active(s, org, active, unpublish)
        audit.record(s, staff, "org.reactivate" if active else "org.deactivate", f"organisation:{org.code}",
                     org.name_ja, org.id, detail={"unpublish": bool(unpublish), "changed": changed})
    log.info("organisation %s %s by %s (unpublish=%s): %s", org_code, "reactivated" if active else "deactivated",
             staff.email, unpublish, changed)
    return changed
