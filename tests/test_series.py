"""store.series: SQL time buckets (JST days), hourly rollups kept by the ingest paths, on both stores."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text

from store import series
from store.layers import ensure_organisation, upsert_layer
from store.models import Reading
from store.schema import create_all
from store.sensors import add_reading, add_readings, upsert_sensor
from store.series import ReadingRollup
from timezones import JST

UTC = UTC


def jst(*a) -> datetime:
    return datetime(*a, tzinfo=JST).astimezone(UTC)


# sensor a: on and just off bucket boundaries, 23:59 JST vs 00:00 JST; b: a second sensor;
# c: an average that needs rounding; a reading of another attribute on a that must not count
READINGS = [
    ("a", "snowDepth", 10.0, jst(2026, 1, 10, 9, 0)),       # on the 10-min, hour (and UTC-day) boundary
    ("a", "snowDepth", 20.0, jst(2026, 1, 10, 9, 5)),
    ("a", "snowDepth", 30.0, jst(2026, 1, 10, 9, 10)),      # on a 10-min boundary
    ("a", "snowDepth", 40.0, jst(2026, 1, 10, 9, 59, 59)),
    ("a", "snowDepth", 50.0, jst(2026, 1, 10, 10, 0)),      # on an hour boundary
    ("a", "snowDepth", 60.0, jst(2026, 1, 10, 23, 59)),     # last minute of the JST day
    ("a", "snowDepth", 70.0, jst(2026, 1, 11, 0, 0)),       # first moment of the next JST day (15:00 UTC)
    ("a", "temperature", -5.0, jst(2026, 1, 10, 9, 1)),
    ("b", "snowDepth", 1.0, jst(2026, 1, 10, 9, 0)),
    ("b", "snowDepth", 3.0, jst(2026, 1, 10, 9, 30)),
    ("c", "snowDepth", 1.0, jst(2026, 1, 10, 10, 0)),
    ("c", "snowDepth", 2.0, jst(2026, 1, 10, 10, 1)),
    ("c", "snowDepth", 2.0, jst(2026, 1, 10, 10, 2)),
]
SINCE, UNTIL = jst(2026, 1, 10, 0, 0), jst(2026, 1, 11, 23, 59)


def setup(s, ids=("a", "b", "c")):
    org = ensure_organisation(s, "kaga", "加賀市", "Kaga City")
    upsert_layer(s, "snow", kind="sensors", name_ja="積雪", name_en="Snow", group="yuki",
                 organisation_id=org.id, options={})
    return {sid: upsert_sensor(s, sid, layer_id="snow", name_ja=sid, lon=136.5, lat=36.5) for sid in ids}


def load(db, bulk: bool):
    with db.session() as s:
        sensors = setup(s)
        if bulk:
            assert add_readings(s, [(sensors[sid], v, t, a) for sid, a, v, t in READINGS]) == len(READINGS)
        else:
            for sid, a, v, t in READINGS:
                assert add_reading(s, sensors[sid], v, t, a)


# (fn, step) -> sensor -> [(bucket start in JST, value)]
EXPECTED = {
    ("avg", "10min"): {"a": [((2026, 1, 10, 9, 0), 15.0), ((2026, 1, 10, 9, 10), 30.0), ((2026, 1, 10, 9, 50), 40.0),
                              ((2026, 1, 10, 10, 0), 50.0), ((2026, 1, 10, 23, 50), 60.0), ((2026, 1, 11, 0, 0), 70.0)],
                       "b": [((2026, 1, 10, 9, 0), 1.0), ((2026, 1, 10, 9, 30), 3.0)],
                       "c": [((2026, 1, 10, 10, 0), 1.667)]},
    ("count", "10min"): {"a": [((2026, 1, 10, 9, 0), 2), ((2026, 1, 10, 9, 10), 1), ((2026, 1, 10, 9, 50), 1),
                                ((2026, 1, 10, 10, 0), 1), ((2026, 1, 10, 23, 50), 1), ((2026, 1, 11, 0, 0), 1)]},
    ("last", "10min"): {"a": [((2026, 1, 10, 9, 0), 20.0), ((2026, 1, 10, 9, 10), 30.0),
                               ((2026, 1, 10, 9, 50), 40.0), ((2026, 1, 10, 10, 0), 50.0),
                               ((2026, 1, 10, 23, 50), 60.0), ((2026, 1, 11, 0, 0), 70.0)]},
    ("avg", "hour"): {"a": [((2026, 1, 10, 9), 25.0), ((2026, 1, 10, 10), 50.0), ((2026, 1, 10, 23), 60.0),
                             ((2026, 1, 11, 0), 70.0)],
                      "b": [((2026, 1, 10, 9), 2.0)], "c": [((2026, 1, 10, 10), 1.667)]},
    ("min", "hour"): {"a": [((2026, 1, 10, 9), 10.0), ((2026, 1, 10, 10), 50.0), ((2026, 1, 10, 23), 60.0),
                             ((2026, 1, 11, 0), 70.0)], "c": [((2026, 1, 10, 10), 1.0)]},
    ("max", "hour"): {"a": [((2026, 1, 10, 9), 40.0), ((2026, 1, 10, 10), 50.0), ((2026, 1, 10, 23), 60.0),
                             ((2026, 1, 11, 0), 70.0)], "b": [((2026, 1, 10, 9), 3.0)]},
    ("sum", "hour"): {"a": [((2026, 1, 10, 9), 100.0), ((2026, 1, 10, 10), 50.0), ((2026, 1, 10, 23), 60.0),
                             ((2026, 1, 11, 0), 70.0)], "c": [((2026, 1, 10, 10), 5.0)]},
    ("count", "hour"): {"a": [((2026, 1, 10, 9), 4), ((2026, 1, 10, 10), 1), ((2026, 1, 10, 23), 1),
                               ((2026, 1, 11, 0), 1)], "c": [((2026, 1, 10, 10), 3)]},
    ("last", "hour"): {"a": [((2026, 1, 10, 9), 40.0), ((2026, 1, 10, 10), 50.0), ((2026, 1, 10, 23), 60.0),
                              ((2026, 1, 11, 0), 70.0)],
                       "b": [((2026, 1, 10, 9), 3.0)], "c": [((2026, 1, 10, 10), 2.0)]},
    # JST days: 23:59 JST stays on the 10th, 00:00 JST opens the 11th
    ("avg", "day"): {"a": [((2026, 1, 10), 35.0), ((2026, 1, 11), 70.0)], "b": [((2026, 1, 10), 2.0)],
                     "c": [((2026, 1, 10), 1.667)]},
    ("min", "day"): {"a": [((2026, 1, 10), 10.0), ((2026, 1, 11), 70.0)]},
    ("max", "day"): {"a": [((2026, 1, 10), 60.0), ((2026, 1, 11), 70.0)]},
    ("sum", "day"): {"a": [((2026, 1, 10), 210.0), ((2026, 1, 11), 70.0)], "b": [((2026, 1, 10), 4.0)]},
    ("count", "day"): {"a": [((2026, 1, 10), 6), ((2026, 1, 11), 1)], "c": [((2026, 1, 10), 3)]},
    ("last", "day"): {"a": [((2026, 1, 10), 60.0), ((2026, 1, 11), 70.0)], "b": [((2026, 1, 10), 3.0)]},
}


@pytest.mark.parametrize("bulk", [False, True], ids=["add_reading", "add_readings"])
def test_buckets_against_hand_computed_values(db, bulk):
    load(db, bulk)
    with db.session() as s:
        for (fn, step), want in EXPECTED.items():
            for use_rollups in (True, False):
                got = series.bucketed(s, ["a", "b", "c"], "snowDepth", SINCE, UNTIL, step, fn, use_rollups=use_rollups)
                assert set(got) == {"a", "b", "c"}
                for sid, points in want.items():
                    assert got[sid] == [(jst(*k), float(v)) for k, v in points], (fn, step, sid, use_rollups)
        # a bucket start is an aware UTC datetime; the JST day starts at 15:00 UTC the day before
        day = series.bucketed(s, ["a"], "snowDepth", SINCE, UNTIL, "day", "count")["a"]
        assert day[0][0] == datetime(2026, 1, 9, 15, 0, tzinfo=UTC) and day[0][0].tzinfo is not None
        # the other attribute is its own series
        assert series.bucketed(s, ["a"], "temperature", SINCE, UNTIL, "hour", "min") == {
            "a": [(jst(2026, 1, 10, 9), -5.0)]}


def test_partial_hours_at_both_ends(db):
    """A range that starts and ends inside an hour: the rollup path takes those parts from the readings."""
    load(db, bulk=True)
    since, until = jst(2026, 1, 10, 9, 5), jst(2026, 1, 10, 23, 59)
    with db.session() as s:
        for fn, want in {"count": 5.0, "sum": 200.0, "min": 20.0, "max": 60.0, "avg": 40.0, "last": 60.0}.items():
            day = series.bucketed(s, ["a"], "snowDepth", since, until, "day", fn)
            assert day["a"] == [(jst(2026, 1, 10), want)], fn
            assert day == series.bucketed(s, ["a"], "snowDepth", since, until, "day", fn, use_rollups=False)
        hours = series.bucketed(s, ["a"], "snowDepth", since, until, "hour", "sum")["a"]
        assert hours == [(jst(2026, 1, 10, 9), 90.0), (jst(2026, 1, 10, 10), 50.0), (jst(2026, 1, 10, 23), 60.0)]
        # both ends inclusive, as raw() and the existing readings() are
        assert series.bucketed(s, ["a"], "snowDepth", jst(2026, 1, 10, 9, 10), jst(2026, 1, 10, 10, 0),
                               "hour", "count")["a"] == [(jst(2026, 1, 10, 9), 2.0), (jst(2026, 1, 10, 10), 1.0)]


def test_unknown_step_or_function(db):
    with db.session() as s:
        with pytest.raises(ValueError):
            series.bucketed(s, ["a"], "snowDepth", SINCE, UNTIL, "week", "avg")
        with pytest.raises(ValueError):
            series.bucketed(s, ["a"], "snowDepth", SINCE, UNTIL, "hour", "median")
        with pytest.raises(ValueError):
            series.bucketed(s, ["a"], "snowDepth", SINCE.replace(tzinfo=None), UNTIL, "hour", "avg")


def rollup_rows(s):
    return sorted((r.sensor_id, r.attribute, r.hour_start, r.count, round(r.total, 9), r.min_value, r.max_value,
                   r.last_value, r.last_at) for r in s.scalars(select(ReadingRollup)))


def test_rollups_of_both_ingest_paths_and_duplicates(db):
    first, second = READINGS[:6], READINGS[6:]
    with db.session() as s:
        sensors = setup(s)
        for sid, a, v, t in first:
            assert add_reading(s, sensors[sid], v, t, a)
        # bulk: half new, one already stored, one twice in the batch
        batch = [(sensors[sid], v, t, a) for sid, a, v, t in second] + [
            (sensors["a"], 99.0, READINGS[0][3], "snowDepth"), (sensors["b"], 3.0, READINGS[9][3], "snowDepth")]
        assert add_readings(s, batch) == len(second)
        assert not add_reading(s, sensors["a"], 99.0, READINGS[1][3])  # already stored
    with db.session() as s:
        rows = {(r[0], r[1], r[2]): r[3:] for r in rollup_rows(s)}
        assert rows[("a", "snowDepth", jst(2026, 1, 10, 9))] == (4, 100.0, 10.0, 40.0, 40.0,
                                                                 jst(2026, 1, 10, 9, 59, 59))
        assert rows[("b", "snowDepth", jst(2026, 1, 10, 9))] == (2, 4.0, 1.0, 3.0, 3.0, jst(2026, 1, 10, 9, 30))
        assert rows[("a", "temperature", jst(2026, 1, 10, 9))] == (1, -5.0, -5.0, -5.0, -5.0, jst(2026, 1, 10, 9, 1))
        assert sum(r[0] for r in rows.values()) == len(READINGS)
        assert len(rows) == 7
        # a late reading (older than the hour's last) changes count/sum/min but not the last value
        add_reading(s, s.get(series.Sensor, "a"), 5.0, jst(2026, 1, 10, 9, 2))
        add_readings(s, [(s.get(series.Sensor, "a"), 45.0, jst(2026, 1, 10, 9, 3), "snowDepth")])
    with db.session() as s:
        row = s.get(ReadingRollup, ("a", "snowDepth", jst(2026, 1, 10, 9)))
        assert (row.count, row.total, row.min_value, row.max_value, row.last_value) == (6, 150.0, 5.0, 45.0, 40.0)
        incremental = rollup_rows(s)
        assert series.rebuild_rollups(s) == 7
    with db.session() as s:
        assert rollup_rows(s) == incremental


def random_readings(rnd, n, ids, start, days):
    out = {}
    for _ in range(n):
        sid = rnd.choice(ids)
        t = start + timedelta(seconds=rnd.randrange(0, days * 86400 // 30) * 30)
        out[(sid, t)] = round(rnd.uniform(-20, 150), 3)
    return [(sid, "snowDepth", v, t) for (sid, t), v in out.items()]


def test_rollup_path_equals_raw_path_and_rebuild_equals_incremental(db):
    rnd = random.Random(7)
    ids = ["a", "b", "c"]
    start = jst(2026, 1, 1)
    rows = random_readings(rnd, 3000, ids, start, 20)
    with db.session() as s:
        sensors = setup(s)
        for i in range(0, len(rows), 400):  # mixed: some one by one, most in batches
            part = rows[i:i + 400]
            if i % 800 == 0:
                for sid, a, v, t in part[:50]:
                    add_reading(s, sensors[sid], v, t, a)
                part = part[50:]
            add_readings(s, [(sensors[sid], v, t, a) for sid, a, v, t in part])
    with db.session() as s:
        for since, until in [(start, start + timedelta(days=21)),
                             (start + timedelta(hours=5, minutes=17, seconds=3), start + timedelta(days=9, minutes=41)),
                             (start + timedelta(days=3, minutes=10), start + timedelta(days=3, minutes=50))]:
            for step in ("hour", "day"):
                for fn in series.FUNCS:
                    fast = series.bucketed(s, ids, "snowDepth", since, until, step, fn)
                    slow = series.bucketed(s, ids, "snowDepth", since, until, step, fn, use_rollups=False)
                    assert fast == slow, (since, until, step, fn)
                    assert sum(len(v) for v in fast.values()) > 0
        counted = series.bucketed(s, ids, "snowDepth", start, start + timedelta(days=21), "day", "count")
        # negative snow depths are implausible (store/plausibility.py): kept out of both paths
        assert sum(v for pts in counted.values() for _t, v in pts) == len([r for r in rows if r[2] >= 0]) < len(rows)
        incremental = rollup_rows(s)
        # a partial rebuild leaves the same rows, and so does a full one
        series.rebuild_rollups(s, since=start + timedelta(days=4, minutes=30))
        assert rollup_rows(s) == incremental
        s.execute(delete(ReadingRollup))
        series.rebuild_rollups(s)
        assert rollup_rows(s) == incremental


def test_prune_keeps_rollups_consistent(db):
    rnd = random.Random(3)
    start = jst(2026, 2, 1)
    rows = random_readings(rnd, 1500, ["a", "b"], start, 6)
    with db.session() as s:
        sensors = setup(s, ("a", "b"))
        add_readings(s, [(sensors[sid], v, t, a) for sid, a, v, t in rows])
    cut = start + timedelta(days=2, hours=7, minutes=23, seconds=30)
    with db.session() as s:
        gone = series.prune_readings(s, cut, ["a"])
        assert gone == sum(1 for sid, _a, _v, t in rows if sid == "a" and t < cut) > 0
        after = rollup_rows(s)
        kept = [(sid, t) for sid, _a, v, t in rows if v >= 0 and not (sid == "a" and t < cut)]  # plausible ones
        assert sum(r[3] for r in after) == len(kept)
        assert min(r[2] for r in after if r[0] == "a") == cut.replace(minute=0, second=0)
        s.execute(delete(ReadingRollup))
        series.rebuild_rollups(s)
        assert rollup_rows(s) == after


def test_start_up_builds_missing_rollups(db):
    load(db, bulk=True)
    with db.session() as s:
        before = rollup_rows(s)
        s.execute(delete(ReadingRollup))
    with db.session() as s:
        assert series.ensure_rollups(s)  # readings but no rollups: it rebuilds them
    with db.session() as s:
        assert rollup_rows(s) == before
        s.execute(delete(ReadingRollup))
    create_all(db)  # what every start does
    with db.session() as s:
        assert rollup_rows(s) == before
        assert not series.ensure_rollups(s)  # nothing to do the second time


def test_latest_raw_and_sparkline(db):
    load(db, bulk=False)
    with db.session() as s:
        sensors = setup(s, ("a", "b", "c", "empty"))
        assert series.latest(s, ["a", "b", "empty", "nosuch"], "snowDepth") == {
            "a": (jst(2026, 1, 11, 0, 0), 70.0), "b": (jst(2026, 1, 10, 9, 30), 3.0)}
        assert series.latest(s, ["a"], "temperature") == {"a": (jst(2026, 1, 10, 9, 1), -5.0)}
        # None: the sensor's own attribute, as kept on the sensor row
        own = series.latest(s, ["a", "c", "empty"])
        assert own == {"a": (jst(2026, 1, 11, 0, 0), 70.0), "c": (jst(2026, 1, 10, 10, 2), 2.0)}
        assert sensors["empty"].last_value is None

        got = series.raw(s, ["a", "b", "empty"], "snowDepth", SINCE, UNTIL, limit_per_sensor=3)
        assert got["a"] == [(jst(2026, 1, 10, 10, 0), 50.0), (jst(2026, 1, 10, 23, 59), 60.0),
                            (jst(2026, 1, 11, 0, 0), 70.0)]  # the newest three, oldest first
        assert got["b"] == [(jst(2026, 1, 10, 9, 0), 1.0), (jst(2026, 1, 10, 9, 30), 3.0)]
        assert got["empty"] == []

        # 48 points over 24 h: 30-minute averages
        line = series.sparkline(s, "a", "snowDepth", jst(2026, 1, 10, 0), jst(2026, 1, 11, 0))
        assert line == [(jst(2026, 1, 10, 9, 0), 20.0), (jst(2026, 1, 10, 9, 30), 40.0),
                        (jst(2026, 1, 10, 10, 0), 50.0), (jst(2026, 1, 10, 23, 30), 60.0),
                        (jst(2026, 1, 11, 0, 0), 70.0)]
        # 4 points over 48 h: 12-hour buckets (through the rollups), aligned on JST midnight
        assert series.sparkline(s, "a", "snowDepth", jst(2026, 1, 10, 0), jst(2026, 1, 12, 0), points=4) == [
            (jst(2026, 1, 10, 0), 30.0), (jst(2026, 1, 10, 12), 60.0), (jst(2026, 1, 11, 0), 70.0)]


def test_deleting_a_sensor_deletes_its_rollups(db):
    load(db, bulk=True)
    with db.session() as s:
        s.delete(s.get(series.Sensor, "b"))
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ReadingRollup).where(ReadingRollup.sensor_id == "b")) == 0
        assert s.scalar(select(func.count()).select_from(Reading).where(Reading.sensor_id == "b")) == 0


def test_sqlite_plans_read_index_ranges(db):
    """Each part of an aggregation is a range of the covering index or of the rollups' primary key (no
    table scan, no table lookups); PostgreSQL's plans are
    printed by bench/dashboard.py (on a table this small it rightly prefers scans)."""
    if db.backend != "sqlite":
        pytest.skip("SQLite's plan")
    load(db, bulk=True)
    with db.session() as s:
        for use_rollups in (True, False):
            sql, params = series.aggregate_query("sqlite", ["a", "b"], "snowDepth", SINCE, UNTIL, 3600, "avg",
                                                 use_rollups)
            plan = [r[-1] for r in s.execute(text("EXPLAIN QUERY PLAN " + sql.text).bindparams(
                *sql._bindparams.values()), params)]
            searches = [p for p in plan if p.startswith("SEARCH")]
            assert searches and all("USING COVERING INDEX ix_readings_cover" in p for p in searches
                                    if p.startswith("SEARCH readings")), plan
            assert all("USING PRIMARY KEY" in p for p in searches if p.startswith("SEARCH reading_rollups")), plan
            assert not [p for p in plan if p.startswith("SCAN readings") or p.startswith("SCAN reading_rollups")]
            assert any("reading_rollups" in p for p in searches) == use_rollups


def test_single_readings_reach_the_rollups_with_their_flush(db):
    with db.session() as s:
        sensors = setup(s, ("a",))
        add_reading(s, sensors["a"], 10.0, jst(2026, 1, 10, 9, 0))
        add_reading(s, sensors["a"], 30.0, jst(2026, 1, 10, 9, 30))
        # read in the same transaction: the pending readings are flushed, rollups included
        assert series.bucketed(s, ["a"], "snowDepth", SINCE, UNTIL, "day", "avg") == {"a": [(jst(2026, 1, 10), 20.0)]}
    try:
        with db.session() as s:
            add_reading(s, s.get(series.Sensor, "a"), 50.0, jst(2026, 1, 10, 9, 45))
            s.flush()
            raise RuntimeError("the ingest fails after the flush")
    except RuntimeError:
        pass
    with db.session() as s:  # the failed transaction left neither the reading nor its rollup
        add_reading(s, s.get(series.Sensor, "a"), 20.0, jst(2026, 1, 10, 9, 50))
    with db.session() as s:
        row = s.get(ReadingRollup, ("a", "snowDepth", jst(2026, 1, 10, 9)))
        assert (row.count, row.total, row.last_value) == (3, 60.0, 20.0)
