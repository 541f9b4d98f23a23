from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import func, select

from store.db import utcnow
from store.features import feature_collection_bytes, replace_features
from store.feeds import feed_error, feed_ok, feed_states
from store.layers import ensure_organisation, get_public_layer, public_layers, upsert_layer
from store.models import PRIVATE, Feature, Reading
from store.sensors import add_reading, readings, upsert_sensor


def pt(i, lon, lat, **props):
    return {"type": "Feature", "id": f"f{i}", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": props}


def make_layer(s, layer_id="l1", **kw):
    org = ensure_organisation(s, "kaga", "加賀市", "Kaga City")
    return upsert_layer(s, layer_id, kind="aed", name_ja="テスト", name_en="Test", group="iryou",
                        organisation_id=org.id, options={}, **kw)


def test_replace_and_bbox(db):
    with db.session() as s:
        layer = make_layer(s)
        v0 = layer.version
        n = replace_features(s, layer, [pt(1, 136.30, 36.30, name="a"), pt(2, 136.90, 36.90, name="b"),
                                        pt(3, 136.123456789, 36.987654321, name="c")])
        assert n == 3 and layer.feature_count == 3 and layer.version == v0 + 1
    with db.session() as s:
        fc = orjson.loads(feature_collection_bytes(s, "l1", (136.2, 36.2, 136.5, 36.5)))
        assert [f["id"] for f in fc["features"]] == ["f1"]
        fc = orjson.loads(feature_collection_bytes(s, "l1"))
        assert len(fc["features"]) == 3
        # coordinates are stored with 6 decimals at most
        assert fc["features"][2]["geometry"]["coordinates"] == [136.123457, 36.987654]


def test_polygon_bbox_uses_extent(db):
    square = {"type": "Feature", "id": "p", "properties": {},
              "geometry": {"type": "Polygon", "coordinates": [[[136, 36], [137, 36], [137, 37], [136, 37], [136, 36]]]}}
    with db.session() as s:
        replace_features(s, make_layer(s), [square])
    with db.session() as s:
        # a bbox inside the polygon (no vertex inside) still finds it
        fc = orjson.loads(feature_collection_bytes(s, "l1", (136.4, 36.4, 136.6, 36.6)))
        assert len(fc["features"]) == 1


def test_failed_replace_leaves_old_data(db):
    with db.session() as s:
        replace_features(s, make_layer(s), [pt(1, 136.3, 36.3)])
    bad = [pt(2, 136.4, 36.4), {"type": "Feature", "geometry": {"type": "Point", "coordinates": []}}]
    with pytest.raises(ValueError):
        with db.session() as s:
            layer = get_public_layer(s, "l1")
            replace_features(s, layer, bad)
    with db.session() as s:
        assert [r.fid for r in s.scalars(select(Feature))] == ["f1"]
        assert get_public_layer(s, "l1").feature_count == 1


def test_private_layers_are_not_public(db):
    with db.session() as s:
        make_layer(s, "pub")
        make_layer(s, "priv", visibility=PRIVATE)
    with db.session() as s:
        assert [layer.id for layer in public_layers(s)] == ["pub"]
        assert get_public_layer(s, "priv") is None
        assert get_public_layer(s, "nope") is None


def test_readings_dedupe_and_latest(db):
    t0 = datetime(2026, 1, 10, 0, 0, tzinfo=UTC)
    with db.session() as s:
        make_layer(s, "snow")
        sensor = upsert_sensor(s, "s1", layer_id="snow", name_ja="羽咋", lon=136.77, lat=36.89)
        assert add_reading(s, sensor, 12.5, t0)
        assert not add_reading(s, sensor, 12.5, t0)  # same time: not stored twice
        assert add_reading(s, sensor, 20.0, t0 + timedelta(minutes=1))
        assert add_reading(s, sensor, 5.0, t0 - timedelta(minutes=1))  # late arrival: not the latest
        assert sensor.last_value == 20.0
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Reading)) == 3
        rows = readings(s, "s1", t0 - timedelta(hours=1))
        assert [r.value for r in rows] == [5.0, 12.5, 20.0]
        # times come back aware, in UTC, whatever the backend
        assert rows[1].observed_at == t0 and rows[1].observed_at.tzinfo is not None


def test_naive_datetimes_are_refused(db):
    with pytest.raises(Exception, match="naive"):
        with db.session() as s:
            make_layer(s, "snow")
            sensor = upsert_sensor(s, "s1", layer_id="snow", name_ja="x", lon=136.7, lat=36.8)
            add_reading(s, sensor, 1.0, datetime(2026, 1, 1))


def test_feed_states(db):
    now = utcnow()
    with db.session() as s:
        feed_ok(s, "demo", interval_s=10, at=now - timedelta(seconds=5))
        feed_ok(s, "old", interval_s=10, at=now - timedelta(seconds=100))
        feed_error(s, "broken", "ConnectError: refused", interval_s=10)
    with db.session() as s:
        states = feed_states(s, now)
    assert states["demo"]["status"] == "ok"
    assert states["old"]["status"] == "stale" and states["old"]["age_seconds"] == pytest.approx(100, abs=1)
    assert states["broken"]["status"] == "error" and "refused" in states["broken"]["last_error"]


def test_two_processes_start_on_one_new_database(db_url, tmp_path):
    """gunicorn starts several workers at once: start-up must not race on tables or built-in data."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    code = (f"import sys; sys.path.insert(0, {str(root)!r}); from settings import Settings; "
            "from app import init_store; "
            f"init_store(Settings.from_env({{'DATABASE_URL': {db_url!r}, 'INSTANCE_PATH': {str(tmp_path)!r}, "
            "'SECRET_KEY': 'x'}))")
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE) for _ in range(3)]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    from store.db import Database

    database = Database(db_url)
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Feature).where(Feature.layer_id == "aed")) == 211
    database.dispose()
