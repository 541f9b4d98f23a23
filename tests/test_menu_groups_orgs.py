"""Menu groups belong to an organisation: an editor is offered and may use only their own
organisation's groups (and the built-in ones); the same Japanese name in another organisation is
another group; admins see and use all."""
from __future__ import annotations

import uuid

import pytest

from layers.manage import change_settings, group_options, resolve_group
from refusal import Refused
from store.menu_groups import MenuGroup, create_menu_group
from store.users import get_user_by_email, staff_of
from tests.staff_helpers import make_people, upload


@pytest.fixture
def world(app_db):
    people = make_people(app_db)
    with app_db.session() as s:
        staff = {k: staff_of(s, get_user_by_email(s, p.email)) for k, p in people.items()}
    return people, staff


def test_groups_are_per_organisation(app_db, world):
    _people, staff = world
    name = f"非公開の防災資料-{uuid.uuid4().hex[:6]}"
    kaga_key = resolve_group(app_db, staff["kaga"], "__new__", name, "Private")
    with app_db.session() as s:
        hakui_group = create_menu_group(s, staff["hakui"], name, "")
        assert hakui_group.key != kaga_key and hakui_group.organisation_id == staff["hakui"].organisation_id
        assert create_menu_group(s, staff["kaga"], name).key == kaga_key  # its own: the same group
        offered = {who: {o["value"]: o["label"] for o in group_options(s, "ja", staff[who])}
                   for who in ("kaga", "hakui", "admin")}
    assert kaga_key in offered["kaga"] and kaga_key not in offered["hakui"]
    assert hakui_group.key in offered["hakui"] and hakui_group.key not in offered["kaga"]
    assert {kaga_key, hakui_group.key} <= set(offered["admin"])
    assert "bousai" in offered["hakui"] and "bousai" in offered["kaga"]  # the built-in groups for all


def test_an_editor_cannot_put_a_layer_in_another_organisations_group(client, app_db, world):
    people, staff = world
    name = f"加賀の観光-{uuid.uuid4().hex[:6]}"
    kaga_key = resolve_group(app_db, staff["kaga"], "__new__", name, "")
    # by key and by label, through the API: refused like an unknown group
    for group in (kaga_key, name):
        r = upload(client, people["hakui"], data="名称,緯度,経度\nA,36.9,136.77\n".encode(), filename="a.csv",
                   group=group)
        assert r.status_code == 400 and r.json["error"] != "", r.json
    hakui_layer = upload(client, people["hakui"], data="名称,緯度,経度\nA,36.9,136.77\n".encode(), filename="a.csv",
                         group="bousai").json["id"]
    with pytest.raises(Refused):
        change_settings(app_db, staff["hakui"], hakui_layer, {"group": kaga_key})
    r = client.patch(f"/api/layers/{hakui_layer}", json={"group": kaga_key}, headers=people["hakui"].auth)
    assert r.status_code == 400
    # its own organisation may; so may an admin
    kaga_layer = upload(client, people["kaga"], data="名称,緯度,経度\nA,36.3,136.3\n".encode(), filename="a.csv",
                        group=kaga_key)
    assert kaga_layer.status_code == 201
    with app_db.session() as s:
        from store.models import Layer

        assert s.get(Layer, kaga_layer.json["id"]).group == kaga_key
    assert change_settings(app_db, staff["admin"], hakui_layer, {"group": kaga_key})["group"] == kaga_key
    with app_db.session() as s:
        assert s.get(MenuGroup, kaga_key).organisation_id == staff["kaga"].organisation_id
    # a layer keeps its group when other settings change (even one an admin chose)
    assert change_settings(app_db, staff["hakui"], hakui_layer, {"group": kaga_key, "name_ja": "改名"})["group"] \
        == kaga_key
