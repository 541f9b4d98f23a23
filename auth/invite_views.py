"""`/invite/<token>`: the invitee sets a password (plain server-rendered form, like /login) and is
logged in. The link works once and expires (store/organisations.py); a used, expired or unknown
link shows one and the same message."""
from __future__ import annotations

from flask import Blueprint, redirect, request
from flask_login import login_user
from markupsafe import escape

from auth.core import StaffUser, csrf_ok, csrf_token
from auth.organisations import accept_invite, invite_facts
from auth.views import _lang, _page
from i18n import t
from refusal import Refused
from store.db import get_db
from store.users import MIN_PASSWORD

bp = Blueprint("invite", __name__)


def _form(token: str, lang: str, facts: dict, message: str = "", status: int = 200):
    note = f'<p class="auth-error" role="alert">{escape(message)}</p>' if message else ""
    org = facts["org_en"] if lang == "en" else facts["org_ja"]
    pw = f'type="password" autocomplete="new-password" required minlength="{MIN_PASSWORD}"'
    minimum = escape(t("orgs.invite.min", lang, n=MIN_PASSWORD))
    body = f"""{note}
<p class="auth-note" id="invite-intro">{escape(t("orgs.invite.page_intro", lang, org=org))}</p>
<form method="post" action="/invite/{escape(token)}" class="auth-form" id="invite-form">
<input type="hidden" name="csrf" value="{escape(csrf_token())}">
<input type="hidden" name="lang" value="{lang}">
<label for="invite-email">{escape(t("auth.email", lang))}</label>
<input id="invite-email" type="email" value="{escape(facts["email"])}" readonly autocomplete="username">
<label for="invite-password">{escape(t("auth.password", lang))} ({minimum})</label>
<input id="invite-password" name="password" {pw}>
<label for="invite-confirm">{escape(t("orgs.invite.confirm", lang))}</label>
<input id="invite-confirm" name="confirm" {pw}>
<button type="submit" id="invite-submit">{escape(t("orgs.invite.submit", lang))}</button>
</form>"""
    return _page(lang, "orgs.invite.title", body, status, switch_path=f"/invite/{escape(token)}")


def _gone(token: str, lang: str):
    body = (f'<p class="auth-error" role="alert" id="invite-invalid">{escape(t("orgs.invite.invalid", lang))}</p>'
            f'<p><a href="/login?lang={lang}">{escape(t("auth.login", lang))}</a></p>')
    return _page(lang, "orgs.invite.title", body, 404, switch_path=f"/invite/{escape(token)}")


@bp.get("/invite/<token>")
def invite_page(token: str):
    lang = _lang()
    facts = invite_facts(get_db(), token[:200])
    return _form(token, lang, facts) if facts else _gone(token[:200], lang)


@bp.post("/invite/<token>")
def invite_post(token: str):
    lang = _lang()
    token = token[:200]
    facts = invite_facts(get_db(), token)
    if facts is None:
        return _gone(token, lang)
    if not csrf_ok(request.form.get("csrf")):
        return _form(token, lang, facts, t("auth.csrf", lang), 400)
    try:
        staff = accept_invite(get_db(), token, request.form.get("password", ""), request.form.get("confirm", ""))
    except Refused as exc:
        return _form(token, lang, facts, t(exc.message_key, lang, **exc.fmt), exc.status)
    login_user(StaffUser(staff))
    return redirect(f"/staff/account?lang={lang}")
