"""Flask-Login set-up, Bearer tokens, CSRF tokens for plain forms. See auth/__init__.py."""
from __future__ import annotations

import hmac
import logging
import secrets
from urllib.parse import quote

from flask import current_app, g, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, current_user

from refusal import Refused
from store.db import get_db
from store.permissions import EDIT, can
from store.users import Staff, may_log_in, staff_of, user_for_token

log = logging.getLogger("ishikawa.auth")
login_manager = LoginManager()


class StaffUser(UserMixin):
    """What Flask-Login keeps: the Staff snapshot. The id carries the user's session generation and
    a password-hash fragment, checked against the database on every request: log-out, a password
    change or reset and deactivation end every older session, copies of the cookie included."""

    def __init__(self, staff: Staff):
        self.staff = staff

    def get_id(self) -> str:
        return f"{self.staff.id}:{self.staff.session_nonce}"


@login_manager.user_loader
def _load_user(user_id: str):
    from store.users import User

    uid, _, nonce = (user_id or "").partition(":")
    if not uid.isdigit():
        return None
    with get_db().session() as s:
        user = s.get(User, int(uid))
        if not may_log_in(s, user):  # a deactivated account or organisation
            return None
        staff = staff_of(s, user)
    return StaffUser(staff) if hmac.compare_digest(staff.session_nonce, nonce) else None


SESSION_ENVIRON_KEY = "ishikawa.session"
SAME_FOR_EVERYONE = "ishikawa_same_for_everyone"


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except for answers that are the same for everyone.

    Flask adds `Vary: Cookie` to any answer whose request looked at the session. Public answers
    (the live snow state, static bundles, public layers' features) never depend on it; marked with
    `same_for_everyone(resp)` they get neither `Vary: Cookie` nor a refreshed cookie, so a shared
    cache keeps one copy for all viewers instead of one per staff cookie. A session that did change
    during the request (a log-in, a new CSRF token) is still saved as usual."""

    def open_session(self, app, request):
        sess = super().open_session(app, request)
        request.environ[SESSION_ENVIRON_KEY] = sess  # read back without marking the session as read
        return sess

    def save_session(self, app, session, response):
        if getattr(response, SAME_FOR_EVERYONE, False) and not session.modified:
            return
        super().save_session(app, session, response)


def same_for_everyone(resp):
    """Mark an answer as not depending on who asks (no `Vary: Cookie`, no cookie set); returns it."""
    setattr(resp, SAME_FOR_EVERYONE, True)
    return resp


def _quiet_remember_upkeep(server) -> None:
    """Flask-Login looks into the session after every request for its remember-me note; that look
    alone made every answer `Vary: Cookie`. It still runs on every request, but when it finds
    nothing and changes nothing, the session counts as unread (the views' own reads still count)."""
    upkeep = login_manager._update_remember_cookie
    funcs = server.after_request_funcs.setdefault(None, [])

    def remember_upkeep(response):
        sess = request.environ.get(SESSION_ENVIRON_KEY)
        read_before = sess is None or sess.accessed
        response = upkeep(response)
        if not read_before and not sess.modified:
            sess.accessed = False
        return response

    funcs[:] = [remember_upkeep if f == upkeep else f for f in funcs]


def _viewers_read_only():
    """A token that may change nothing (role viewer) writes nothing through the API, whichever
    route: the services check too, this is the one door in front of them all."""
    if request.method in ("GET", "HEAD", "OPTIONS") or not request.path.startswith("/api/") \
            or "Authorization" not in request.headers:
        return None
    staff = current_staff()
    if staff is not None and not can(staff, EDIT, staff.organisation_id):
        raise Refused(403, "forbidden", "perm.read_only")
    return None


def trust_proxies(server, count: int) -> None:
    """Believe X-Forwarded-* from `count` reverse proxies (TRUSTED_PROXIES); never by default, since a
    client could otherwise pick its own address and escape the log-in throttling."""
    if count > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=count, x_proto=count, x_host=count)


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def current_staff() -> Staff | None:
    """The logged-in staff member of this request (Bearer token first, then the session)."""
    if not has_request_context():
        return None
    if "ishikawa_staff" in g:
        return g.ishikawa_staff
    staff = None
    if "Authorization" in request.headers:
        token = _bearer()
        if token:
            with get_db().session() as s:
                user = user_for_token(s, token)
                staff = staff_of(s, user) if user is not None else None
    elif getattr(current_app, "login_manager", None) is not None and current_user.is_authenticated:
        staff = current_user.staff
    g.ishikawa_staff = staff
    return staff


def require_token() -> Staff:
    """The staff member of a Bearer token; otherwise `Refused(401)`, which the API answers as its
    JSON error with `WWW-Authenticate: Bearer` (api.errors)."""
    staff = current_staff() if _bearer() else None
    if staff is None:
        raise Refused(401, "unauthorized", "auth.api_unauthorized")
    return staff


def safe_next(path: str | None, default: str = "/staff/layers") -> str:
    """Only our own paths: no scheme, no host, no protocol-relative or backslash tricks."""
    path = (path or "").strip()
    if not path.startswith("/") or path.startswith("//") or "\\" in path or any(ord(c) < 32 for c in path):
        return default
    return path


def login_url(next_path: str = "", lang: str = "ja") -> str:
    url = f"/login?lang={lang}"
    return url + (f"&next={quote(safe_next(next_path), safe='/')}" if next_path else "")


def csrf_token() -> str:
    token = session.get("_csrf")
    if not token:
        token = session["_csrf"] = secrets.token_urlsafe(24)
    return token


def csrf_ok(value: str | None) -> bool:
    token = session.get("_csrf")
    return bool(token and value and hmac.compare_digest(str(token), str(value)))
