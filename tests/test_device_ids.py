"""Snow-melting device ids are per organisation, like posted sensor ids (tests/test_sensor_ids.py):
two cities may post a state to the same id, each sees and addresses only its own device by exactly
that id, and nothing tells either that the id exists elsewhere — through the real routes (POST
/api/readings, /api/melters, its states, the map layer, device alert rules and their mails), the
staff form's device picker and the staff device list, as each organisation, a prefecture admin and
anonymous."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from alerts.config import install_config_of
from alerts.evaluation import tick_session
from store import alerts as sa
from store.db import utcnow
from store.melters import MeltingDevice, shown_id
from store.users import User, staff_of

NOW = utcnow().replace(microsecond=0)


@pytest.fixture(autouse=True)
def _fresh_now():
    """NOW from when each test runs, not from when the suite was collected (a device reported
    "20 minutes ago" must not have gone silent while earlier tests ran)."""
    global NOW
    NOW = utcnow().replace(microsecond=0)


def _state(client, who, did, state, minutes_ago, name=None, where=None, visibility=None):
    item = {"sensor_id": did, "state": state, "time": (NOW - timedelta(minutes=minutes_ago)).isoformat()}
    if where:
        item.update(lon=where[0], lat=where[1])
    if name:
        item["name"] = name
    if visibility:
        item["visibility"] = visibility
    return client.post("/api/readings", json=[item], headers=who.auth)


def _listed(client, who, did) -> tuple[list[dict], str]:
    r = client.get("/api/melters", headers=who.auth if who else {})
    assert r.status_code == 200
    return [d for d in r.json["devices"] if d["id"] == did], r.get_data(as_text=True)


def _staff(app_db, who):
    with app_db.session() as s:
        return staff_of(s, s.scalar(select(User).where(User.email == who.email)))


def _devices(app_db, did) -> dict[str, MeltingDevice]:
    """The stored devices shown as `did`, by organisation code."""
    from store.models import Organisation

    with app_db.session() as s:
        rows = s.execute(select(MeltingDevice, Organisation.code)
                         .join(Organisation, Organisation.id == MeltingDevice.organisation_id)
                         .where((MeltingDevice.ref == did) | ((MeltingDevice.ref == "") & (MeltingDevice.id == did))))
        out = {code: dev for dev, code in rows}
        s.expunge_all()
    return out


def test_two_organisations_post_one_device_id_and_each_sees_only_its_own(client, app_db, kaga, hakui, admin):
    x = f"dev-{uuid.uuid4().hex[:8]}"
    secret = f"羽咋 秘密装置 {uuid.uuid4().hex[:6]}"
    first = _state(client, hakui, x, "稼働中", 30, name=secret, where=(136.7777, 36.8888))
    assert first.status_code == 200 and first.json["created_sensors"] == [x]
    r = _state(client, kaga, x, "停止", 20, name="加賀 消雪装置", where=(136.3111, 36.3222))
    assert r.json == {"accepted": 1, "duplicates": 0, "created_sensors": [x]}  # as for an unused id
    # later states without a position go to each poster's own device
    assert _state(client, kaga, x, "故障", 10).json == {"accepted": 1, "duplicates": 0, "created_sensors": []}
    assert _state(client, hakui, x, "停止", 5).json == {"accepted": 1, "duplicates": 0, "created_sensors": []}
    stored = _devices(app_db, x)
    assert sorted(stored) == ["hakui", "kaga"]
    assert (stored["hakui"].state, stored["kaga"].state) == ("stopped", "fault")
    kaga_name = "加賀 消雪装置"
    for who, state, name, other in ((kaga, "fault", kaga_name, secret), (hakui, "stopped", secret, kaga_name)):
        mine, text = _listed(client, who, x)
        assert [(d["organisation"], d["state"], d["name"]) for d in mine] == [(who.org, state, name)]
        assert f":{x}" not in text and other not in text
        one = client.get(f"/api/melters/{x}", headers=who.auth)
        assert one.status_code == 200 and (one.json["id"], one.json["organisation"]) == (x, who.org)
        hist = client.get(f"/api/melters/{x}/states", headers=who.auth,
                          query_string={"since": (NOW - timedelta(hours=1)).isoformat()})
        assert hist.json["device"] == x
        assert [c["state"] for c in hist.json["changes"]] == (["stopped", "fault"] if who is kaga
                                                              else ["running", "stopped"])
        # the map layer: its own device, by the id it posted
        feats = client.get("/api/layers/snow-melters/features", headers=who.auth)
        ours = [f for f in feats.json["features"] if f["properties"]["id"] == x]
        assert [(f["id"], f["properties"]["name"]) for f in ours] == [(x, name)]
        assert f":{x}" not in feats.get_data(as_text=True) and other not in feats.get_data(as_text=True)
    # anonymous: both private, answered like an unused id
    assert _listed(client, None, x)[0] == []
    unknown = f"dev-{uuid.uuid4().hex[:8]}"
    for path in ("", "/states"):
        a, b = client.get(f"/api/melters/{x}{path}"), client.get(f"/api/melters/{unknown}{path}")
        assert (a.status_code, a.json) == (b.status_code, b.json) and a.status_code == 404
    # a prefecture admin sees both, each by the id its city posted
    both, text = _listed(client, admin, x)
    assert sorted(d["organisation"] for d in both) == ["hakui", "kaga"] and f":{x}" not in text
    # an admin cannot move 加賀市's device to 羽咋市, which has its own device by that id
    # (an admin may address a device by its store key, as the staff pages do)
    moved = client.patch(f"/api/melters/{stored['kaga'].id}", json={"organisation": "hakui"}, headers=admin.auth)
    assert moved.status_code == 409 and moved.json["error"] == "device_exists"
    assert {code: dev.id for code, dev in _devices(app_db, x).items()} == {c: d.id for c, d in stored.items()}
    # 加賀市 changes and deletes its own; 羽咋市's stays as it was
    assert client.patch(f"/api/melters/{x}", json={"road": "加賀市道"}, headers=kaga.auth).json["road"] == "加賀市道"
    assert client.delete(f"/api/melters/{x}", headers=kaga.auth).status_code == 204
    assert sorted(_devices(app_db, x)) == ["hakui"] and _devices(app_db, x)["hakui"].road == ""
    assert client.get(f"/api/melters/{x}", headers=kaga.auth).status_code == 404
    assert client.get(f"/api/melters/{x}", headers=hakui.auth).json["name"] == secret


def test_a_state_never_goes_into_another_organisations_public_device(client, app_db, kaga, hakui):
    p = f"pubdev-{uuid.uuid4().hex[:8]}"
    assert _state(client, hakui, p, "稼働中", 30, name="羽咋 公開装置", where=(136.7777, 36.8888),
                  visibility="public").status_code == 200
    unknown = f"dev-{uuid.uuid4().hex[:8]}"
    # without a position: refused exactly as an unknown id (a new device needs lon/lat)
    a, b = _state(client, kaga, p, "故障", 20), _state(client, kaga, unknown, "故障", 20)
    assert a.status_code == b.status_code == 400 and a.json == b.json
    r = _state(client, kaga, p, "故障", 20, name="加賀 新設", where=(136.3111, 36.3222))
    assert r.json == {"accepted": 1, "duplicates": 0, "created_sensors": [p]}
    stored = _devices(app_db, p)
    assert stored["hakui"].state == "running" and stored["kaga"].state == "fault"
    # anonymous and 羽咋市: the public device as it was, nothing of 加賀市's
    for who in (None, hakui):
        seen, text = _listed(client, who, p)
        assert [(d["organisation"], d["state"]) for d in seen] == [("hakui", "running")] and "加賀 新設" not in text
        got = client.get(f"/api/melters/{p}", headers=who.auth if who else {})
        assert (got.json["organisation"], got.json["state"]) == ("hakui", "running")
    # 加賀市: the public one and its own, both by the id; its own is what it addresses
    seen, text = _listed(client, kaga, p)
    assert sorted((d["organisation"], d["state"]) for d in seen) == [("hakui", "running"), ("kaga", "fault")]
    assert f":{p}" not in text
    assert client.get(f"/api/melters/{p}", headers=kaga.auth).json["organisation"] == "kaga"
    # registering the id again: 409 for 加賀市 (its own), never for an id only another city holds
    body = {"id": p, "name": "重複", "lon": 136.31, "lat": 36.32}
    assert client.post("/api/melters", json=body, headers=kaga.auth).status_code == 409
    q = f"reg-{uuid.uuid4().hex[:8]}"
    assert client.post("/api/melters", json={**body, "id": q}, headers=hakui.auth).status_code == 201
    made = client.post("/api/melters", json={**body, "id": q}, headers=kaga.auth)
    assert made.status_code == 201 and (made.json["id"], made.json["organisation"]) == (q, "kaga")
    for who in (kaga, hakui):
        assert client.delete(f"/api/melters/{q}", headers=who.auth).status_code == 204
        assert client.delete(f"/api/melters/{p}", headers=who.auth).status_code == 204


def test_device_rules_watch_the_owners_own_device_and_mail_nothing_of_the_others(client, app_db, kaga, hakui):
    from alerts.forms import device_options

    x = f"dev-{uuid.uuid4().hex[:8]}"
    secret = f"羽咋 秘密装置 {uuid.uuid4().hex[:6]}"
    assert _state(client, hakui, x, "故障", 30, name=secret, where=(136.7777, 36.8888)).status_code == 200
    assert _state(client, kaga, x, "稼働中", 20, name="加賀 消雪装置", where=(136.3111, 36.3222)).status_code == 200
    rule = {"name": "加賀 消雪装置 故障", "target": "device", "device_id": x, "recipients": ["crew@kaga.example.jp"]}
    made = client.post("/api/alert-rules", json=rule, headers=kaga.auth)
    assert made.status_code == 201 and made.json["device_id"] == x
    rid = made.json["id"]
    with app_db.session() as s:
        watched = s.get(MeltingDevice, s.get(sa.AlertRule, rid).sensor_id)
        assert shown_id(watched) == x and watched.name_ja == "加賀 消雪装置"
        assert list(s.scalars(select(sa.OutboxMail).where(sa.OutboxMail.rule_id == rid))) == []  # 羽咋市's fault
    got = client.get(f"/api/alert-rules/{rid}", headers=kaga.auth)
    assert got.json["device_id"] == x and secret not in got.get_data(as_text=True)
    patched = client.patch(f"/api/alert-rules/{rid}", json={"name": "加賀 故障"}, headers=kaga.auth)
    assert patched.status_code == 200 and patched.json["device_id"] == x
    with app_db.session() as s:
        assert s.get(sa.AlertRule, rid).sensor_id == watched.id  # still its own device
    listed = client.get("/api/alert-rules", headers=kaga.auth).get_data(as_text=True)
    assert f":{x}" not in listed and secret not in listed
    # 加賀市's device faults: the rule fires, the mail names 加賀市's device only
    assert _state(client, kaga, x, "故障", 10).status_code == 200
    with app_db.session() as s:
        tick_session(s, install_config_of(s), utcnow())
    with app_db.session() as s:
        mails = [m.subject + m.body_text + m.body_html
                 for m in s.scalars(select(sa.OutboxMail).where(sa.OutboxMail.rule_id == rid))]
    assert len(mails) == 1 and "加賀 消雪装置" in mails[0] and secret not in mails[0] and f":{x}" not in mails[0]
    # the form's device picker: its own device labelled by the posted id, never the other's
    with app_db.session() as s:
        options = [o for o in device_options(s, _staff(app_db, kaga), "ja") if f"({x})" in o["label"]]
    assert [o["label"].split(" (")[0] for o in options] == ["加賀 消雪装置"]
    assert options[0]["value"] == watched.id
    for who in (kaga, hakui):
        assert client.delete(f"/api/melters/{x}", headers=who.auth).status_code == 204


def test_the_staff_device_list_shows_posted_ids_and_deletes_the_right_organisations_device(
        client, dash_app, app_db, kaga, hakui, admin):
    from layers import melters_manage
    from pages.staff_road_info import melters_table

    x = f"dev-{uuid.uuid4().hex[:8]}"
    assert _state(client, hakui, x, "稼働中", 30, name="羽咋 装置", where=(136.7777, 36.8888)).status_code == 200
    assert _state(client, kaga, x, "停止", 20, name="加賀 装置", where=(136.3111, 36.3222)).status_code == 200
    boss = _staff(app_db, admin)
    mine = [d for d in melters_manage.manageable(app_db, _staff(app_db, kaga)) if d["id"] == x]
    assert [(d["organisation"], d["name"]) for d in mine] == [("kaga", "加賀 装置")]
    with dash_app.server.app_context():
        page = str(melters_table(boss, "ja"))
    assert f"melter:kaga/{x}" in page and f"melter:hakui/{x}" in page and f":{x}'" not in page.replace(
        f"melter:kaga/{x}'", "").replace(f"melter:hakui/{x}'", "")
    # the admin deletes 加賀市's device (the list's button names whose): 羽咋市's stays
    melters_manage.remove(app_db, boss, x, organisation="kaga")
    assert sorted(_devices(app_db, x)) == ["hakui"]
    melters_manage.remove(app_db, boss, x, organisation="hakui")
    assert _devices(app_db, x) == {}


def test_an_old_database_gets_the_ref_column_of_devices(db):
    """Devices made before `ref` were keyed by their ids: after create_all they are shown so and
    found by those ids; a second start changes nothing."""
    import sqlalchemy as sqla

    from store.layers import ensure_organisation
    from store.melters import find_device, new_device, posted_device
    from store.schema import create_all

    with db.session() as s:
        kaga = ensure_organisation(s, "kaga", "加賀市", "Kaga")
        s.add(MeltingDevice(id="m-1", organisation_id=kaga.id, name_ja="m", lon=136.3, lat=36.3))
        kaga_id = kaga.id
    with db.engine.begin() as conn:  # the table before the column
        conn.execute(sqla.text("DROP INDEX ix_melting_devices_ref"))
        conn.execute(sqla.text("ALTER TABLE melting_devices DROP COLUMN ref"))
    create_all(db)
    create_all(db)
    with db.session() as s:
        dev = posted_device(s, "m-1", kaga_id)
        assert dev is not None and shown_id(dev) == "m-1"
        assert find_device(s, "m-1", sqla.true()).id == "m-1"
        hakui = ensure_organisation(s, "hakui", "羽咋市", "Hakui")
        theirs = new_device(s, "hakui", "m-1", organisation_id=hakui.id, name_ja="h", lon=136.7, lat=36.8)
        s.flush()
        assert (theirs.id, shown_id(theirs)) == ("hakui:m-1", "m-1")
        assert posted_device(s, "m-1", hakui.id).id == "hakui:m-1"
        assert find_device(s, "m-1", sqla.true(), hakui.id).id == "hakui:m-1"
        assert find_device(s, "hakui:m-1", sqla.true()).id == "hakui:m-1"  # a store key answers too


@pytest.mark.browser
@pytest.mark.usefixtures("loopback_sources")
def test_an_admin_deletes_one_citys_device_from_the_staff_page(dash_duo, dash_app, app_db, client, kaga, hakui, admin):
    """/staff/road-info as a prefecture admin: both cities' devices are listed by the id they posted,
    and 削除 on 加賀市's row deletes 加賀市's device, never 羽咋市's of the same id."""
    from selenium.webdriver.common.by import By

    from tests.browser_helpers import wait_until
    from tests.staff_helpers import PASSWORD

    x = f"dev-{uuid.uuid4().hex[:8]}"
    assert _state(client, hakui, x, "稼働中", 30, name="羽咋 装置 B", where=(136.7777, 36.8888)).status_code == 200
    assert _state(client, kaga, x, "停止", 20, name="加賀 装置 B", where=(136.3111, 36.3222)).status_code == 200
    dash_duo.start_server(dash_app)
    dash_duo.driver.get(dash_duo.server_url + "/login?next=/staff/road-info")
    dash_duo.wait_for_element("#login-email", timeout=10).send_keys(admin.email)
    dash_duo.find_element("#login-password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    dash_duo.wait_for_element("#staff-roadinfo-devices", timeout=15)
    page = dash_duo.find_element("#staff-roadinfo-melter-list").text
    assert "羽咋 装置 B" in page and "加賀 装置 B" in page and f":{x}" not in page

    def button():
        found = dash_duo.driver.find_elements(By.XPATH, f"//button[contains(@id, 'melter:kaga/{x}')]")
        return found[0] if found else None

    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", wait_until(button, 10, "削除"))
    button().click()

    def alert():
        try:
            return dash_duo.driver.switch_to.alert
        except Exception:
            return None

    wait_until(alert, 10, "the confirmation").accept()
    wait_until(lambda: button() is None, 15, "the list without 加賀市's device")
    assert sorted(_devices(app_db, x)) == ["hakui"]
    assert "羽咋 装置 B" in dash_duo.find_element("#staff-roadinfo-melter-list").text
    assert client.delete(f"/api/melters/{x}", headers=hakui.auth).status_code == 204
