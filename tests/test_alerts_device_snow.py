"""Device rules with the condition "stopped_while_snow": a snow-melting device that reports 停止 while
the nearest snow-depth sensor its rule may see reads more than N cm fires; it clears when the device
runs again or the depth falls. The mail names the device, its state, the sensor, the depth and the
distance, and links the nearest camera's snapshot."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from alerts import rules
from alerts.config import install_config_of
from alerts.evaluation import tick_session
from alerts.forms import device_options, form_to_json, rule_to_form
from alerts.rules_json import RuleError
from store import alerts as sa
from store.cameras import Camera, CameraImage
from store.db import utcnow
from store.layers import upsert_layer
from store.melters import FAULT, RUNNING, STOPPED, MeltingDevice, report_state
from store.models import PRIVATE, Sensor
from store.sensors import add_reading, upsert_sensor
from store.users import EDITOR, create_token, create_user
from tests.alert_helpers import T0


@pytest.fixture
def world(alerts_world):
    """conftest's `alerts_world` with devices of 羽咋市 and 加賀市, snow-depth sensors near them and a
    camera beside one (the mail links the nearest camera's snapshot within 3 km)."""
    db, cfg, clock, staff = alerts_world
    cfg.extra["camera_nearest_m"] = 3000
    orgs = {k: v.organisation_id for k, v in staff.items()}
    with db.session() as s:
        for did, org, vis, lon in (("pub-dev", "hakui", "public", 136.7800),
                                   ("hakui-dev", "hakui", "private", 136.7900),
                                   ("kaga-dev", "kaga", "private", 136.3100)):
            dev = MeltingDevice(id=did, organisation_id=orgs[org], name_ja=f"装置 {did}", name_en=f"Device {did}",
                                lon=lon, lat=36.5, visibility=vis, interval_s=600)
            s.add(dev)
            s.flush()
            report_state(s, dev, RUNNING, T0 - timedelta(minutes=5))
        upsert_layer(s, "depth-pub", kind="snow_depth", name_ja="積雪深", group="yuki", organisation_id=orgs["admin"])
        upsert_layer(s, "depth-hakui", kind="snow_depth", name_ja="羽咋 積雪深", group="yuki",
                     organisation_id=orgs["hakui"], visibility=PRIVATE)
        # the public sensor ~900 m east of pub-dev; Hakui's private one ~90 m from it; a water gauge nearer still
        upsert_sensor(s, "snow-pub", layer_id="depth-pub", name_ja="公開 積雪計", name_en="Public gauge",
                      lon=136.7900, lat=36.5010, unit="cm")
        upsert_sensor(s, "snow-hakui", layer_id="depth-hakui", name_ja="羽咋 非公開 積雪計", lon=136.7810, lat=36.5,
                      unit="cm")
        upsert_sensor(s, "water-1", layer_id="depth-pub", name_ja="水位計", lon=136.7801, lat=36.5, unit="m",
                      attribute="waterLevel")
        upsert_sensor(s, "snow-kaga-far", layer_id="depth-pub", name_ja="加賀 積雪計", lon=136.30, lat=36.40, unit="cm")
        # a public camera beside pub-dev with a snapshot of the moment
        s.add(Camera(id="cam-by-dev", organisation_id=orgs["hakui"], name_ja="装置のそば", lon=136.7805, lat=36.5,
                     url="http://cam.example/x.jpg"))
        s.flush()
        for minutes in (0, 10, 20, 30):
            s.add(CameraImage(camera_id="cam-by-dev", taken_at=T0 + timedelta(minutes=minutes), path="x.jpg",
                              thumb_path="x_t.jpg", width=4, height=3, bytes=10))
    with db.session() as s:
        for sid, depth in (("snow-pub", 30.0), ("snow-hakui", 5.0), ("water-1", 99.0), ("snow-kaga-far", 80.0)):
            add_reading(s, s.get(Sensor, sid), depth, T0 - timedelta(minutes=2))
    return alerts_world


def snow_rule(**over) -> dict:
    b = {"name": "停止中の積雪", "target": "device", "recipients": ["duty@hakui.example.jp"],
         "options": {"condition": "stopped_while_snow", "depth_over": 20, "within_m": 3000}}
    b.update(over)
    return b


def events_of(s, rid):
    return [(e.subject, e.kind) for e in s.scalars(select(sa.AlertEvent).where(sa.AlertEvent.rule_id == rid)
                                                    .order_by(sa.AlertEvent.id))]


def mails_of(s, rid):
    return list(s.scalars(select(sa.OutboxMail).where(sa.OutboxMail.rule_id == rid).order_by(sa.OutboxMail.id)))


def _state(db, did, state, at):
    with db.session() as s:
        report_state(s, s.get(MeltingDevice, did), state, at)


def _depth(db, sid, value, at):
    with db.session() as s:
        add_reading(s, s.get(Sensor, sid), value, at)


def _tick(db, cfg, at):
    with db.session() as s:
        tick_session(s, cfg, at)


def test_stopped_under_snow_fires_with_a_full_mail_and_clears_when_running(world):
    db, cfg, clock, staff = world
    with db.session() as s:  # a public rule: public devices and the public sensor only
        rid = rules.create(s, staff["hakui"], snow_rule(public=True), cfg).id
    _tick(db, cfg, T0)
    with db.session() as s:
        assert events_of(s, rid) == []  # running: nothing to say, whatever the depth
    clock.t = T0 + timedelta(minutes=10)
    _state(db, "pub-dev", STOPPED, clock.t)
    _tick(db, cfg, clock.t)
    _tick(db, cfg, clock.t + timedelta(seconds=5))  # the same report: no second alert
    with db.session() as s:
        assert events_of(s, rid) == [("pub-dev", "fired")]
        [mail] = mails_of(s, rid)
        text = mail.body_text
        assert "装置 pub-dev" in mail.subject and "停止" in mail.subject
        assert "公開 積雪計 (snow-pub)" in text and "30 cm" in text  # the public sensor, not Hakui's nearer one
        assert "snow-hakui" not in text and "非公開" not in text
        assert "最寄りの積雪深 > 20 cm" in text
        dist = next(line for line in text.splitlines() if line.startswith("積雪計までの距離"))
        assert 850 <= int(dist.split(":")[1].strip().split()[0].replace(",", "")) <= 1000
        assert "/api/cameras/cam-by-dev/images/" in text  # the nearest camera at that moment
        assert "/sensors?sensor=snow-pub" in text
    clock.t = T0 + timedelta(minutes=20)
    _state(db, "pub-dev", RUNNING, clock.t)
    _tick(db, cfg, clock.t)
    with db.session() as s:
        assert events_of(s, rid) == [("pub-dev", "fired"), ("pub-dev", "cleared")]
        cleared = mails_of(s, rid)[-1]
        assert cleared.kind == "cleared" and "稼働中" in cleared.body_text


def test_the_depth_falling_clears_and_rising_fires_again(world):
    db, cfg, clock, staff = world
    with db.session() as s:
        rid = rules.create(s, staff["hakui"], snow_rule(device_id="pub-dev", language="en",
                                                        options={"condition": "stopped_while_snow",
                                                                 "depth_over": 10}), cfg).id
    clock.t = T0 + timedelta(minutes=10)
    _state(db, "pub-dev", STOPPED, clock.t)
    _tick(db, cfg, clock.t)
    with db.session() as s:
        # Hakui's own rule sees its private sensor, ~90 m away, reading 5 cm: not over 10
        assert events_of(s, rid) == []
    clock.t = T0 + timedelta(minutes=15)
    _depth(db, "snow-hakui", 14.0, clock.t)
    _tick(db, cfg, clock.t)
    clock.t = T0 + timedelta(minutes=25)
    _depth(db, "snow-hakui", 8.0, clock.t)
    _tick(db, cfg, clock.t)
    with db.session() as s:
        assert events_of(s, rid) == [("pub-dev", "fired"), ("pub-dev", "cleared")]
        fired = mails_of(s, rid)[0].body_text
        assert "Stopped" in fired and "14 cm" in fired and "snow-hakui" in fired
        assert "Nearest snow-depth sensor" in fired and "Distance to the sensor" in fired


def test_no_sensor_in_reach_and_other_states_never_fire(world):
    db, cfg, clock, staff = world
    with db.session() as s:  # 50 m: no snow sensor that near (the water gauge is no snow sensor)
        near = rules.create(s, staff["hakui"], snow_rule(name="近く", options={
            "condition": "stopped_while_snow", "depth_over": 0, "within_m": 50}), cfg).id
        kaga = rules.create(s, staff["kaga"], snow_rule(name="加賀", options={
            "condition": "stopped_while_snow", "depth_over": 20, "within_m": 50000}), cfg).id
    clock.t = T0 + timedelta(minutes=10)
    _state(db, "pub-dev", STOPPED, clock.t)
    _state(db, "hakui-dev", FAULT, clock.t)  # a fault is not 停止
    _state(db, "kaga-dev", STOPPED, clock.t)
    _tick(db, cfg, clock.t)
    with db.session() as s:
        assert events_of(s, near) == []
        # Kaga's rule: its own device (the Kaga gauge, 80 cm) and the public one; never Hakui's private device
        assert sorted(events_of(s, kaga)) == [("kaga-dev", "fired"), ("pub-dev", "fired")]
        assert "hakui-dev" not in " ".join(m.body_text for m in mails_of(s, kaga))
        assert "snow-hakui" not in " ".join(m.body_text for m in mails_of(s, kaga))


def test_bad_conditions_are_refused_with_the_field(world):
    db, cfg, _clock, staff = world
    with db.session() as s:
        for options, field in (({"condition": "melting"}, "options.condition"),
                               ({"condition": "stopped_while_snow"}, "options.depth_over"),
                               ({"condition": "stopped_while_snow", "depth_over": -1}, "options.depth_over"),
                               ({"condition": "stopped_while_snow", "depth_over": 5, "within_m": 0},
                                "options.within_m"),
                               ({"condition": "stopped_while_snow", "depth_over": 5, "within_m": 90000},
                                "options.within_m"),
                               ({"condition": "stopped_while_snow", "depth_over": "deep"}, "options.depth_over")):
            with pytest.raises(RuleError) as err:
                rules.create(s, staff["hakui"], snow_rule(options=options), cfg)
            assert field in [d["field"] for d in err.value.details], options


def test_the_staff_form_offers_only_visible_devices_and_round_trips(world):
    db, cfg, _clock, staff = world
    with db.session() as s:
        kaga = [o["value"] for o in device_options(s, staff["kaga"], "ja")]
        hakui = [o["value"] for o in device_options(s, staff["hakui"], "en")]
        admin = [o["value"] for o in device_options(s, staff["admin"], "ja")]
    assert kaga == ["kaga-dev", "pub-dev"] and hakui == ["hakui-dev", "pub-dev"]
    assert admin == ["hakui-dev", "kaga-dev", "pub-dev"]
    data = form_to_json({"name": "一台", "target": "device", "device_id": "hakui-dev", "area": "1, 2, 3, 4",
                         "device_condition": "stopped_while_snow", "depth_over": 15, "within_m": 2000,
                         "recipients": "a@hakui.example.jp"})
    assert data["device_id"] == "hakui-dev" and "area" not in data  # one device: the area is not used
    assert data["options"] == {"condition": "stopped_while_snow", "depth_over": 15, "within_m": 2000}
    with db.session() as s:
        rule = rules.create(s, staff["hakui"], data, cfg)
        form = rule_to_form(rule)
        assert form["device_id"] == "hakui-dev" and form["sensor_id"] is None
        assert form["device_condition"] == "stopped_while_snow" and form["depth_over"] == 15
        with pytest.raises(RuleError):  # the same form from Kaga: not a device it may watch
            rules.create(s, staff["kaga"], data, cfg)


def _token(app_db, org: str, role: str = EDITOR) -> str:
    with app_db.session() as s:
        user = create_user(s, f"{org}-{uuid.uuid4().hex[:8]}@example.jp", "correct horse battery", org, role)
        return create_token(s, user, "test")


def test_through_the_api_a_posted_stop_under_snow_fires(client, app_db):
    hakui = _token(app_db, "hakui")
    tag = uuid.uuid4().hex[:6]
    did, sid = f"hakui-snow-melter-{tag}", f"hakui-snow-gauge-{tag}"
    now = utcnow().replace(microsecond=0)
    auth = {"Authorization": f"Bearer {hakui}"}
    posted = [{"sensor_id": did, "state": "稼働中", "time": (now - timedelta(minutes=3)).isoformat(), "lon": 136.9501,
               "lat": 37.3001, "name": "積雪停止テスト装置", "visibility": "private"},
              {"sensor_id": sid, "value": 42, "time": (now - timedelta(minutes=3)).isoformat(), "lon": 136.9502,
               "lat": 37.3002, "name": "積雪停止テスト積雪計", "attribute": "snowDepth", "unit": "cm",
               "visibility": "private"}]
    r = client.post("/api/readings", json=posted, headers=auth)
    assert r.status_code == 200, r.json
    bad = client.post("/api/alert-rules", json=snow_rule(device_id=did, options={"condition": "stopped_while_snow"}),
                      headers=auth)
    assert bad.status_code == 400 and "options.depth_over" in [d["field"] for d in bad.json["details"]]
    r = client.post("/api/alert-rules", json=snow_rule(device_id=did), headers=auth)
    assert r.status_code == 201, r.json
    assert r.json["options"] == {"condition": "stopped_while_snow", "depth_over": 20, "within_m": 3000}
    stop = [{"sensor_id": did, "state": "停止", "time": now.isoformat()}]
    assert client.post("/api/readings", json=stop, headers=auth).status_code == 200
    with app_db.session() as s:
        tick_session(s, install_config_of(s), utcnow())
    with app_db.session() as s:
        assert events_of(s, r.json["id"]) == [(did, "fired")]
        [mail] = mails_of(s, r.json["id"])
        assert "積雪停止テスト積雪計" in mail.body_text and "42 cm" in mail.body_text
