"""Alert rules on snow-melting devices (target "device"): fault and no reports fire, back to normal
clears, with mails like the other rules; a rule sees only the devices its owner may see."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from alerts import rules
from alerts.config import install_config_of
from alerts.evaluation import tick_session
from alerts.rules_json import RuleError
from store import alerts as sa
from store.db import utcnow
from store.melters import FAULT, RUNNING, MeltingDevice, report_state
from store.users import EDITOR, create_token, create_user
from tests.alert_helpers import T0


@pytest.fixture
def world(alerts_world):
    """conftest's alerts_world with three running devices: public and private of 羽咋市, private of
    加賀市 (each reported 5 minutes before T0): (db, cfg, clock, staff)."""
    db, cfg, clock, staff = alerts_world
    with db.session() as s:
        for did, org, vis, lon in (("pub-dev", "hakui", "public", 136.78), ("hakui-dev", "hakui", "private", 136.79),
                                   ("kaga-dev", "kaga", "private", 136.31)):
            dev = MeltingDevice(id=did, organisation_id=staff[org].organisation_id, name_ja=f"装置 {did}",
                                name_en=f"Device {did}", lon=lon, lat=36.5, visibility=vis, interval_s=600)
            s.add(dev)
            s.flush()
            report_state(s, dev, RUNNING, T0 - timedelta(minutes=5))
    return alerts_world


def device_rule(**over) -> dict:
    b = {"name": "消雪装置 故障", "target": "device", "recipients": ["duty@hakui.example.jp"]}
    b.update(over)
    return b


def events_of(s, rid):
    return [(e.subject, e.kind) for e in s.scalars(select(sa.AlertEvent).where(sa.AlertEvent.rule_id == rid)
                                                    .order_by(sa.AlertEvent.id))]


def test_fault_fires_with_a_mail_and_running_again_clears(world):
    db, cfg, clock, staff = world
    with db.session() as s:
        rid = rules.create(s, staff["hakui"], device_rule(device_id="hakui-dev"), cfg).id
    with db.session() as s:
        assert events_of(s, rid) == []  # running: nothing to say
        clock.t = T0 + timedelta(minutes=1)
        report_state(s, s.get(MeltingDevice, "hakui-dev"), FAULT, clock.t)
        report_state(s, s.get(MeltingDevice, "pub-dev"), FAULT, clock.t)  # not this rule's device
    with db.session() as s:
        tick_session(s, cfg, clock.t)
        tick_session(s, cfg, clock.t + timedelta(seconds=5))  # the same report: no second alert
    with db.session() as s:
        assert events_of(s, rid) == [("hakui-dev", "fired")]
        mails = list(s.scalars(select(sa.OutboxMail).where(sa.OutboxMail.rule_id == rid)))
        assert len(mails) == 1 and mails[0].to_addr == "duty@hakui.example.jp"
        assert "装置 hakui-dev" in mails[0].body_text
        clock.t = T0 + timedelta(minutes=4)
        report_state(s, s.get(MeltingDevice, "hakui-dev"), RUNNING, clock.t)
    with db.session() as s:
        tick_session(s, cfg, clock.t)
    with db.session() as s:
        assert events_of(s, rid) == [("hakui-dev", "fired"), ("hakui-dev", "cleared")]
        kinds = [m.kind for m in s.scalars(select(sa.OutboxMail).where(sa.OutboxMail.rule_id == rid))]
        assert kinds == ["fired", "cleared"]


def test_a_device_that_stops_reporting_fires_unless_the_rule_ignores_silence(world):
    db, cfg, clock, staff = world
    area = [136.7, 36.4, 136.9, 36.6]  # the two Hakui devices, not Kaga's
    with db.session() as s:
        loud = rules.create(s, staff["hakui"], device_rule(name="停止検知", area=area), cfg).id
        quiet = rules.create(s, staff["hakui"], device_rule(name="故障のみ", area=area, options={"stale": False}),
                             cfg).id
    clock.t = T0 + timedelta(minutes=40)  # 30 minutes (3 intervals) without a report: stale
    with db.session() as s:
        tick_session(s, cfg, clock.t)
    with db.session() as s:
        assert sorted(events_of(s, loud)) == [("hakui-dev", "fired"), ("pub-dev", "fired")]
        assert events_of(s, quiet) == []
        report_state(s, s.get(MeltingDevice, "pub-dev"), RUNNING, clock.t)
    with db.session() as s:
        tick_session(s, cfg, clock.t + timedelta(seconds=5))
    with db.session() as s:
        assert ("pub-dev", "cleared") in events_of(s, loud) and ("hakui-dev", "cleared") not in events_of(s, loud)


def test_rules_see_only_the_devices_their_owner_may_see(world):
    db, cfg, clock, staff = world
    with db.session() as s:
        with pytest.raises(RuleError) as err:  # another city's private device answers like an unknown one
            rules.create(s, staff["kaga"], device_rule(device_id="hakui-dev"), cfg)
        assert err.value.details[0]["message_key"] == "alerts.err.device"
        with pytest.raises(RuleError) as err:  # a public rule over the city's own private device
            rules.create(s, staff["hakui"], device_rule(device_id="hakui-dev", public=True), cfg)
        assert err.value.details[0]["message_key"] == "alerts.err.public_private"
        kaga_all = rules.create(s, staff["kaga"], device_rule(name="加賀 全装置"), cfg).id
        public_all = rules.create(s, staff["hakui"], device_rule(name="公開", public=True), cfg).id
        admin_all = rules.create(s, staff["admin"], device_rule(name="県"), cfg).id
        clock.t = T0 + timedelta(minutes=1)
        for did in ("pub-dev", "hakui-dev", "kaga-dev"):
            report_state(s, s.get(MeltingDevice, did), FAULT, clock.t)
    with db.session() as s:
        tick_session(s, cfg, clock.t)
    with db.session() as s:
        assert sorted(x for x, _ in events_of(s, kaga_all)) == ["kaga-dev", "pub-dev"]
        assert sorted(x for x, _ in events_of(s, public_all)) == ["pub-dev"]
        assert sorted(x for x, _ in events_of(s, admin_all)) == ["hakui-dev", "kaga-dev", "pub-dev"]
        body = "\n".join(m.body_text for m in s.scalars(select(sa.OutboxMail)
                                                         .where(sa.OutboxMail.rule_id == kaga_all)))
        assert "hakui-dev" not in body


def _token(app_db, org: str, role: str = EDITOR) -> str:
    with app_db.session() as s:
        user = create_user(s, f"{org}-{uuid.uuid4().hex[:8]}@example.jp", "correct horse battery", org, role)
        return create_token(s, user, "test")


def test_device_rule_through_the_api_fires_on_a_posted_fault(client, app_db):
    hakui, kaga = _token(app_db, "hakui"), _token(app_db, "kaga")
    did = f"hakui-alert-melter-{uuid.uuid4().hex[:6]}"
    now = utcnow().replace(microsecond=0)
    post = [{"sensor_id": did, "state": "稼働中", "time": (now - timedelta(minutes=2)).isoformat(), "lon": 136.786,
             "lat": 36.893, "name": "警報テスト消雪装置", "visibility": "private"}]
    assert client.post("/api/readings", json=post, headers={"Authorization": f"Bearer {hakui}"}).status_code == 200
    bad = client.post("/api/alert-rules", json=device_rule(device_id=did),
                      headers={"Authorization": f"Bearer {kaga}"})
    assert bad.status_code == 400 and bad.json["details"][0]["field"] == "device_id"
    r = client.post("/api/alert-rules", json=device_rule(device_id=did), headers={"Authorization": f"Bearer {hakui}"})
    assert r.status_code == 201, r.json
    assert r.json["target"] == "device" and r.json["device_id"] == did and r.json["op"] == ">="
    fault = [{"sensor_id": did, "state": "故障", "time": now.isoformat()}]
    assert client.post("/api/readings", json=fault, headers={"Authorization": f"Bearer {hakui}"}).status_code == 200
    with app_db.session() as s:
        cfg = install_config_of(s)
        tick_session(s, cfg, utcnow())
    with app_db.session() as s:
        assert events_of(s, r.json["id"]) == [(did, "fired")]
        assert len(list(s.scalars(select(sa.OutboxMail).where(sa.OutboxMail.rule_id == r.json["id"])))) == 1
    listed = client.get("/api/alert-rules", headers={"Authorization": f"Bearer {kaga}"}).json
    assert r.json["id"] not in [x["id"] for x in (listed.get("rules", listed) if isinstance(listed, dict) else listed)]
