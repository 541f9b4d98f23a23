"""`POST /ngsi/notify/<source id>`: Orion's recorded notifications, token check, store-then-2xx."""
from __future__ import annotations

import orjson

from store.models import Feature, Layer, Reading, Sensor
from tests.fake_orion import as_orion_returns, fixture, key_values

SOURCE_PREFIX = "pushtest"  # the `source` fixture's layers: pushtest-snow, pushtest-points, …


def recorded(name):
    rec = fixture(name)["notification_request_sent_by_orion"]
    headers = {k: v for k, v in rec["headers"].items()
               if k.lower() in ("fiware-service", "fiware-servicepath", "ngsiv2-attrsformat", "fiware-correlator")}
    return rec["body"], headers


def weather_notification(value=33, key_vals=False):
    e = as_orion_returns(fixture("WeatherObserved.example-normalized.json"))
    e["id"] = "WeatherObserved:push-1"
    e["location"]["value"]["coordinates"] = [136.7, 36.9]
    e["snowHeight"]["value"] = value
    e["dateObserved"]["value"] = "2026-01-15T03:00:00.000Z"
    return {"subscriptionId": "659e5c2a8d1f3b0012345678", "data": [key_values(e) if key_vals else e]}


def test_refused_without_or_with_a_wrong_token(client, source, app_db):
    sid, secret = source
    body, headers = recorded("09-notification-normalized-with-fiware-service.json")
    for url in [f"/ngsi/notify/{sid}", f"/ngsi/notify/{sid}?token=wrong", f"/ngsi/notify/999999?token={secret}"]:
        r = client.post(url, data=orjson.dumps(body), headers=headers, content_type="application/json")
        assert r.status_code == 401 and r.get_json()["error"] == "unauthorized"


def test_recorded_notifications_are_accepted_in_both_forms(client, source):
    sid, secret = source
    for name in ["09-notification-normalized-with-fiware-service.json", "10-notification-keyvalues.json"]:
        body, headers = recorded(name)
        r = client.post(f"/ngsi/notify/{sid}?token={secret}", data=orjson.dumps(body), headers=headers,
                        content_type="application/json; charset=utf-8")
        assert r.status_code == 200 and r.get_json()["entities"] == 1  # types T/none: understood, nothing to map


def test_weather_notification_becomes_a_reading(client, source, app_db):
    sid, secret = source
    r = client.post(f"/ngsi/notify/{sid}", data=orjson.dumps(weather_notification(33)),
                    headers={"X-Notify-Token": secret, "Ngsiv2-AttrsFormat": "normalized"},
                    content_type="application/json")
    assert r.status_code == 200 and r.get_json()["stored"]["readings"] == 1
    r = client.post(f"/ngsi/notify/{sid}?token={secret}",
                    data=orjson.dumps(weather_notification(35, key_vals=True) | {}),
                    headers={"Ngsiv2-AttrsFormat": "keyValues"}, content_type="application/json")
    assert r.status_code == 200  # same time: not a second reading
    with app_db.session() as s:
        sensor = s.query(Sensor).filter(Sensor.layer_id == "pushtest-snow").one()
        assert sensor.last_value == 33 and (sensor.lon, sensor.lat) == (136.7, 36.9)
        assert s.query(Reading).filter(Reading.sensor_id == sensor.id).count() == 1


def test_poi_and_vehicle_notifications_upsert_features(client, source, app_db):
    sid, secret = source
    poi = as_orion_returns(fixture("PointOfInterest.example-normalized.json"))
    veh = as_orion_returns(fixture("Vehicle.example-normalized.json"))
    for e, (lon, lat) in ((poi, (136.65, 36.56)), (veh, (136.76, 36.89))):  # the examples are in Spain
        e["location"]["value"]["coordinates"] = [lon, lat]
    answers = []
    for e in (poi, veh, veh):
        r = client.post(f"/ngsi/notify/{sid}?token={secret}", data=orjson.dumps({"data": [e]}),
                        content_type="application/json")
        assert r.status_code == 200
        answers.append(r.get_json())
    with app_db.session() as s:
        assert s.query(Feature).filter(Feature.layer_id == "pushtest-points").count() == 1
        assert s.get(Layer, "pushtest-vehicles") is None
    # vehicles go to the snow-removal ingest; the same fix twice is a duplicate there
    assert answers[1]["stored"]["snow_fixes"]["accepted"] == 1
    assert answers[2]["stored"]["snow_fixes"]["accepted"] == 0


def test_bad_body_is_400(client, source):
    sid, secret = source
    for raw in [b"not json", b'{"nodata": 1}', b'{"data": {"id": 1}}', b'{"data": [{"type": "x"}]}']:
        r = client.post(f"/ngsi/notify/{sid}?token={secret}", data=raw, content_type="application/json")
        assert r.status_code == 400, raw


def test_answers_2xx_only_once_stored(client, source, app_db, monkeypatch):
    """Orion counts any answer as delivered: a store failure must not say 200, and must write nothing."""
    sid, secret = source
    import api.ngsi_notify as mod
    from store import sensors as sensors_mod

    def broken(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(sensors_mod, "add_readings", broken)
    monkeypatch.setattr("sources.broker_ingest.add_readings", broken)
    r = client.post(f"/ngsi/notify/{sid}?token={secret}", data=orjson.dumps(weather_notification(40)),
                    content_type="application/json")
    assert r.status_code == 503 and r.get_json()["error"] == "not_stored"
    with app_db.session() as s:
        assert s.query(Sensor).filter(Sensor.layer_id == "pushtest-snow").count() == 0
        assert s.get(Layer, "pushtest-snow") is None
    assert mod  # the module under test
