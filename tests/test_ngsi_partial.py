"""NGSI batches that are valid JSON but partly broken: the good entities are stored, the bad ones
skipped and reported (count and reasons in the answer and in the source's status), through
`POST /ngsi/notify/<id>` and a poll of a (fake) broker."""
from __future__ import annotations

import copy
from datetime import UTC, datetime

import orjson

from sources import broker_poll
from store.brokers import Source
from store.feeds import feed_states
from store.models import Feature, Layer, Reading, Sensor
from tests.fake_orion import as_orion_returns, fixture

NOW = datetime.now(UTC).replace(microsecond=0)


def weather(eid: str, value: float = 30, lon: float = 136.7, lat: float = 36.9) -> dict:
    e = as_orion_returns(fixture("WeatherObserved.example-normalized.json"))
    e["id"] = eid
    e["location"]["value"] = {"type": "Point", "coordinates": [lon, lat]}
    e["snowHeight"]["value"] = value
    e["dateObserved"]["value"] = NOW.isoformat().replace("+00:00", "Z")
    return e


def broken_batch() -> list[dict]:
    good = weather("WeatherObserved:good-1", 33)
    bad_md = weather("WeatherObserved:bad-metadata")
    bad_md["snowHeight"]["metadata"] = "not an object"
    bad_md2 = weather("WeatherObserved:bad-metadata-2")
    bad_md2["snowHeight"]["metadata"] = {"unitCode": "CMT"}  # metadata entries must be objects
    garbage = weather("WeatherObserved:garbage")
    garbage["location"]["value"] = {"type": "Point", "coordinates": "garbage"}
    empty = weather("WeatherObserved:empty")
    empty["location"]["value"] = {"type": "Point", "coordinates": []}
    circle = weather("WeatherObserved:circle")
    circle["location"]["value"] = {"type": "Circle", "coordinates": [136.7, 36.9], "radius": 10}
    paris = weather("WeatherObserved:paris", lon=2.35, lat=48.85)
    poly = weather("WeatherObserved:polygon-far")
    poly["location"]["value"] = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    bad_poly = weather("WeatherObserved:polygon-garbage")
    bad_poly["location"]["value"] = {"type": "Polygon", "coordinates": "garbage"}
    no_id = {"type": "WeatherObserved", "snowHeight": {"value": 1, "type": "Number"}}
    good2 = weather("WeatherObserved:good-2", 12, lon=136.65, lat=36.56)
    return [good, bad_md, bad_md2, garbage, empty, circle, paris, poly, bad_poly, no_id, good2]


EXPECTED = {"WeatherObserved:bad-metadata": "bad_metadata", "WeatherObserved:bad-metadata-2": "bad_metadata",
            "WeatherObserved:garbage": "bad_location", "WeatherObserved:empty": "bad_location",
            "WeatherObserved:circle": "bad_location", "WeatherObserved:paris": "outside_area",
            "WeatherObserved:polygon-far": "outside_area", "WeatherObserved:polygon-garbage": "bad_location",
            "": "no_id"}
SOURCE_PREFIX = "partial"  # the `source` fixture's layers: partial-snow, partial-points, …


def test_good_entities_are_stored_and_bad_ones_reported(client, source, app_db):
    sid, secret = source
    r = client.post(f"/ngsi/notify/{sid}", data=orjson.dumps({"data": broken_batch()}),
                    headers={"X-Notify-Token": secret}, content_type="application/json")
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert body["stored"]["readings"] == 2 and body["entities"] == 11
    assert body["rejected_count"] == 9
    assert {x["entity_id"]: x["reason"] for x in body["rejected"]} == EXPECTED
    with app_db.session() as s:
        values = sorted(x.last_value for x in s.query(Sensor).filter(Sensor.layer_id == "partial-snow"))
        assert values == [12, 33]
        state = feed_states(s)[s.get(Source, sid).feed_name]
    assert state["status"] == "ok" and "9" in state["last_error"] and "outside_area ×2" in state["last_error"]


def test_a_notification_with_nothing_usable_is_400_and_stores_nothing(client, source, app_db):
    sid, secret = source
    bad = [e for e in broken_batch() if not e.get("id", "").startswith("WeatherObserved:good")]
    r = client.post(f"/ngsi/notify/{sid}", data=orjson.dumps({"data": bad}),
                    headers={"X-Notify-Token": secret}, content_type="application/json")
    assert r.status_code == 400 and len(r.get_json()["details"]) == 9
    with app_db.session() as s:
        assert s.get(Layer, "partial-snow") is None


def test_points_outside_the_service_area_are_not_stored(client, source, app_db):
    sid, secret = source
    poi = as_orion_returns(fixture("PointOfInterest.example-normalized.json"))  # the example is in Spain
    home = copy.deepcopy(poi)
    home["id"] = "poi-home"
    home["location"]["value"]["coordinates"] = [136.65, 36.56]
    r = client.post(f"/ngsi/notify/{sid}", data=orjson.dumps({"data": [poi, home]}),
                    headers={"X-Notify-Token": secret}, content_type="application/json")
    assert r.status_code == 200 and r.get_json()["rejected"] == [
        {"index": 0, "entity_id": poi["id"], "reason": "outside_area"}]
    with app_db.session() as s:
        assert [f.fid for f in s.query(Feature).filter(Feature.layer_id == "partial-points")] == ["poi-home"]


def test_a_poll_skips_broken_entities_and_keeps_the_rest(db, orion, loopback_sources):
    orion.entities = [e for e in broken_batch() if "id" in e]  # a broker always gives ids
    with db.session() as s:
        src = Source(name="partial poll", base_url=orion.url, entity_type="WeatherObserved", layer_prefix="pp")
        s.add(src)
        s.flush()
        sid = src.id
    result = broker_poll.poll_source(db, sid, NOW)
    assert "error" not in result, result
    assert result["readings"] == 2 and result["rejected_count"] == 8
    assert {x["entity_id"]: x["reason"] for x in result["rejected"]} == {k: v for k, v in EXPECTED.items() if k}
    with db.session() as s:
        assert s.query(Reading).count() == 2
        assert "outside_area" in feed_states(s)[s.get(Source, sid).feed_name]["last_error"]
