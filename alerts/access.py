"""Who may do what with alerts — the one place the staff page and the API ask.

`staff()` is the logged-in staff member of the request (the auth core: Bearer token or
session), `may_manage(staff, rule)`: admins manage every rule, editors their organisation's.

`auth` is imported inside the functions that need a request: the service (`alerts.rules`) uses
`may_manage` and must import neither Flask nor Dash.
"""
from __future__ import annotations


def staff():
    """The staff member of the current request, or None."""
    from auth import current_staff

    return current_staff()


def token_staff():
    """The staff member of a Bearer token; aborts the request with 401 JSON otherwise."""
    from auth import require_token

    return require_token()


def may_manage(staff_member, rule) -> bool:
    return staff_member is not None and rule is not None and staff_member.may_manage(rule.organisation_id)


def scope(staff_member) -> tuple[int | None, bool]:
    """(organisation_id, all_orgs) for list queries."""
    return staff_member.organisation_id, bool(staff_member.is_admin)


def login_url(next_path: str, lang: str) -> str:
    from auth import login_url as _login_url

    return _login_url(next_path, lang)
