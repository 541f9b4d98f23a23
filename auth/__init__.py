"""Staff log-in (Flask-Login), API tokens and the helpers every staff route uses.

Usage, for API blueprints and Dash callbacks alike::

    from auth import current_staff, require_token

    @bp.post("/api/vehicles/fixes")
    def post_fixes():
        staff = require_token()          # Bearer token; aborts with 401 JSON when missing/bad
        if not staff.may_manage(org_id): # admin: every organisation; org_admin/editor: own; viewer: none
            ...

    @callback(...)
    def save(...):                      # Dash callback (session cookie)
        staff = current_staff()         # Staff or None; anyone can POST to /_dash-update-component,
        if staff is None:                # so every staff callback checks this itself
            raise PreventUpdate

- `current_staff()` -> `store.users.Staff | None`: from `Authorization: Bearer <token>` when that
  header is present (a bad token gives None, never a fall-back to the cookie), else from the
  Flask-Login session.
- `require_token()` -> `Staff`: Bearer only (API writes need no CSRF protection that way);
  aborts with `{"error": "unauthorized", ...}` 401 otherwise.
- `login_url(next_path, lang)`: where to send a visitor who must log in first.
- `csrf_token()` / `csrf_ok(value)`: a per-session token for plain HTML forms (log-in, log-out).
- `same_for_everyone(resp)`: an answer that does not depend on who asks (public data): no
  `Vary: Cookie`, no cookie set, so shared caches keep one copy (Flask-Login's own look into the
  session after each request never counts as a read).
- `may_see_layer` / `may_edit_layer` come from `store.users` (re-exported here).

Routes: `/login` (GET form, POST check; throttled per account+address and per address by
`auth/throttle.py`), `/logout` (POST; GET shows a confirm button; ends every session of that person).
CLI: `flask --app app create-user EMAIL --org ORG --role admin|org_admin|editor|viewer [--password P]`,
`flask --app app create-token EMAIL` (prints the token as its last line) and
`flask --app app create-organisation CODE --name NAME [--name-en NAME] [--boundary CITY]`.
Who may do what: `auth.permissions.can(staff, action, organisation, visibility)` — the one rule set
(store/permissions.py). Organisations, invites and leaving: `auth/organisations.py`;
`/invite/<token>`: `auth/invite_views.py`.
The first admin comes from ADMIN_EMAIL / ADMIN_PASSWORD when no user exists yet.
"""
from auth.core import (  # noqa: F401
    StaffUser,
    csrf_ok,
    csrf_token,
    current_staff,
    login_url,
    require_token,
    same_for_everyone,
)
from auth.setup import init_auth  # noqa: F401
from store.users import Staff, may_edit_layer, may_see_layer  # noqa: F401
