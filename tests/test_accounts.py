"""Accounts and menu groups staff manage on the web: one's own password and API tokens,
admins' user management, renaming/deleting menu groups — and that an editor can change neither
another organisation's group nor anybody else's account, directly or through the page."""
from __future__ import annotations

import json
import uuid

import pytest

from auth.accounts import AccountError, add_user, change_password, change_user, drop_token, my_tokens, new_token, users
from layers.manage import Refused, groups_for, remove_group, rename_group, resolve_group
from store.menu_groups import MenuGroup
from store.models import Layer
from store.users import (
    ADMIN,
    EDITOR,
    User,
    check_password,
    get_user_by_email,
    staff_of,
    user_for_token,
)
from tests.staff_helpers import PASSWORD, PEOPLE_PASSWORD, login, make_person

PW = PEOPLE_PASSWORD


def _user(db, email):
    with db.session() as s:
        u = get_user_by_email(s, email)
        s.expunge(u)
        return u


def test_change_own_password(db, people):
    kaga = people["kaga"]
    for current, new, confirm, key in ((PW, "new password 1", "new password 2", "account.password_mismatch"),
                                       (PW, "short", "short", "account.password_short"),
                                       ("wrong password", "new password 1", "new password 1",
                                        "account.password_wrong")):
        with pytest.raises(AccountError) as exc:
            change_password(db, kaga, current, new, confirm)
        assert exc.value.message_key == key
        assert check_password(_user(db, "kaga@example.jp"), PW)  # unchanged
    fresh = change_password(db, kaga, PW, "new password 1", "new password 1")
    assert fresh.session_nonce != kaga.session_nonce  # other sessions end
    user = _user(db, "kaga@example.jp")
    assert check_password(user, "new password 1") and not check_password(user, PW)


def test_own_tokens_create_list_revoke(db, people):
    kaga, hakui = people["kaga"], people["hakui"]
    with pytest.raises(AccountError):
        new_token(db, kaga, "  ")
    token = new_token(db, kaga, "除雪車位置の連携")
    with db.session() as s:
        assert user_for_token(s, token).email == "kaga@example.jp"
    listed = my_tokens(db, kaga)
    assert [t["name"] for t in listed] == ["除雪車位置の連携"] and listed[0]["last_used_at"] is not None
    assert my_tokens(db, hakui) == []
    with pytest.raises(AccountError):  # another person's token id: nothing happens
        drop_token(db, hakui, listed[0]["id"])
    with db.session() as s:
        assert user_for_token(s, token) is not None
    drop_token(db, kaga, listed[0]["id"])
    with db.session() as s:
        assert user_for_token(s, token) is None


def test_only_admins_manage_users(db, people):
    kaga = people["kaga"]
    hakui_id = people["hakui"].id
    for call in (lambda: users(db, kaga),
                 lambda: add_user(db, kaga, "x@example.jp", "kaga", ADMIN, PW),
                 lambda: change_user(db, kaga, hakui_id, active=False),
                 lambda: change_user(db, kaga, kaga.id, role=ADMIN),
                 lambda: change_user(db, kaga, hakui_id, password="taken over!")):
        with pytest.raises(AccountError) as exc:
            call()
        assert exc.value.message_key == "account.admin_only"
    hakui = _user(db, "hakui@example.jp")
    assert hakui.active and hakui.role == EDITOR and check_password(hakui, PW)
    assert _user(db, "kaga@example.jp").role == EDITOR
    with db.session() as s:
        assert get_user_by_email(s, "x@example.jp") is None


def test_admin_adds_deactivates_and_resets(db, people):
    admin = people["ishikawa"]
    for args, key in ((("bad-address", "kaga", EDITOR, PW), "account.bad_email"),
                      (("n@example.jp", "nowhere", EDITOR, PW), "account.bad_org"),
                      (("n@example.jp", "kaga", "owner", PW), "account.bad_role"),
                      (("n@example.jp", "kaga", EDITOR, "short"), "account.password_short"),
                      (("kaga@example.jp", "kaga", EDITOR, PW), "account.exists")):
        with pytest.raises(AccountError) as exc:
            add_user(db, admin, *args)
        assert exc.value.message_key == key
    add_user(db, admin, "nomi-staff@example.jp", "能美市", EDITOR, PW)
    new = _user(db, "nomi-staff@example.jp")
    listed = {u["email"]: u for u in users(db, admin)}
    assert listed["nomi-staff@example.jp"]["organisation"] == "nomi" and listed["ishikawa@example.jp"]["me"]
    with db.session() as s:
        token = new_token(db, staff_of(s, s.get(User, new.id)), "test")
    change_user(db, admin, new.id, active=False)
    with db.session() as s:
        assert user_for_token(s, token) is None  # a deactivated account's tokens stop at once
    assert not check_password(_user(db, "nomi-staff@example.jp"), PW)
    change_user(db, admin, new.id, active=True, password="reset password", role=ADMIN)
    again = _user(db, "nomi-staff@example.jp")
    assert again.active and again.role == ADMIN and check_password(again, "reset password")
    # no lock-out: an admin cannot deactivate or demote themselves
    for change in ({"active": False}, {"role": EDITOR}):
        with pytest.raises(AccountError) as exc:
            change_user(db, admin, admin.id, **change)
        assert exc.value.message_key == "account.not_yourself"
    assert _user(db, "ishikawa@example.jp").active


def test_menu_groups_rename_and_delete(db, people):
    kaga, hakui, admin = people["kaga"], people["hakui"], people["ishikawa"]
    used = resolve_group(db, kaga, "__new__", "加賀の観光", "Kaga sights")
    empty = resolve_group(db, kaga, "__new__", "加賀の空きグループ", "")
    with db.session() as s:
        s.add(Layer(id="u-test", kind="uploaded", name_ja="観光", group=used, visibility="public",
                    organisation_id=kaga.organisation_id))
    assert {g["key"] for g in groups_for(db, kaga, "ja")} == {used, empty}
    assert groups_for(db, hakui, "ja") == []  # another organisation's groups are not offered…
    for call in (lambda: rename_group(db, hakui, used, "乗っ取り", ""),  # …nor changed when asked directly
                 lambda: remove_group(db, hakui, empty)):
        with pytest.raises(Refused):
            call()
    with pytest.raises(Refused) as exc:
        rename_group(db, kaga, used, "  ", "")
    assert exc.value.message_key == "layers.need_group_name"
    with pytest.raises(Refused) as exc:
        remove_group(db, kaga, used)
    assert exc.value.message_key == "groups.in_use"
    rename_group(db, kaga, used, "加賀市の観光地", "Kaga City sights")
    remove_group(db, kaga, empty)
    with db.session() as s:
        assert s.get(MenuGroup, used).label_ja == "加賀市の観光地" and s.get(MenuGroup, empty) is None
    assert {g["key"] for g in groups_for(db, admin, "en")} == {used}  # admins: every organisation's
    rename_group(db, admin, used, "加賀の観光", "Kaga sightseeing")


# --- through the pages (the Dash callbacks check who is asking themselves) ---

def _post(client, output, outputs, inputs, state, changed):
    return client.post("/_dash-update-component", json={
        "output": output, "outputs": outputs, "inputs": inputs, "state": state, "changedPropIds": changed})


def test_editor_cannot_add_or_change_users_through_the_page(client, app_db):
    editor = make_person(app_db, "hakui")
    victim = make_person(app_db, "kaga")
    with app_db.session() as s:
        victim_id = get_user_by_email(s, victim.email).id
    login(client, editor.email)
    new_email = f"intruder-{uuid.uuid4().hex[:6]}@example.jp"
    outputs = [{"id": "staff-account-users", "property": "children"},
               {"id": "staff-account-users-message", "property": "children"},
               {"id": "staff-account-new-email", "property": "value"},
               {"id": "staff-account-new-password", "property": "value"}]
    state = [{"id": "staff-account-new-email", "property": "value", "value": new_email},
             {"id": "staff-account-new-org", "property": "value", "value": "ishikawa"},
             {"id": "staff-account-new-role", "property": "value", "value": ADMIN},
             {"id": "staff-account-new-password", "property": "value", "value": "intruder password"},
             [{"id": {"type": "staff-account-newpw", "id": victim_id}, "property": "value", "value": "taken over!"}],
             [{"id": {"type": "staff-account-newpw", "id": victim_id}, "property": "id",
               "value": {"type": "staff-account-newpw", "id": victim_id}}],
             {"id": "staff-account-lang", "property": "data", "value": "ja"}]
    for trigger in ("add", "active", "role", "reset"):
        one = lambda t: [{"id": {"type": f"staff-account-{t}", "id": victim_id}, "property": "n_clicks",  # noqa: E731
                          "value": 1 if t == trigger else None}]  # noqa: B023 - called in this pass
        inputs = [{"id": "staff-account-add", "property": "n_clicks", "value": 1 if trigger == "add" else None},
                  one("active"), one("role"), one("reset")]
        changed = ["staff-account-add.n_clicks"] if trigger == "add" else [
            json.dumps({"id": victim_id, "type": f"staff-account-{trigger}"}, separators=(",", ":")) + ".n_clicks"]
        body = _post(client, "..staff-account-users.children...staff-account-users-message.children..."
                     "staff-account-new-email.value...staff-account-new-password.value..", outputs,
                     inputs, state, changed).get_data(as_text=True)
        assert "この操作は管理者だけが行えます" in body, (trigger, body[:300])
    with app_db.session() as s:
        assert get_user_by_email(s, new_email) is None
        victim_user = s.get(User, victim_id)
        assert victim_user.active and victim_user.role == EDITOR and check_password(victim_user, PASSWORD)


def test_editor_cannot_rename_another_organisations_group_through_the_page(client, app_db):
    owner = make_person(app_db, "kaga")
    other = make_person(app_db, "hakui")
    with app_db.session() as s:
        owner_staff = staff_of(s, get_user_by_email(s, owner.email))
    key = resolve_group(app_db, owner_staff, "__new__", f"加賀グループ-{uuid.uuid4().hex[:6]}", "Kaga group")
    login(client, other.email)
    body = _post(client, "..staff-groups-list.children...staff-groups-message.children..",
                 [{"id": "staff-groups-list", "property": "children"},
                  {"id": "staff-groups-message", "property": "children"}],
                 [[{"id": {"type": "staff-groups-save", "key": key}, "property": "n_clicks", "value": 1}],
                  [{"id": {"type": "staff-groups-delete", "key": key}, "property": "n_clicks", "value": None}]],
                 [[{"id": {"type": "staff-groups-ja", "key": key}, "property": "value", "value": "乗っ取り"}],
                  [{"id": {"type": "staff-groups-en", "key": key}, "property": "value", "value": "HACKED"}],
                  [{"id": {"type": "staff-groups-ja", "key": key}, "property": "id",
                    "value": {"type": "staff-groups-ja", "key": key}}],
                  {"id": "staff-groups-lang", "property": "data", "value": "ja"}],
                 [json.dumps({"key": key, "type": "staff-groups-save"}, separators=(",", ":")) + ".n_clicks"]
                 ).get_data(as_text=True)
    assert "そのグループは変更できません" in body
    with app_db.session() as s:
        assert s.get(MenuGroup, key).label_en == "Kaga group"
    # the page itself does not list it for them
    page = client.get("/staff/groups")
    assert page.status_code == 200
