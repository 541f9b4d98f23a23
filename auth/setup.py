"""Setting up staff log-in on the Flask server: cookies, Flask-Login, throttling, the /login,
/logout and /invite routes, the CLI and the first admin. Kept apart from auth/core.py (what every
request uses) so that the route modules can import core without core importing them."""
from __future__ import annotations

import logging
from datetime import timedelta

from auth.core import SessionInterface, _quiet_remember_upkeep, _viewers_read_only, login_manager, trust_proxies
from store.users import ensure_first_admin

log = logging.getLogger("auth.core")


def init_auth(server, settings) -> None:
    """Cookies, Flask-Login, the /login and /logout routes, the CLI and the first admin."""
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=settings.cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax", REMEMBER_COOKIE_SECURE=settings.cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        MAX_CONTENT_LENGTH=settings.upload_max_mb * 1024 * 1024 + 1024 * 1024,  # + room for the form
    )
    server.session_interface = SessionInterface()
    login_manager.init_app(server)
    login_manager.session_protection = "basic"
    _quiet_remember_upkeep(server)
    trust_proxies(server, settings.trusted_proxies)
    from auth.throttle import init_throttle

    init_throttle(server, settings)

    from auth.cli import register_cli
    from auth.invite_views import bp as invite_bp
    from auth.views import bp

    server.register_blueprint(bp)
    server.register_blueprint(invite_bp)  # /invite/<token>: an invited person sets a password
    server.before_request(_viewers_read_only)
    register_cli(server)
    db = server.extensions["ishikawa.db"]
    with db.session() as s:
        user = ensure_first_admin(s, settings.admin_email, settings.admin_password)
        if user is not None:
            log.info("first admin created from ADMIN_EMAIL: %s", user.email)
