"""Who may do what: the one rule set (role × action × own/other organisation × public/private).

Every permission check of the product comes down to `can(staff, action, resource_org, visibility)`;
`Staff.is_admin`, `Staff.may_manage`, `may_see_layer` and the SQL filters are written in its terms.
It lives in the lowest layer so that the store's queries, the services, the API and the pages all
ask the same table (`auth.permissions` re-exports it for the layers above).

Roles:
- `admin` — the prefecture: every action on every organisation.
- `org_admin` — manages their own organisation: its users and their tokens, menu groups, layers,
  sources, alert rules, dashboards and cameras; nothing of another organisation.
- `editor` — changes their own organisation's data (layers, groups, sources, rules, dashboards,
  cameras); no user management.
- `viewer` — sees their own organisation's private things (layers, dashboards, sensors, rules,
  cameras); changes nothing.
Anyone, logged in or not, sees public things.
"""
from __future__ import annotations

ADMIN = "admin"
ORG_ADMIN = "org_admin"
EDITOR = "editor"
VIEWER = "viewer"
ROLES = (ADMIN, ORG_ADMIN, EDITOR, VIEWER)

PUBLIC = "public"
PRIVATE = "private"

# actions
VIEW = "view"                  # see a thing (public: anyone; private: the table below)
EDIT = "edit"                  # create / change / delete layers, groups, sources, rules, dashboards, cameras
MANAGE_USERS = "manage_users"  # add users, change roles, deactivate, reset passwords, revoke their tokens
EXPORT = "export"              # download everything an organisation holds as one archive
ALL_ORGANISATIONS = "all_organisations"  # act across organisations (lists of everything, any owner)
MANAGE_ORGANISATIONS = "manage_organisations"  # add, invite into, deactivate organisations
ACTIONS = (VIEW, EDIT, MANAGE_USERS, EXPORT, ALL_ORGANISATIONS, MANAGE_ORGANISATIONS)

NONE, OWN, ALL = "none", "own", "all"

# scope of each role for each action on a private thing (public things: VIEW is open to anyone)
TABLE: dict[str, dict[str, str]] = {
    ADMIN: {VIEW: ALL, EDIT: ALL, MANAGE_USERS: ALL, EXPORT: ALL, ALL_ORGANISATIONS: ALL,
            MANAGE_ORGANISATIONS: ALL},
    ORG_ADMIN: {VIEW: OWN, EDIT: OWN, MANAGE_USERS: OWN, EXPORT: OWN, ALL_ORGANISATIONS: NONE,
                MANAGE_ORGANISATIONS: NONE},
    EDITOR: {VIEW: OWN, EDIT: OWN, MANAGE_USERS: NONE, EXPORT: NONE, ALL_ORGANISATIONS: NONE,
             MANAGE_ORGANISATIONS: NONE},
    VIEWER: {VIEW: OWN, EDIT: NONE, MANAGE_USERS: NONE, EXPORT: NONE, ALL_ORGANISATIONS: NONE,
             MANAGE_ORGANISATIONS: NONE},
}

# the roles a person with MANAGE_USERS may give: an org_admin never makes a prefecture admin
GRANTABLE: dict[str, tuple[str, ...]] = {
    ADMIN: ROLES,
    ORG_ADMIN: (ORG_ADMIN, EDITOR, VIEWER),
}


def scope(role: str | None, action: str) -> str:
    return TABLE.get(role or "", {}).get(action, NONE)


def can(staff, action: str, resource_org: int | None = None, visibility: str = PRIVATE) -> bool:
    """May `staff` (a store.users.Staff or anything with `role` and `organisation_id`; None =
    anonymous) do `action` on a thing of organisation `resource_org` with this visibility?
    Unknown roles and actions are refused."""
    if action not in ACTIONS:
        return False
    if action == VIEW and visibility == PUBLIC:
        return True
    if staff is None:
        return False
    reach = scope(getattr(staff, "role", None), action)
    if reach == ALL:
        return True
    if reach == OWN:
        return resource_org is not None and resource_org == getattr(staff, "organisation_id", None)
    return False


def grantable_roles(staff) -> tuple[str, ...]:
    """The roles this person may give to others (within the organisations they manage)."""
    return GRANTABLE.get(getattr(staff, "role", "") or "", ()) if staff is not None else ()


def visible_sql(staff, organisation_column, visibility):
    """The SQL form of `can(staff, VIEW, row's organisation, row's visibility)`, for queries that
    select many things at once (lists, areas, "all"): one filter from the same table.
    `visibility`: a column holding "public"/"private", or an SQL condition that is true for the
    public rows (e.g. `AlertRule.public.is_(True)`)."""
    from sqlalchemy import Column, true
    from sqlalchemy.orm import InstrumentedAttribute

    public = visibility == PUBLIC if isinstance(visibility, (Column, InstrumentedAttribute)) else visibility
    reach = scope(getattr(staff, "role", None), VIEW) if staff is not None else NONE
    if reach == ALL:
        return true()
    if reach == OWN:
        return public | (organisation_column == staff.organisation_id)
    return public
