"""Physically impossible values (store/plausibility.py) are kept in the raw store with a flag and
left out of the sensor's latest value, alerts, series, rollups and the readings API."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from store import series
from store.layers import ensure_organisation, upsert_layer
from store.models import Reading, Sensor
from store.plausibility import RANGES, implausible
from store.schema import create_all
from store.sensors import add_reading, add_readings, readings, upsert_sensor
from store.series import ReadingRollup
from tests.test_alerts_mail import SENSOR, World, smtp  # noqa: F401  (the smtp fixture)

T0 = datetime(2026, 1, 15, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("attribute,value,bad", [
    ("snowDepth", -5, True), ("snowDepth", 1e308, True), ("snowDepth", 1000.5, True), ("snowDepth", 0, False),
    ("snowDepth", 250, False), ("waterLevel", 150, True), ("waterLevel", -100.5, True), ("waterLevel", -3, False),
    ("temperature", 61, True), ("temperature", -60, False), ("airTemperature", -75, True),
    ("humidity", 1e6, False), ("snowDepth", float("nan"), True)])
def test_the_table(attribute, value, bad):
    assert implausible(attribute, value) is bad
    assert set(RANGES) >= {"snowDepth", "waterLevel", "temperature"}


def _sensor(s, sid="plaus-1", attribute="snowDepth"):
    org = ensure_organisation(s, "kaga", "加賀市", "Kaga")
    upsert_layer(s, "plaus", kind="snow_depth", name_ja="p", group="weather", organisation_id=org.id)
    return upsert_sensor(s, sid, layer_id="plaus", name_ja="p", name_en="p", lon=136.3, lat=36.3,
                         attribute=attribute, unit="cm")


def test_flagged_readings_are_kept_but_out_of_everything(db):
    with db.session() as s:
        sensor = _sensor(s)
        for minutes, value in ((0, 10), (10, -5), (20, 12), (30, 5000)):
            assert add_reading(s, sensor, value, T0 + timedelta(minutes=minutes))
        other = _sensor(s, "plaus-2")
        add_readings(s, [(other, 20, T0, "snowDepth"), (other, 1e308, T0 + timedelta(minutes=5), "snowDepth"),
                         (other, 22, T0 + timedelta(minutes=10), "snowDepth")])
    with db.session() as s:
        rows = {(r.sensor_id, r.value): r.implausible for r in s.scalars(select(Reading))}
        assert rows == {("plaus-1", 10): False, ("plaus-1", -5): True, ("plaus-1", 12): False,
                        ("plaus-1", 5000): True, ("plaus-2", 20): False, ("plaus-2", 1e308): True,
                        ("plaus-2", 22): False}
        assert s.get(Sensor, "plaus-1").last_value == 12 and s.get(Sensor, "plaus-2").last_value == 22
        assert [r.value for r in readings(s, "plaus-1", T0)] == [10, 12]
        ids, until = ["plaus-1", "plaus-2"], T0 + timedelta(hours=3)
        assert {k: [v for _t, v in pts] for k, pts in series.raw(s, ids, "snowDepth", T0, until).items()} == {
            "plaus-1": [10, 12], "plaus-2": [20, 22]}
        for use_rollups in (True, False):
            for fn, want in (("max", {"plaus-1": 12, "plaus-2": 22}), ("min", {"plaus-1": 10, "plaus-2": 20}),
                             ("count", {"plaus-1": 2, "plaus-2": 2})):
                got = series.bucketed(s, ids, "snowDepth", T0 - timedelta(hours=1), until, "hour", fn,
                                      use_rollups=use_rollups)
                assert {k: [v for _t, v in pts] for k, pts in got.items()} == {k: [v] for k, v in want.items()}
        kept = {(r.sensor_id, r.count, r.min_value, r.max_value) for r in s.scalars(select(ReadingRollup))}
        assert kept == {("plaus-1", 2, 10, 12), ("plaus-2", 2, 20, 22)}
        series.rebuild_rollups(s)  # recomputed from the readings: the same
        assert {(r.sensor_id, r.count, r.min_value, r.max_value) for r in s.scalars(select(ReadingRollup))} == kept


def test_flagged_values_raise_no_alert(db, smtp):  # noqa: F811
    world = World(db, smtp)
    world.rule(threshold=500, clear_threshold=400)
    world.reading(20)
    world.clock.advance(minutes=1)
    world.reading(99999)  # a broken sensor, not 1 km of snow
    world.clock.advance(minutes=1)
    world.reading(-40)
    assert world.events() == [] and world.send()["sent"] == 0
    with db.session() as s:
        assert s.get(Sensor, SENSOR).last_value == 20


def test_readings_api_keeps_them_out(client, app_db):
    from tests.staff_helpers import make_person

    person = make_person(app_db, "kaga")
    sid = f"plaus-{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC).replace(microsecond=0)
    body = [{"sensor_id": sid, "attribute": "snowDepth", "value": v, "time": (now - timedelta(minutes=m)).isoformat(),
             "lon": 136.3, "lat": 36.3} for v, m in ((15, 3), (-5, 2), (1e308, 1))]
    r = client.post("/api/readings", json=body, headers=person.auth)
    assert r.status_code in (200, 201), r.get_json()
    with app_db.session() as s:
        assert s.get(Sensor, sid).last_value == 15
        assert sorted(x.implausible for x in s.scalars(select(Reading).where(Reading.sensor_id == sid))) == [
            False, True, True]


def test_an_old_database_gets_the_column(db):
    """A readings table from before the flag: create_all adds it, the old rows count as plausible."""
    with db.session() as s:
        add_reading(s, _sensor(s), 3, T0)
    with db.engine.begin() as conn:  # the schema before the flag, with the covering index of then
        conn.execute(sa.text("DROP INDEX ix_readings_cover"))
        conn.execute(sa.text("ALTER TABLE readings DROP COLUMN implausible"))
        conn.execute(sa.text("CREATE INDEX ix_readings_series ON readings (sensor_id, attribute, observed_at, value)"))
    create_all(db)
    create_all(db)  # twice: nothing to do the second time
    indexes = {ix["name"] for ix in sa.inspect(db.engine).get_indexes("readings")}
    assert "ix_readings_cover" in indexes and "ix_readings_series" not in indexes
    with db.session() as s:
        assert [(r.value, r.implausible) for r in s.scalars(select(Reading))] == [(3, False)]
        add_reading(s, s.get(Sensor, "plaus-1"), -1, T0 + timedelta(minutes=1))
    with db.session() as s:
        assert sorted(r.implausible for r in s.scalars(select(Reading))) == [False, True]
