from datetime import UTC, datetime, timedelta
from pathlib import Path

from shapely.geometry import Point, shape
from sqlalchemy import func, select

from layers.builtin import ensure_builtin
from sources import demo_snow
from sources.geojson_file import read_features
from store.models import Reading, Sensor

DATA = Path(__file__).resolve().parents[1] / "data"


def test_sensors_stand_in_hakui_and_kaga():
    cities = {f["properties"]["name"]: shape(f["geometry"])
              for f in read_features(DATA / "boundaries/ishikawa_municipalities.geojson")}
    sensors = demo_snow.load_sensors(DATA)
    assert len(sensors) == 10
    for s in sensors:
        city = "羽咋市" if s.id.startswith("snow-hakui") else "加賀市"
        assert cities[city].buffer(0.002).contains(Point(s.lon, s.lat)), s


def test_series_is_the_real_tsunan_record():
    series = demo_snow.load_series(DATA)
    assert len(series) == 31 and max(series) == 65.0 and series[0] == 26.0


def test_values_are_deterministic_and_plausible():
    series = demo_snow.load_series(DATA)
    sensor = demo_snow.load_sensors(DATA)[-1]  # the mountain site
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    values = [demo_snow.value_at(series, sensor, t0 + timedelta(minutes=10 * k)) for k in range(6 * 31)]
    assert values == [demo_snow.value_at(series, sensor, t0 + timedelta(minutes=10 * k)) for k in range(6 * 31)]
    assert all(0 <= v <= 65 * sensor.factor + 1 for v in values)
    assert max(values) - min(values) > 5  # it moves


def test_tick_backfills_then_reports_each_minute(db):
    with db.session() as s:
        ensure_builtin(s, DATA)
    now = datetime(2026, 12, 1, 12, 0, 30, tzinfo=UTC)
    written = demo_snow.tick(db, DATA, now)
    assert written == 10 * 145  # 24 h at 10 minutes + now
    assert demo_snow.tick(db, DATA, now) == 0  # idempotent
    assert demo_snow.tick(db, DATA, now + timedelta(minutes=3)) == 10 * 3
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Reading)) == 10 * 148
        sensor = s.get(Sensor, "snow-kaga-05")
        assert sensor.last_observed_at == datetime(2026, 12, 1, 12, 3, tzinfo=UTC)
        assert sensor.last_value is not None


def test_demo_readings_older_than_35_days_are_dropped(db):
    with db.session() as s:
        ensure_builtin(s, DATA)
    start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    demo_snow.tick(db, DATA, start)
    with db.session() as s:
        before = s.scalar(select(func.count()).select_from(Reading))
    demo_snow.tick(db, DATA, start + timedelta(days=35, hours=12))
    with db.session() as s:
        oldest = s.scalar(select(func.min(Reading.observed_at)))
        assert oldest >= start + timedelta(hours=12)  # the first backfill went, the rest stays
        assert s.scalar(select(func.count()).select_from(Reading)) < before + 10 * 1500
