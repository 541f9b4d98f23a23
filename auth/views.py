"""`/login` and `/logout`: plain server-rendered forms (work without JavaScript), Japanese by default."""
from __future__ import annotations

import logging
import math

from flask import Blueprint, current_app, make_response, redirect, request, session
from flask_login import login_user, logout_user
from markupsafe import escape

from auth.core import StaffUser, csrf_ok, csrf_token, current_staff, safe_next
from i18n import normalize_lang, t
from store import audit
from store.db import get_db, utcnow
from store.users import check_password, end_sessions, get_user_by_email, may_log_in, normalize_email, staff_of

log = logging.getLogger("ishikawa.auth")
bp = Blueprint("auth", __name__)

PAGE = """<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} | {app}</title>
<link rel="stylesheet" href="/assets/style.css"></head>
<body class="auth-page">
<header class="topbar"><a class="lang-switch" href="/?lang={lang}">{short}</a>
<h1 class="app-title">{app}</h1>
<a class="lang-switch" id="auth-lang-link" hreflang="{other}" href="{switch}">{switch_label}</a></header>
<main class="auth-main"><section class="auth-card">
<h2>{title}</h2>
{body}
</section></main></body></html>"""


def _lang() -> str:
    return normalize_lang(request.values.get("lang"))


def _page(lang: str, title_key: str, body: str, status: int = 200, switch_path: str = "/login"):
    other = "en" if lang == "ja" else "ja"
    nxt = request.values.get("next")
    switch = f"{switch_path}?lang={other}" + (f"&next={escape(safe_next(nxt))}" if nxt else "")
    html = PAGE.format(lang=lang, other=other, title=escape(t(title_key, lang)), app=escape(t("app.title", lang)),
                       short=escape(t("app.short", lang)), switch=switch,
                       switch_label=escape(t("lang.switch", lang)), body=body)
    resp = make_response(html, status)
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Frame-Options"] = "DENY"
    return resp


def _login_form(lang: str, email: str = "", message: str = "", status: int = 200):
    nxt = safe_next(request.values.get("next"), "")
    note = f'<p class="auth-error" role="alert">{escape(message)}</p>' if message else ""
    if request.args.get("bye"):
        note += f'<p class="auth-note" role="status">{escape(t("auth.logged_out", lang))}</p>'
    body = f"""{note}
<form method="post" action="/login" class="auth-form" id="login-form">
<input type="hidden" name="csrf" value="{escape(csrf_token())}">
<input type="hidden" name="lang" value="{lang}">
<input type="hidden" name="next" value="{escape(nxt)}">
<label for="login-email">{escape(t("auth.email", lang))}</label>
<input id="login-email" name="email" type="email" autocomplete="username" required value="{escape(email)}">
<label for="login-password">{escape(t("auth.password", lang))}</label>
<input id="login-password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="login-submit">{escape(t("auth.login", lang))}</button>
</form>
<p class="auth-help">{escape(t("auth.help", lang))}</p>"""
    return _page(lang, "auth.title", body, status)


@bp.get("/login")
def login_page():
    lang = _lang()
    staff = current_staff()
    if staff is not None and not request.args.get("bye"):
        return redirect(safe_next(request.args.get("next"), f"/staff/layers?lang={lang}"))
    return _login_form(lang)


def _client_addr() -> str:
    return request.remote_addr or "unknown"


@bp.post("/login")
def login_post():
    lang = _lang()
    email = normalize_email(request.form.get("email", ""))[:254]
    password = request.form.get("password", "")
    if not csrf_ok(request.form.get("csrf")):
        return _login_form(lang, email, t("auth.csrf", lang), 400)
    addr = _client_addr()
    throttle = current_app.extensions["ishikawa.login_throttle"]
    verdict = throttle.begin(email, addr)  # one try reserved atomically before the password is checked
    if not verdict.allowed:
        log.warning("log-in refused while throttled: %r from %s (wait %.0f s)", email, addr, verdict.wait_s)
        return _login_form(lang, email, t("auth.throttled", lang, seconds=math.ceil(verdict.wait_s)), 429)
    with get_db().session() as s:
        user = get_user_by_email(s, email)
        if not check_password(user, password) or not may_log_in(s, user):
            log.warning("log-in failed: %r from %s (%d in a row from this address)", email, addr, verdict.failures)
            audit.record(s, None, "auth.login_failed", f"user:{user.id}" if user else "", email=email, organisation_id=getattr(user, "organisation_id", None))  # noqa: E501
            return _login_form(lang, email, t("auth.failed", lang), 401)
        user.last_login_at = utcnow()
        staff = staff_of(s, user)
        audit.record(s, staff, "auth.login", f"user:{staff.id}", staff.email)
    throttle.succeeded(email, addr)
    login_user(StaffUser(staff))
    log.info("log-in: %s (%s, %s) from %s", staff.email, staff.organisation_code, staff.role, _client_addr())
    return redirect(safe_next(request.form.get("next"), f"/staff/layers?lang={lang}"))


@bp.get("/logout")
def logout_page():
    lang = _lang()
    body = f"""<form method="post" action="/logout" class="auth-form" id="logout-form">
<input type="hidden" name="csrf" value="{escape(csrf_token())}">
<input type="hidden" name="lang" value="{lang}">
<button type="submit" id="logout-submit">{escape(t("auth.logout", lang))}</button></form>"""
    return _page(lang, "auth.logout", body, switch_path="/logout")


@bp.post("/logout")
def logout_post():
    lang = _lang()
    if not csrf_ok(request.form.get("csrf")):
        return redirect(f"/logout?lang={lang}")
    staff = current_staff()
    if staff is not None:
        with get_db().session() as s:
            end_sessions(s, staff.id)  # every session of this person ends, copies of this cookie too
            audit.record(s, staff, "auth.logout", f"user:{staff.id}", staff.email)
        log.info("log-out: %s", staff.email)
    logout_user()
    session.clear()
    return redirect(f"/login?lang={lang}&bye=1")
