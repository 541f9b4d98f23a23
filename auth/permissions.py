"""The one permission rule set, for the layers above the store: see `store/permissions.py`.

    from auth.permissions import EDIT, can
    if not can(staff, EDIT, layer.organisation_id):
        raise Refused(403, ...)
"""
from store.permissions import (  # noqa: F401
    ACTIONS,
    ADMIN,
    ALL_ORGANISATIONS,
    EDIT,
    EDITOR,
    EXPORT,
    MANAGE_ORGANISATIONS,
    MANAGE_USERS,
    ORG_ADMIN,
    PRIVATE,
    PUBLIC,
    ROLES,
    TABLE,
    VIEW,
    VIEWER,
    can,
    grantable_roles,
)
