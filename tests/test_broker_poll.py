"""Smart Data Model mapping, and polling a broker into the store (env-configured, outages, recovery)."""
from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from layers.builtin import ensure_builtin
from sources import broker_poll
from sources.ngsi import parse_entity
from sources.smart_models import FixItem, PointItem, ReadingItem, map_entity
from store.brokers import SensorOrigin, Source
from store.feeds import feed_states
from store.models import Feature, Layer, Reading, Sensor
from tests.conftest import make_settings
from tests.fake_orion import as_orion_returns, fixture, key_values

DATA = Path(__file__).resolve().parents[1] / "data"
T0 = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)


def sdm(name: str, lon: float | None = 136.65, lat: float | None = 36.56) -> dict:
    """A Smart Data Model example as Orion returns it, moved to Ishikawa (None: where it was)."""
    e = as_orion_returns(fixture(f"{name}.example-normalized.json"))
    if lon is not None:
        e["location"]["value"] = {"type": "Point", "coordinates": [lon, lat]}
    return e


def in_ishikawa(entity: dict, lon: float, lat: float, eid: str | None = None) -> dict:
    e = copy.deepcopy(entity)
    e["location"]["value"] = {"type": "Point", "coordinates": [lon, lat]}
    if eid:
        e["id"] = eid
    return e


# ------------------------------------------------------------------ mapping


def test_weather_observed_snow_height_is_a_snow_reading():
    (r,) = map_entity(parse_entity(sdm("WeatherObserved")))
    assert isinstance(r, ReadingItem) and r.role == "snow" and r.attribute == "snowDepth"
    assert r.value == 20 and r.unit == "cm" and r.source_attribute == "snowHeight"
    assert r.observed_at == datetime(2016, 11, 30, 7, tzinfo=UTC)
    assert (r.lon, r.lat) == (136.65, 36.56) and r.address == "Valladolid"


def test_points_outside_japan_are_dropped_and_swapped_ones_turned():
    assert map_entity(parse_entity(sdm("WeatherObserved", None))) == []  # Valladolid: not our data
    # the recorded WaterObserved has [lat, lon] for Nice: outside either way, dropped
    assert map_entity(parse_entity(sdm("WaterObserved", None))) == []
    (r,) = map_entity(parse_entity(sdm("WaterObserved", 36.56, 136.65)))  # [lat, lon] in Ishikawa
    assert (r.lon, r.lat) == (136.65, 36.56)
    assert map_entity(parse_entity(sdm("PointOfInterest", None))) == []


def test_keyvalues_form_maps_the_same():
    kv = key_values(sdm("WeatherObserved"))
    (r,) = map_entity(parse_entity(kv, key_values=True))
    assert r.value == 20 and r.observed_at == datetime(2016, 11, 30, 7, tzinfo=UTC)


def test_weather_without_snow_gives_nothing():
    e = sdm("WeatherObserved")
    del e["snowHeight"]
    assert map_entity(parse_entity(e)) == []


def test_device_measurement_and_device_snow_depth():
    dm = {"id": "urn:ngsi-ld:DeviceMeasurement:kaga-snow-1", "type": "DeviceMeasurement",
          "controlledProperty": {"type": "Text", "value": "snowHeight"},
          "numValue": {"type": "Number", "value": 0.42}, "unit": {"type": "Text", "value": "MTR"},
          "dateObserved": {"type": "DateTime", "value": "2026-01-15T12:00:00+09:00"},
          "location": {"type": "geo:point", "value": "36.30, 136.31"}}
    (r,) = map_entity(parse_entity(dm))
    assert r.value == 42.0 and r.unit == "cm" and (r.lon, r.lat) == (136.31, 36.30)
    assert r.observed_at == datetime(2026, 1, 15, 3, tzinfo=UTC)
    dev = {"id": "Device:hakui-7", "type": "Device", "controlledProperty": {"type": "StructuredValue",
           "value": ["snowDepth"]}, "value": {"type": "Number", "value": 12.5},
           "location": {"type": "geo:json", "value": {"type": "Point", "coordinates": [136.77, 36.89]}}}
    (r,) = map_entity(parse_entity(dev))
    assert r.value == 12.5 and r.attribute == "snowDepth"
    other = copy.deepcopy(dev)
    other["controlledProperty"]["value"] = ["temperature"]
    assert map_entity(parse_entity(other)) == []


def test_water_observed_is_a_water_level():
    (r,) = map_entity(parse_entity(sdm("WaterObserved")))
    assert r.role == "water" and r.attribute == "waterLevel" and r.value == 2.4 and r.unit == "m"


def test_vehicle_is_a_fix_and_poi_a_point():
    (fix,) = map_entity(parse_entity(sdm("Vehicle")))
    assert isinstance(fix, FixItem) and fix.speed == 50 and fix.heading == 43
    assert fix.observed_at == datetime(2018, 9, 27, 12, tzinfo=UTC)  # location's own timestamp
    (pt,) = map_entity(parse_entity(sdm("PointOfInterest")))
    assert isinstance(pt, PointItem) and pt.geometry["type"] == "Point"
    assert pt.properties["entity_type"] == "PointOfInterest" and pt.properties["name"]
    assert all(not isinstance(v, (dict, list)) for v in pt.properties.values())


# ------------------------------------------------------------------ polling


@pytest.fixture
def env_db(db, tmp_path, orion):
    settings = make_settings(tmp_path, "sqlite://").with_(
        orion_url=orion.url, fiware_service="ishikawa", fiware_servicepath="/snow", orion_interval_s=60.0,
        demo_feed=False)
    with db.session() as s:
        ensure_builtin(s, DATA)
    broker_poll.ensure_env_sources(db, settings)
    return db


def no_wait_client(src):
    return broker_poll.client_for(src, sleep=lambda s: None, retries=1)


def broker_entities():
    weather = [in_ishikawa(sdm("WeatherObserved"), 136.31 + i / 100, 36.30, f"WeatherObserved:kaga-{i}")
               for i in range(3)]
    for i, w in enumerate(weather):
        w["snowHeight"]["value"] = 10 * (i + 1)
        w["dateObserved"]["value"] = "2026-01-15T02:50:00.000Z"
    plow = in_ishikawa(sdm("Vehicle"), 136.76, 36.89, "Vehicle:hakui-plow-1")
    poi = in_ishikawa(sdm("PointOfInterest"), 136.65, 36.56)
    water = in_ishikawa(sdm("WaterObserved"), 136.45, 36.40)
    return weather + [plow, poi, water]


def test_env_broker_feeds_map_layers(env_db, orion):
    orion.entities = broker_entities()
    results = broker_poll.poll_due(env_db, T0, no_wait_client)
    assert len(results) == 8 and not any("error" in r for r in results.values())
    with env_db.session() as s:
        snow = s.query(Sensor).filter(Sensor.layer_id == "snow-depth").order_by(Sensor.id).all()
        assert [x.last_value for x in snow] == [10, 20, 30]
        assert snow[0].last_observed_at == datetime(2026, 1, 15, 2, 50, tzinfo=UTC)
        layer = s.get(Layer, "snow-depth")
        assert layer.options["demo"] is False and "FIWARE" in layer.attribution_ja
        origin = s.get(SensorOrigin, snow[0].id)
        assert origin.entity_id == "WeatherObserved:kaga-0" and origin.attribute == "snowHeight"
        plow = next(r for r in results.values() if r.get("fixes"))  # handed to the snow-removal ingest
        assert plow["snow_fixes"]["accepted"] == 1
        assert s.query(Feature).filter(Feature.layer_id == "orion-points").count() == 1
        water = s.query(Sensor).filter(Sensor.layer_id == "orion-water").one()
        assert water.last_value == 2.4 and water.unit == "m"
        states = feed_states(s, T0)
        assert all(states[src.feed_name]["status"] == "ok" for src in s.query(Source))
    # every request carried the tenant and path; the type filter and a stable order
    gets = [r for r in orion.requests if r["method"] == "GET"]
    assert {r["query"]["type"] for r in gets} == {"WeatherObserved", "Device", "DeviceMeasurement",
                                                  "WaterObserved", "Vehicle", "PointOfInterest", "RoadRestriction",
                                                  "RestrictedTrafficArea"}
    assert all(r["headers"]["fiware-service"] == "ishikawa" and r["headers"]["fiware-servicepath"] == "/snow"
               and r["query"]["orderBy"] == "id" for r in gets)
    # the same data again writes no duplicate readings; not due before the interval
    assert broker_poll.poll_due(env_db, T0 + timedelta(seconds=30), no_wait_client) == {}
    broker_poll.poll_due(env_db, T0 + timedelta(seconds=61), no_wait_client)
    with env_db.session() as s:
        assert s.query(Reading).count() == 4


def test_outage_keeps_data_marks_stale_and_recovers(env_db, orion):
    from layers.feed_status import stale_badges

    orion.entities = broker_entities()
    broker_poll.poll_due(env_db, T0, no_wait_client)
    port = orion.port
    orion.down()
    t1 = T0 + timedelta(minutes=5)
    results = broker_poll.poll_due(env_db, t1, no_wait_client)
    assert all(r["error"] == "接続できませんでした / could not connect" for r in results.values())
    with env_db.session() as s:
        assert [x.last_value for x in s.query(Sensor).filter(Sensor.layer_id == "snow-depth")] == [10, 20, 30]
        src = s.query(Source).filter(Source.entity_type == "WeatherObserved").one()
        assert src.failures == 1 and src.next_poll_at == t1 + timedelta(seconds=60)
        st = feed_states(s, t1)[src.feed_name]
        assert st["status"] == "error" and st["age_seconds"] == 300 and "接続できませんでした" in st["last_error"]
        assert stale_badges(s, "ja", now=t1)[src.feed_name] == " ⚠ 更新停止中（最終取得 5分前）"
        assert s.get(Layer, "snow-depth").options["feed"] in stale_badges(s, "ja", now=t1)
    # backoff doubles while it stays down
    broker_poll.poll_due(env_db, t1 + timedelta(seconds=60), no_wait_client)
    with env_db.session() as s:
        src = s.query(Source).filter(Source.entity_type == "WeatherObserved").one()
        assert src.failures == 2 and src.next_poll_at == t1 + timedelta(seconds=60 + 120)
    orion.start(port)
    orion.entities[0]["snowHeight"]["value"] = 55
    orion.entities[0]["dateObserved"]["value"] = "2026-01-15T03:10:00.000Z"
    t2 = t1 + timedelta(seconds=180)
    results = broker_poll.poll_due(env_db, t2, no_wait_client)
    assert not any("error" in r for r in results.values())
    with env_db.session() as s:
        assert s.query(Sensor).filter(Sensor.layer_id == "snow-depth").order_by(Sensor.id).first().last_value == 55
        src = s.query(Source).filter(Source.entity_type == "WeatherObserved").one()
        assert src.failures == 0 and feed_states(s, t2)[src.feed_name]["status"] == "ok"
        assert stale_badges(s, "ja", now=t2) == {}


@pytest.mark.parametrize("fault", ["invalid_json", "500_on_second_page", "400"])
def test_a_bad_answer_half_way_writes_nothing(db, orion, tmp_path, fault):
    with db.session() as s:
        ensure_builtin(s, DATA)
        src = Source(name="kaga", base_url=orion.url, entity_type="WeatherObserved", layer_prefix="kaga")
        s.add(src)
        s.flush()
        sid = src.id
    orion.entities = [in_ishikawa(sdm("WeatherObserved"), 136.3, 36.3 + i / 1000, f"W{i:03d}") for i in range(5)]

    def small_pages(src):
        return broker_poll.client_for(src, sleep=lambda s: None, retries=0, page_size=2)

    orion.requests.clear()
    if fault == "invalid_json":
        orion.fail_next(1, invalid_json=True)
    elif fault == "400":
        orion.fail_next(1, status=400)
    else:
        # first page answers, then the broker breaks
        orig = orion._take_fault
        calls = {"n": 0}

        def second_fails():
            calls["n"] += 1
            return {"status": 500, "invalid_json": False} if calls["n"] == 2 else orig()

        orion._take_fault = second_fails
    result = broker_poll.poll_source(db, sid, T0, small_pages)
    assert "error" in result
    with db.session() as s:
        assert s.query(Sensor).count() == 0 and s.query(Reading).count() == 0
        assert s.get(Source, sid).failures == 1


def test_orion_url_turns_the_demo_feed_off_and_adds_the_poller(tmp_path, db):
    from settings import Settings
    from worker import build_jobs

    st = Settings.from_env({"DATABASE_URL": db.url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x",
                            "ORION_URL": "http://127.0.0.1:1026", "FIWARE_SERVICE": "ishikawa",
                            "FIWARE_SERVICEPATH": "/snow", "ORION_TOKEN": "tok"})
    assert st.demo_feed is False and st.orion_token == "tok"
    names = [j.name for j in build_jobs(st, db)]
    assert "demo-snow" not in names and broker_poll.FEED_JOB in names
    with db.session() as s:
        srcs = s.query(Source).filter(Source.from_env.is_(True)).all()
        assert len(srcs) == 8 and {x.token for x in srcs} == {"tok"}
    build_jobs(st, db)  # idempotent
    with db.session() as s:
        assert s.query(Source).count() == 8
    plain = Settings.from_env({"DATABASE_URL": db.url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
    assert plain.demo_feed is True


def test_add_readings_batch_follows_add_reading_rules(db):
    from store.sensors import add_reading, add_readings, upsert_sensor

    with db.session() as s:
        ensure_builtin(s, DATA)
        a = upsert_sensor(s, "batch-a", layer_id="snow-depth", name_ja="a", lon=136.5, lat=36.5)
        b = upsert_sensor(s, "batch-b", layer_id="snow-depth", name_ja="b", lon=136.6, lat=36.6)
        add_reading(s, a, 5.0, T0)
        version = s.get(Layer, "snow-depth").version
        n = add_readings(s, [(a, 5.0, T0, "snowDepth"),  # already stored
                             (a, 7.0, T0 + timedelta(minutes=1), "snowDepth"),
                             (a, 6.0, T0 - timedelta(minutes=1), "snowDepth"),  # older: not the latest
                             (b, 1.0, T0, "snowDepth"), (b, 1.0, T0, "snowDepth")])  # twice in one batch
        assert n == 3
        assert (a.last_value, a.last_observed_at) == (7.0, T0 + timedelta(minutes=1))
        assert b.last_value == 1.0 and s.get(Layer, "snow-depth").version == version + 1
    with db.session() as s:
        assert s.query(Reading).filter(Reading.sensor_id.in_(["batch-a", "batch-b"])).count() == 4


def test_background_poller_never_blocks_the_job_runner(env_db, orion):
    """A slow broker keeps the poll thread busy; the job returns at once and does not start a second round."""
    orion.entities = broker_entities()
    orion.delay_s = 0.3
    poller = broker_poll.BackgroundPoller(env_db)
    assert poller() is True
    assert poller() is False  # still polling
    poller.join(30)
    with env_db.session() as s:
        assert s.query(Sensor).filter(Sensor.layer_id == "snow-depth").count() == 3


def test_vehicle_fixes_go_to_the_snow_removal_ingest(env_db, orion, monkeypatch):
    """Vehicle fixes are handed to the snow-removal ingest (`sources.fixes.ingest`) after our commit;
    no vehicles layer is made of them."""
    import sys
    import types

    calls = []

    class Result:
        def as_json(self):
            return {"accepted": len(calls[-1][1]), "rejected": 0}

    def ingest(db, items, now, boundaries_path=None):
        calls.append((db, items, now, boundaries_path))
        return Result()

    monkeypatch.setitem(sys.modules, "sources.fixes", types.SimpleNamespace(ingest=ingest))
    orion.entities = broker_entities()
    results = broker_poll.poll_due(env_db, T0, no_wait_client)
    vehicle = next(r for r in results.values() if r.get("fixes"))
    assert vehicle["snow_fixes"] == {"accepted": 1, "rejected": 0}
    (db, items, now, boundaries), = calls
    assert db is env_db and now == T0 and boundaries.name == "ishikawa_municipalities.geojson"
    assert items == [{"vehicle_id": "Vehicle:hakui-plow-1", "lon": 136.76, "lat": 36.89,
                      "time": "2018-09-27T12:00:00+00:00", "speed": 50.0, "heading": 43.0}]
    with env_db.session() as s:
        assert s.get(Layer, "orion-vehicles") is None
