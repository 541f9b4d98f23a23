"""Evaluation of the rules: new readings and changed layers against the rules that watch them
(`process_readings`, `process_layers`, called by alerts/hooks.py inside the writing transaction),
a rule just saved (`evaluate_now`), and the passing of time (`tick`, the worker job: no data,
for-N-minutes, repeats, mails held over quiet hours, and the rules whose target is evaluated at every
tick — road segments, snow-melting devices).

What a rule watches and how it is evaluated now is its target's provider in `registry.ALERT_TARGETS`
(alerts/targets.py, registered by `plugins.register_all()`); road segments come from the providers in
`registry.ROAD_PROVIDERS`, fn(session, rule, now) -> [{"subject", "name_ja", "name_en", "lon", "lat",
"hours_since_cleared", "nearby_depth"}]."""
from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import datetime

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts import engine
from alerts.config import AlertConfig
from alerts.devices import STOPPED_WHILE_SNOW, device_condition, device_value, snow_sensors
from alerts.engine import Condition, State, Transition
from alerts.notification import record
from alerts.watch import Sight, device_place, rule_watches_sensor, sensor_place, watched_devices
from registry import ALERT_TARGETS
from store import alerts as sa
from store.db import Database
from store.models import Feature, Sensor

log = logging.getLogger("ishikawa.alerts")


def _engine_state(row: sa.AlertState) -> State:
    return State(**{k: getattr(row, k) for k in engine.STATE_FIELDS})


def _save_state(row: sa.AlertState, st: State, now: datetime) -> None:
    for k in engine.STATE_FIELDS:
        if getattr(row, k) != getattr(st, k):
            setattr(row, k, getattr(st, k))
    row.updated_at = now


def apply_rule(s: Session, config: AlertConfig, rule: sa.AlertRule, subject: str, place: dict,
           states: dict, now: datetime, fn: Callable[[Condition, State], list[Transition]]) -> list[sa.AlertEvent]:
    key = (rule.id, subject)
    row = states.get(key)
    if row is None:
        row = sa.AlertState(rule_id=rule.id, subject=subject, status="ok", notified=False, notify_owed=False,
                            place=place, updated_at=now)
        s.add(row)
        states[key] = row
    elif place and row.place != place:
        row.place = place
    st = _engine_state(row)
    transitions = fn(Condition.of(rule), st)
    _save_state(row, st, now)
    events = []
    for tr in transitions:
        ev = record(s, config, rule, subject, row.place or place, tr, now)
        if tr.kind in ("fired", "delayed") and tr.mail and not ev.mailed:
            row.notified = False  # nobody got the alert: nobody gets a recovery or a repeat
        events.append(ev)
    return events


def process_readings(s: Session, config: AlertConfig, readings: list[tuple], now: datetime) -> list[sa.AlertEvent]:
    """Evaluate the rules watching the sensors of these (sensor_id, attribute, value, observed_at)."""
    readings = sorted(readings, key=lambda r: r[3])
    sensors = {sid: s.get(Sensor, sid) for sid in {r[0] for r in readings}}
    sensors = {k: v for k, v in sensors.items() if v is not None}
    if not sensors:
        return []
    rules = sa.active_rules_for_sensors(s, set(sensors), {x.layer_id for x in sensors.values()})
    if not rules:
        return []
    sight = Sight(s)
    pairs = [(rule, sensor) for rule in rules for sensor in sensors.values()
             if rule_watches_sensor(sight, rule, sensor)]
    states = sa.states_of(s, {(r.id, x.id) for r, x in pairs}, now)
    events = []
    for sensor_id, attribute, value, observed_at in readings:
        sensor = sensors.get(sensor_id)
        if sensor is None:
            continue
        for rule in rules:
            if not rule_watches_sensor(sight, rule, sensor, attribute):
                continue
            try:
                events += apply_rule(s, config, rule, sensor.id, sensor_place(sensor), states, now,
                                 lambda c, st, value=value, observed_at=observed_at:
                                 engine.on_value(c, st, value, observed_at, now, config.late_after))
            except Exception:  # one broken rule never blocks the ingest of readings
                log.exception("alert rule %s failed on %s", rule.id, sensor_id)
    return events


def process_layers(s: Session, config: AlertConfig, layer_ids: set[str], now: datetime) -> list[sa.AlertEvent]:
    """Property rules on layers whose data changed (an upload or a replacement)."""
    rules = list(s.scalars(select(sa.AlertRule).where(sa.AlertRule.paused.is_(False),
                                                      sa.AlertRule.target == "property",
                                                      sa.AlertRule.layer_id.in_(layer_ids))))
    events = []
    sight = Sight(s)
    for rule in rules:
        if not sight.sees_layer(rule, rule.layer_id):
            continue  # the layer went private to another organisation (or a public rule's went private)
        feats = [{"id": fid, "geometry": _json(geom), "properties": props}
                 for fid, geom, props in s.execute(select(Feature.fid, Feature.geometry, Feature.properties)
                                                   .where(Feature.layer_id == rule.layer_id))]
        events += evaluate_features(s, config, rule, feats, now)
    return events


def evaluate_features(s: Session, config: AlertConfig, rule: sa.AlertRule, features: list[dict],
                      now: datetime) -> list[sa.AlertEvent]:
    """A property rule against plain GeoJSON feature dicts (works for any uploaded layer)."""
    values = engine.feature_values(features, rule.property or "")
    states = sa.states_of(s, {(rule.id, subj) for subj, _, _ in values}, now)
    events = []
    for subject, value, place in values:
        place = dict(place, unit=(rule.options or {}).get("unit", ""), layer_id=rule.layer_id)
        events += apply_rule(s, config, rule, subject, place, states, now,
                         lambda c, st, value=value: engine.on_value(c, st, value, now, now, config.late_after))
    return events


def _json(text):
    try:
        return orjson.loads(text) if isinstance(text, (str, bytes)) else text
    except orjson.JSONDecodeError:
        return None


# --- road passes -----------------------------------------------------------------------------------
# The tick evaluates road rules with the segments of each provider in `registry.ROAD_PROVIDERS`
# (the snow-removal layer's: layers/snow/alerts.py)
# (rule.options: {"depth_over": cm}; the rule's threshold is the number of hours, op ">=").


def evaluate_road(s: Session, config: AlertConfig, rule: sa.AlertRule, segments: list[dict],
                  now: datetime) -> list[sa.AlertEvent]:
    depth_over = engine.numeric((rule.options or {}).get("depth_over", 0))
    if depth_over is None or not math.isfinite(depth_over):  # stored before rules were checked
        log.warning("road rule %s: depth_over %r is not a number; not evaluated", rule.id,
                    (rule.options or {}).get("depth_over"))
        return []
    states = sa.states_of(s, {(rule.id, seg["subject"]) for seg in segments}, now)
    events = []
    for seg in segments:
        value = engine.road_value(seg.get("hours_since_cleared"), seg.get("nearby_depth"), depth_over)
        place = {"name_ja": seg.get("name_ja", seg["subject"]), "name_en": seg.get("name_en") or seg.get("name_ja", ""),
                 "lon": seg.get("lon"), "lat": seg.get("lat"), "unit": ""}
        events += apply_rule(s, config, rule, seg["subject"], place, states, now,
                         lambda c, st, value=value: engine.on_value(c, st, value, now, now, config.late_after))
    return events


# --- snow-melting devices ---------------------------------------------------------------------------
# A device's value under its rule (1 bad, 0 normal) comes from alerts/devices.py; the rule fires at
# >= 1 and clears at 0.

def evaluate_devices(s: Session, config: AlertConfig, rule: sa.AlertRule, now: datetime,
                     states: dict | None = None) -> list[sa.AlertEvent]:
    """A device rule against the devices it may see; a device's value is applied once per report."""
    sight = Sight(s)
    devices = watched_devices(s, rule, sight)
    sensors = snow_sensors(s, rule, sight) if devices and device_condition(rule) == STOPPED_WHILE_SNOW else None
    values = []
    for device in devices:
        v = device_value(device, rule, now, sensors)
        if v is not None:
            values.append((device, *v))
    states = states if states is not None else {}
    missing = {(rule.id, d.id) for d, _, _, _ in values if (rule.id, d.id) not in states}
    if missing:
        states.update(sa.states_of(s, missing, now))
    events = []
    for device, value, observed_at, facts in values:
        row = states.get((rule.id, device.id))
        if row is not None and row.last_observed_at is not None and observed_at <= row.last_observed_at:
            continue  # this report was seen already
        events += apply_rule(s, config, rule, device.id, {**device_place(device), **facts}, states, now,
                         lambda c, st, value=value, observed_at=observed_at:
                         engine.on_value(c, st, value, observed_at, now, config.late_after))
    return events


def evaluate_now(s: Session, config: AlertConfig, rule: sa.AlertRule, now: datetime | None = None) -> list:
    """Right after a rule is created or changed: what its target provider evaluates then (sensor
    targets: their sensors' latest values, so a threshold that is already crossed fires now rather than
    at the next reading; stale values mail nobody)."""
    now = now or config.now()
    target = ALERT_TARGETS.get(rule.target)
    if rule.paused or target is None:
        return []
    return target.evaluate_now(s, config, rule, now)


def tick(db: Database, config: AlertConfig) -> int:
    """Time-based checks (worker job, every few seconds): no data, for-N-minutes, repeats, mails
    owed after quiet hours, road rules. Returns the number of events written."""
    with db.session() as s:
        return len(tick_session(s, config, config.now()))


def tick_session(s: Session, config: AlertConfig, now: datetime) -> list[sa.AlertEvent]:
    events: list[sa.AlertEvent] = []
    all_rules = list(s.scalars(select(sa.AlertRule).where(sa.AlertRule.paused.is_(False))))
    targets = {r.id: ALERT_TARGETS.get(r.target) for r in all_rules}
    timed = [r for r in all_rules if (targets[r.id] is not None and targets[r.id].timed) or r.no_data_minutes
             or r.for_minutes or r.repeat_minutes or (r.quiet_start and r.quiet_end)]
    if not timed:
        return events
    q = (select(sa.AlertState).where(sa.AlertState.rule_id.in_([r.id for r in timed]))
         .order_by(sa.AlertState.rule_id, sa.AlertState.subject))
    if s.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()  # same lock order as the ingest path (store.alerts.states_of)
    states = {(row.rule_id, row.subject): row for row in s.scalars(q)}
    sensors_by_layer: dict = {}
    sight = Sight(s)
    for rule in timed:
        try:
            target = targets[rule.id]
            if target is not None and target.timed:
                events += target.tick(s, config, rule, now, states)
            subjects: dict[str, dict] = {k[1]: row.place for k, row in states.items()
                                         if k[0] == rule.id and sight.sees_place(rule, k[1], row.place)}
            if rule.no_data_minutes and target is not None and target.silence_matters:
                for subject, place in target.candidates(s, rule, sight, now, sensors_by_layer):
                    subjects.setdefault(subject, place)
            missing = {(rule.id, subj) for subj in subjects if (rule.id, subj) not in states}
            if missing:  # created with ON CONFLICT DO NOTHING: an ingest may be creating them right now
                states.update(sa.states_of(s, missing, now))
            cond = Condition.of(rule)
            for subject, place in subjects.items():
                row = states.get((rule.id, subject))
                if row is not None and not engine.needs_tick(cond, _engine_state(row)):
                    continue
                events += apply_rule(s, config, rule, subject, place, states, now,
                                 lambda c, st, rule=rule: engine.on_tick(c, st, now, watched_since=rule.created_at))
        except Exception:
            log.exception("alert tick failed for rule %s", rule.id)
    return events
