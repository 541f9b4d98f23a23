"""The rule engine as plain functions with a controllable clock (no database, no sleeps)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts import engine
from alerts.engine import Condition, State

T0 = datetime(2026, 1, 20, 3, 0, tzinfo=UTC)  # 12:00 JST
M = timedelta(minutes=1)


def kinds(trs):
    return [t.kind for t in trs]


def feed(cond, st, values, start=T0, step=M):
    out = []
    for i, v in enumerate(values):
        at = start + step * i
        out.append(engine.on_value(cond, st, v, at, at))
    return out


@pytest.mark.parametrize("op,above,below", [(">", 21, 20), (">=", 20, 19.9), ("<", 19, 20), ("<=", 20, 20.1)])
def test_comparisons(op, above, below):
    assert engine.breaches(op, above, 20)
    assert not engine.breaches(op, below, 20)
    assert engine.normalize_op({"<=": "≤", ">=": "≥"}.get(op, op)) == op


def test_fires_once_and_clears_below_the_clear_threshold():
    cond = Condition(">", 20, clear_threshold=15)
    st = State()
    res = feed(cond, st, [10, 25, 30, 18, 16, 14.9, 12])
    assert [kinds(r) for r in res] == [[], ["fired"], [], [], [], ["cleared"], []]
    fired, cleared = res[1][0], res[5][0]
    assert fired.mail and fired.value == 25
    assert cleared.mail and cleared.duration == 4 * M and cleared.extra["peak"] == 30
    assert st.status == "ok"


def test_without_clear_threshold_clears_when_condition_stops():
    cond = Condition("<", 5)
    st = State()
    res = feed(cond, st, [6, 4, 5])
    assert [kinds(r) for r in res] == [[], ["fired"], ["cleared"]]


def test_old_and_duplicate_values_are_ignored():
    cond = Condition(">", 20)
    st = State()
    engine.on_value(cond, st, 25, T0, T0)
    assert engine.on_value(cond, st, 10, T0, T0) == []
    assert engine.on_value(cond, st, 10, T0 - M, T0) == []
    assert st.status == "firing"


def test_for_at_least_n_minutes_by_readings_and_by_clock():
    cond = Condition(">", 20, for_minutes=10)
    st = State()
    res = feed(cond, st, [25] * 10)  # 0..9 minutes: not yet
    assert all(r == [] for r in res) and st.status == "pending"
    assert kinds(engine.on_value(cond, st, 26, T0 + 10 * M, T0 + 10 * M)) == ["fired"]
    # a dip below resets the wait
    st = State()
    feed(cond, st, [25, 25, 19, 25])
    assert st.status == "pending" and st.pending_since == T0 + 3 * M
    # no new reading: the clock confirms it
    assert engine.on_tick(cond, st, T0 + 12 * M) == []
    assert kinds(engine.on_tick(cond, st, T0 + 13 * M)) == ["fired"]


def test_quiet_hours_hold_the_alert_mail_until_they_end():
    cond = Condition(">", 20, quiet_start="22:00", quiet_end="06:00")
    night = datetime(2026, 1, 20, 14, 0, tzinfo=UTC)  # 23:00 JST
    st = State()
    (fired,) = engine.on_value(cond, st, 30, night, night)
    assert fired.kind == "fired" and not fired.mail and fired.note == "quiet_hours"
    assert engine.on_tick(cond, st, night + timedelta(hours=6, minutes=59)) == []  # 05:59 JST
    (delayed,) = engine.on_tick(cond, st, night + timedelta(hours=7))  # 06:00 JST
    assert delayed.kind == "delayed" and delayed.mail and delayed.duration == timedelta(hours=7)
    assert engine.on_tick(cond, st, night + timedelta(hours=8)) == []


def test_alert_cleared_during_quiet_hours_mails_nobody():
    cond = Condition(">", 20, quiet_start="22:00", quiet_end="06:00")
    night = datetime(2026, 1, 20, 14, 0, tzinfo=UTC)
    st = State()
    engine.on_value(cond, st, 30, night, night)
    (cleared,) = engine.on_value(cond, st, 10, night + M, night + M)
    assert cleared.kind == "cleared" and not cleared.mail
    assert engine.on_tick(cond, st, night + timedelta(hours=8)) == []


def test_quiet_hours_within_one_day():
    cond = Condition(">", 1, quiet_start="12:00", quiet_end="13:00")
    assert engine.in_quiet_hours(cond, T0)  # 12:00 JST
    assert not engine.in_quiet_hours(cond, T0 + 60 * M)
    assert not engine.in_quiet_hours(Condition(">", 1), T0)


def test_repeat_interval_while_active():
    cond = Condition(">", 20, repeat_minutes=30)
    st = State()
    engine.on_value(cond, st, 30, T0, T0)
    assert engine.on_tick(cond, st, T0 + 29 * M) == []
    (rep,) = engine.on_tick(cond, st, T0 + 30 * M)
    assert rep.kind == "repeat" and rep.mail and rep.duration == 30 * M
    assert engine.on_tick(cond, st, T0 + 59 * M) == []
    assert kinds(engine.on_value(cond, st, 31, T0 + 60 * M, T0 + 60 * M)) == ["repeat"]
    # default: no repeat at all
    st2 = State()
    cond2 = Condition(">", 20)
    engine.on_value(cond2, st2, 30, T0, T0)
    assert engine.on_tick(cond2, st2, T0 + timedelta(days=2)) == []


def test_no_data_is_its_own_state():
    cond = Condition(">", 20, no_data_minutes=15)
    st = State()
    engine.on_value(cond, st, 25, T0, T0)  # firing
    assert engine.on_tick(cond, st, T0 + 14 * M) == []
    (nodata,) = engine.on_tick(cond, st, T0 + 15 * M)
    assert nodata.kind == "nodata" and nodata.mail and st.status == "firing"
    assert engine.on_tick(cond, st, T0 + 40 * M) == []  # once
    res = engine.on_value(cond, st, 10, T0 + 50 * M, T0 + 50 * M)
    assert kinds(res) == ["data_back", "cleared"]
    assert res[0].duration == 35 * M
    # a sensor that never reported counts from when the rule started watching
    st = State()
    assert kinds(engine.on_tick(cond, st, T0 + 20 * M, watched_since=T0)) == ["nodata"]


def test_late_values_update_state_without_mail():
    cond = Condition(">", 20)
    st = State()
    (fired,) = engine.on_value(cond, st, 30, T0, T0 + timedelta(hours=3))
    assert not fired.mail and fired.note == "late_data"
    (cleared,) = engine.on_value(cond, st, 10, T0 + timedelta(hours=3), T0 + timedelta(hours=3))
    assert not cleared.mail  # nobody got the alert, so nobody gets the recovery


def test_feature_values_read_numeric_properties():
    feats = [
        {"id": "a", "geometry": {"type": "Point", "coordinates": [136.77, 36.89]},
         "properties": {"name": "A", "level": 3.5}},
        {"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2]]]},
         "properties": {"level": "１２ cm"}},
        {"id": "c", "geometry": None, "properties": {"level": "n/a"}},
        {"id": "d", "geometry": None, "properties": {"level": True}},
    ]
    vals = engine.feature_values(feats, "level")
    assert [(s, v) for s, v, _ in vals] == [("feature:a", 3.5), ("feature:2", 12.0)]
    assert vals[0][2]["lon"] == 136.77 and vals[0][2]["name_ja"] == "A"
    assert vals[1][2]["lon"] == 1.0


def test_road_value_counts_only_with_snow_nearby():
    assert engine.road_value(5, 30, 20) == 5
    assert engine.road_value(5, 10, 20) == 0
    assert engine.road_value(None, 30, 20) == 0
    assert engine.in_area([136, 36, 137, 37], 136.5, 36.5) and not engine.in_area([136, 36, 137, 37], 138, 36.5)
