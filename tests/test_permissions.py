"""The one permission rule set (store/permissions.py): role × action × own/other organisation ×
public/private, every cell written out, and the Staff helpers that are defined through it."""
from __future__ import annotations

import itertools

import pytest

from store.permissions import (
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
    VIEW,
    VIEWER,
    can,
    grantable_roles,
)
from store.users import Staff

OWN, OTHER = 1, 2  # organisation ids: the person's own and another one

# (role, action) -> (own private, own public, other private, other public)
Y, N = True, False
EXPECTED = {
    (ADMIN, VIEW): (Y, Y, Y, Y),
    (ADMIN, EDIT): (Y, Y, Y, Y),
    (ADMIN, MANAGE_USERS): (Y, Y, Y, Y),
    (ADMIN, EXPORT): (Y, Y, Y, Y),
    (ADMIN, ALL_ORGANISATIONS): (Y, Y, Y, Y),
    (ADMIN, MANAGE_ORGANISATIONS): (Y, Y, Y, Y),
    (ORG_ADMIN, VIEW): (Y, Y, N, Y),
    (ORG_ADMIN, EDIT): (Y, Y, N, N),
    (ORG_ADMIN, MANAGE_USERS): (Y, Y, N, N),
    (ORG_ADMIN, EXPORT): (Y, Y, N, N),
    (ORG_ADMIN, ALL_ORGANISATIONS): (N, N, N, N),
    (ORG_ADMIN, MANAGE_ORGANISATIONS): (N, N, N, N),
    (EDITOR, VIEW): (Y, Y, N, Y),
    (EDITOR, EDIT): (Y, Y, N, N),
    (EDITOR, MANAGE_USERS): (N, N, N, N),
    (EDITOR, EXPORT): (N, N, N, N),
    (EDITOR, ALL_ORGANISATIONS): (N, N, N, N),
    (EDITOR, MANAGE_ORGANISATIONS): (N, N, N, N),
    (VIEWER, VIEW): (Y, Y, N, Y),
    (VIEWER, EDIT): (N, N, N, N),
    (VIEWER, MANAGE_USERS): (N, N, N, N),
    (VIEWER, EXPORT): (N, N, N, N),
    (VIEWER, ALL_ORGANISATIONS): (N, N, N, N),
    (VIEWER, MANAGE_ORGANISATIONS): (N, N, N, N),
    (None, VIEW): (N, Y, N, Y),  # anonymous visitors
    (None, EDIT): (N, N, N, N),
    (None, MANAGE_USERS): (N, N, N, N),
    (None, EXPORT): (N, N, N, N),
    (None, ALL_ORGANISATIONS): (N, N, N, N),
    (None, MANAGE_ORGANISATIONS): (N, N, N, N),
}


def person(role):
    return None if role is None else Staff(id=1, email="p@example.jp", organisation_id=OWN,
                                           organisation_code="own", role=role)


def test_the_table_covers_every_role_and_action():
    assert set(EXPECTED) == set(itertools.product((*ROLES, None), ACTIONS))


@pytest.mark.parametrize(("role", "action"), sorted(EXPECTED, key=str))
def test_role_action_organisation_visibility(role, action):
    staff = person(role)
    got = tuple(can(staff, action, org, vis) for org, vis in
                ((OWN, PRIVATE), (OWN, PUBLIC), (OTHER, PRIVATE), (OTHER, PUBLIC)))
    assert got == EXPECTED[(role, action)], (role, action)


def test_unknown_roles_actions_and_organisations_are_refused():
    stranger = Staff(id=2, email="x@example.jp", organisation_id=OWN, organisation_code="own", role="superuser")
    assert not any(can(stranger, a, OWN) for a in ACTIONS if a != VIEW)
    assert not can(stranger, VIEW, OWN, PRIVATE) and can(stranger, VIEW, OWN, PUBLIC)
    assert not can(person(ADMIN), "drop_tables", OWN)
    for role in (ORG_ADMIN, EDITOR, VIEWER):  # a thing with no organisation is nobody's own
        assert not can(person(role), EDIT, None) and not can(person(role), VIEW, None, PRIVATE)
    assert can(person(ADMIN), EDIT, None)


def test_staff_helpers_follow_the_table():
    for role in ROLES:
        staff = person(role)
        assert staff.is_admin == (role == ADMIN)
        assert staff.may_manage(OWN) == can(staff, EDIT, OWN)
        assert staff.may_manage(OTHER) == can(staff, EDIT, OTHER)
        assert staff.may_see(OWN) == can(staff, VIEW, OWN, PRIVATE)
        assert staff.may_see(OTHER, PUBLIC)


def test_layer_rules_follow_the_table():
    from types import SimpleNamespace

    from store.users import may_edit_layer, may_see_layer

    for role, org, vis in itertools.product((*ROLES, None), (OWN, OTHER), (PUBLIC, PRIVATE)):
        layer = SimpleNamespace(organisation_id=org, visibility=vis)
        assert may_see_layer(person(role), layer) == can(person(role), VIEW, org, vis)
        assert may_edit_layer(person(role), layer) == can(person(role), EDIT, org)
    assert not may_see_layer(person(ADMIN), None) and not may_edit_layer(person(ADMIN), None)


def test_who_may_give_which_role():
    assert set(grantable_roles(person(ADMIN))) == set(ROLES)
    assert set(grantable_roles(person(ORG_ADMIN))) == {ORG_ADMIN, EDITOR, VIEWER}
    assert grantable_roles(person(EDITOR)) == () and grantable_roles(person(VIEWER)) == ()
    assert grantable_roles(None) == ()


def test_the_sql_form_selects_exactly_what_can_allows(db, people):
    """`visible_sql` (lists, areas, "all") agrees with `can` row by row, for every role."""
    from sqlalchemy import select

    from store.layers import upsert_layer
    from store.models import Layer, Organisation
    from store.permissions import visible_sql

    with db.session() as s:
        orgs = [o.id for o in s.scalars(select(Organisation).order_by(Organisation.id))][:2]
        for org in orgs:
            for vis in (PUBLIC, PRIVATE):
                upsert_layer(s, f"perm-{org}-{vis}", kind="uploaded", name_ja="x", group="bousai",
                             organisation_id=org, visibility=vis)
        rows = {lid: (org, vis) for lid, org, vis in s.execute(
            select(Layer.id, Layer.organisation_id, Layer.visibility).where(Layer.id.like("perm-%")))}
        for role in (*ROLES, None):
            staff = None if role is None else Staff(id=9, email="p@example.jp", organisation_id=orgs[0],
                                                    organisation_code="x", role=role)
            got = set(s.scalars(select(Layer.id).where(Layer.id.like("perm-%"),
                                                       visible_sql(staff, Layer.organisation_id, Layer.visibility))))
            assert got == {lid for lid, (org, vis) in rows.items() if can(staff, VIEW, org, vis)}, role
