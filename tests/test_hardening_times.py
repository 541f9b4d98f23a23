"""Times and numbers no observation can have are refused at every door, one item at a time with a
reason, and nothing downstream (alerts, mails, JSON answers) breaks on one that got in anyway."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import orjson

from store.db import utcnow
from store.models import Reading, Sensor
from store.sensors import upsert_sensor


def strict_json(text: str):
    """Parse as JSON the way every other JSON reader does: no Infinity / NaN."""
    def refuse(const):
        raise ValueError(f"not JSON: {const}")
    return json.loads(text, parse_constant=refuse)


def _readings(client, who, items, raw: bytes | None = None):
    if raw is not None:
        return client.post("/api/readings", data=raw, headers=who.auth, content_type="application/json")
    return client.post("/api/readings", json=items, headers=who.auth)


def _count(app_db, sid):
    with app_db.session() as s:
        # a sensor made by posting is kept under `<org>:<id>`, its posted id in `ref`
        return s.query(Reading).join(Sensor, Sensor.id == Reading.sensor_id).filter(
            (Sensor.id == sid) | (Sensor.ref == sid)).count()


def test_readings_with_impossible_times_are_refused_per_item(client, app_db, kaga):
    sid = f"t-{uuid.uuid4().hex[:8]}"
    now = utcnow()
    ok = {"sensor_id": sid, "value": 3, "time": (now + timedelta(minutes=4)).isoformat(), "lon": 136.3, "lat": 36.3}
    cases = {"0001-01-01T00:00:00+14:00": "too_old", "9999-12-31T23:59:59-14:00": "future",
             "9999-12-31T23:59:59+00:00": "future",
             "9999-12-31": "future", "1999-12-31T23:59:59Z": "too_old", "1970-01-01T00:00:00Z": "too_old",
             (now + timedelta(minutes=6)).isoformat(): "future"}
    for when, reason in cases.items():
        r = _readings(client, kaga, [ok, {"sensor_id": sid, "value": 5, "time": when}])
        assert r.status_code == 400, (when, r.status_code)
        body = strict_json(r.get_data(as_text=True))
        (d,) = body["details"]
        assert d["index"] == 1 and d.get("reason") == reason, (when, d)
        assert _count(app_db, sid) == 0  # all or nothing: the good item is not stored either
    assert _readings(client, kaga, [ok]).status_code == 200 and _count(app_db, sid) == 1


def test_readings_with_non_finite_values_are_refused_at_the_door(client, app_db, kaga):
    sid = f"nf-{uuid.uuid4().hex[:8]}"
    now = utcnow().isoformat()
    for literal in ("1e999", "-1e999", "Infinity", "-Infinity", "NaN"):
        raw = (f'[{{"sensor_id": "{sid}", "value": {literal}, "time": "{now}", "lon": 136.3, "lat": 36.3}}]').encode()
        r = _readings(client, kaga, None, raw=raw)
        assert r.status_code == 400, literal
        body = strict_json(r.get_data(as_text=True))
        assert body["details"][0]["index"] == 0, literal
        assert _count(app_db, sid) == 0
    with app_db.session() as s:
        assert s.get(Sensor, sid) is None


def test_every_json_answer_is_valid_json_even_with_a_non_finite_value_stored(client, app_db, kaga):
    sid = f"inf-{uuid.uuid4().hex[:8]}"
    with app_db.session() as s:
        upsert_sensor(s, sid, layer_id="snow-depth", name_ja="無限", lon=136.5, lat=36.5)
        x = s.get(Sensor, sid)
        x.last_value, x.last_observed_at = float("inf"), utcnow()
    try:
        for path in ("/api/sensors", "/api/layers/snow-depth/features"):
            r = client.get(path, headers=kaga.auth)
            assert r.status_code == 200
            strict_json(r.get_data(as_text=True))
    finally:
        with app_db.session() as s:
            s.delete(s.get(Sensor, sid))


def test_vehicle_fixes_far_in_the_past_are_refused(client, kaga):
    now = utcnow()
    fixes = [{"vehicle_id": "HARD-1", "lon": 136.78, "lat": 36.89, "time": "0001-01-01T00:00:00+14:00"},
             {"vehicle_id": "HARD-2", "lon": 136.78, "lat": 36.89, "time": "1999-12-31T23:59:59Z"},
             {"vehicle_id": "HARD-3", "lon": 136.78, "lat": 36.89, "time": "9999-12-31T23:59:59Z"},
             {"vehicle_id": "HARD-4", "lon": 136.78, "lat": 36.89, "time": "9999-12-31"}]
    r = client.post("/api/vehicles/fixes", data=orjson.dumps(fixes), headers=kaga.auth,
                    content_type="application/json")
    assert r.status_code == 200, r.get_data(as_text=True)
    body = strict_json(r.get_data(as_text=True))
    assert body["accepted"] == 0
    assert [x["reason"] for x in body["rejections"]] == ["too_old", "too_old", "future", "future"]
    assert now  # the clock of the server decides "future"


SOURCE_PREFIX = "hardtest"  # the `source` fixture's layers


def _weather(eid: str, value, when: str) -> dict:
    return {"id": eid, "type": "WeatherObserved",
            "location": {"type": "geo:json", "value": {"type": "Point", "coordinates": [136.7, 36.9]}},
            "snowHeight": {"type": "Number", "value": value},
            "dateObserved": {"type": "DateTime", "value": when}}


def test_ngsi_notifications_refuse_non_finite_values_and_impossible_times(client, app_db, source):
    sid, secret = source
    now = utcnow().isoformat()
    tag = uuid.uuid4().hex[:6]
    data = [_weather(f"WeatherObserved:good-{tag}", 12, now),
            _weather(f"WeatherObserved:inf-{tag}", "1e999", now),
            _weather(f"WeatherObserved:infinity-{tag}", "Infinity", now),
            _weather(f"WeatherObserved:nan-{tag}", "NaN", now),
            _weather(f"WeatherObserved:future-{tag}", 5, "9999-12-31T23:59:59Z"),
            _weather(f"WeatherObserved:old-{tag}", 5, "1999-01-01T00:00:00Z"),
            _weather(f"WeatherObserved:year1-{tag}", 5, "0001-01-01T00:00:00+14:00")]
    r = client.post(f"/ngsi/notify/{sid}?token={secret}", data=orjson.dumps({"data": data}),
                    content_type="application/json")
    assert r.status_code == 200, r.get_data(as_text=True)
    strict_json(r.get_data(as_text=True))
    with app_db.session() as s:
        stored = {x.sensor_id: x.value for x in s.query(Reading).join(Sensor, Sensor.id == Reading.sensor_id)
                  .filter(Sensor.layer_id.like("hardtest-%"))}
    assert list(stored.values()) == [12.0], stored  # only the good one
    reasons = {x["entity_id"].split(":")[1].rsplit("-", 1)[0]: x["reason"] for x in r.get_json().get("rejected", [])}
    assert reasons == {"future": "future", "old": "too_old", "year1": "too_old"}  # non-finite: not a reading
    r = client.get("/api/sensors")
    strict_json(r.get_data(as_text=True))


def test_ngsi_numbers_and_times_never_overflow():
    from sources.ngsi import number, parse_datetime

    for text in ("1e999", "-1e999", "Infinity", "NaN", float("inf"), float("nan"), 10 ** 400):
        assert number(text) is None, text
    assert number("12.5") == 12.5 and number(3) == 3.0
    from sources.observed import time_problem

    now = datetime.now(UTC)
    assert time_problem(parse_datetime("0001-01-01T00:00:00+14:00"), now) == "too_old"
    assert time_problem(parse_datetime("9999-12-31T23:59:59-14:00"), now) == "future"


def test_formatting_a_time_never_overflows():
    from alerts.engine import Condition, in_quiet_hours
    from alerts.mail import fmt_jst

    edge = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    assert fmt_jst(edge).startswith("9999-12-31 23:00")
    assert "JST" in fmt_jst(datetime(1, 1, 1, tzinfo=UTC))
    assert in_quiet_hours(Condition(op=">", threshold=1, quiet_start="22:00", quiet_end="06:00"), edge) is False


def test_a_stored_reading_dated_9999_does_not_break_rule_saves(client, app_db, kaga):
    """One organisation's bad clock must not break the alerts of everybody watching the area."""
    sid = f"y9999-{uuid.uuid4().hex[:8]}"
    with app_db.session() as s:
        upsert_sensor(s, sid, layer_id="snow-depth", name_ja="9999年", lon=137.95, lat=37.95)
        x = s.get(Sensor, sid)
        x.last_value, x.last_observed_at = 50.0, datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    try:
        body = {"name": "9999", "area": [137.94, 37.94, 137.96, 37.96], "op": ">", "threshold": 1,
                "recipients": ["duty@kaga.example.jp"]}
        r = client.post("/api/alert-rules", json=body, headers=kaga.auth)
        assert r.status_code == 201, r.get_data(as_text=True)[:300]
        r = client.get(f"/staff/alerts/history.csv?rule={r.json['id']}", headers=kaga.auth)
        assert r.status_code == 200
    finally:
        with app_db.session() as s:
            s.delete(s.get(Sensor, sid))
