"""Alerts wired to the store: new readings and changed layers trigger the rules that watch them,
in the same transaction; events and their outbox mails are written together.

`install(db, config)` hooks the Database's sessions: every committed transaction that added
readings (store.sensors.add_reading — the one ingest path of the demo feed, FIWARE and the API)
or changed a layer (uploads: the layer's version moves) is evaluated right before it commits, so
the reading, the alert event and the outbox rows are one atomic write. `tick(db, config)` handles
the passing of time (worker job). Nothing here imports Dash or Flask.
"""
from __future__ import annotations

import hashlib
import html as _html
import logging
import math
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from alerts import engine
from alerts.engine import Condition, State, Transition
from alerts.mail import MailFacts, compose
from i18n import STRINGS, t
from store import alerts as sa
from store.db import Database, utcnow
from store.models import Feature, Layer, Organisation, Reading, Sensor
from store.sensors import NEW_READINGS

log = logging.getLogger("ishikawa.alerts")

WAKE = threading.Event()  # set after a commit that queued mail: the sender goes at once


@dataclass
class AlertConfig:
    base_url: str = "http://127.0.0.1:8050"
    mail_from: str = "ishikawa-map@localhost"
    secret_key: str = "dev"
    clock: Callable[[], datetime] = utcnow  # tests pass a controllable clock
    late_after: timedelta = engine.LATE_AFTER
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings, **over) -> AlertConfig:
        over.setdefault("extra", {"camera_nearest_m": getattr(settings, "camera_nearest_m", 0.0)})
        return cls(base_url=settings.public_base_url, mail_from=settings.mail_from,
                   secret_key=settings.secret_key, **over)

    def now(self) -> datetime:
        return self.clock()


_CONFIGS: dict = {}  # engine -> AlertConfig


def install(db: Database, config: AlertConfig) -> None:
    """Evaluate rules on every commit of this database's sessions (idempotent)."""
    _CONFIGS[db.engine] = config
    maker = db._sessions
    # marked on the sessionmaker itself: event.contains() can be fooled when a collected
    # sessionmaker's class id is reused by a new one
    if not getattr(maker, "_ishikawa_alerts", False):
        maker._ishikawa_alerts = True
        event.listen(maker, "after_flush", _after_flush)
        event.listen(maker, "before_commit", _before_commit)
        event.listen(maker, "after_commit", _after_commit)
        event.listen(maker, "after_soft_rollback", _after_rollback)


def config_of(db: Database) -> AlertConfig | None:
    return _CONFIGS.get(db.engine)


def install_config_of(s: Session) -> AlertConfig | None:
    """The config installed for this session's database (None: alerts not installed)."""
    return _CONFIGS.get(s.get_bind())


def _collect(session: Session, objects) -> None:
    info = session.info
    seen = info.setdefault("alerts.seen", set())
    for obj in objects:
        if isinstance(obj, Reading) and id(obj) not in seen:
            seen.add(id(obj))
            info.setdefault("alerts.readings", []).append(obj)
        elif isinstance(obj, sa.OutboxMail):
            info["alerts.mail"] = True
        elif isinstance(obj, Layer) and ("layer", obj.id) not in seen and (
                obj in session.new or inspect(obj).attrs.version.history.has_changes()):
            seen.add(("layer", obj.id))
            info.setdefault("alerts.layers", set()).add(obj.id)


def _after_flush(session: Session, _ctx) -> None:
    _collect(session, list(session.new) + [o for o in session.dirty if isinstance(o, Layer)])


def _before_commit(session: Session) -> None:
    """Evaluate before the final flush and without autoflush, so on SQLite the write lock is taken
    only for the inserts at the very end (the mail job can write between two ingest commits)."""
    config = _CONFIGS.get(session.get_bind())
    if config is None or session.info.get("alerts.busy"):
        return
    session.info["alerts.busy"] = True
    try:
        with session.no_autoflush:
            for _ in range(10):
                _collect(session, list(session.new) + [o for o in session.dirty if isinstance(o, Layer)])
                readings = session.info.pop("alerts.readings", None)
                bulk = session.info.pop(NEW_READINGS, None)  # store.sensors.add_readings (broker polls)
                layers = session.info.pop("alerts.layers", None)
                if not readings and not bulk and not layers:
                    break
                now = config.now()
                values = [(r.sensor_id, r.attribute, float(r.value), r.observed_at) for r in readings or []]
                values += [(sid, attr, float(v), at) for sid, attr, v, at in bulk or []]
                if values:
                    process_readings(session, config, values, now)
                if layers:
                    process_layers(session, config, layers, now)
                if any(isinstance(o, sa.OutboxMail) for o in session.new):
                    session.info["alerts.mail"] = True
    finally:
        session.info.pop("alerts.busy", None)


def _after_rollback(session: Session, _previous) -> None:
    for key in ("alerts.readings", "alerts.layers", "alerts.mail", "alerts.seen", NEW_READINGS):
        session.info.pop(key, None)


def _after_commit(session: Session) -> None:
    for key in ("alerts.readings", "alerts.layers", "alerts.seen", NEW_READINGS):
        session.info.pop(key, None)
    if session.info.pop("alerts.mail", False):
        WAKE.set()


# --- state <-> engine ---------------------------------------------------------------------------

def _engine_state(row: sa.AlertState) -> State:
    return State(**{k: getattr(row, k) for k in engine.STATE_FIELDS})


def _save_state(row: sa.AlertState, st: State, now: datetime) -> None:
    for k in engine.STATE_FIELDS:
        if getattr(row, k) != getattr(st, k):
            setattr(row, k, getattr(st, k))
    row.updated_at = now


def sensor_place(sensor: Sensor) -> dict:
    return {"name_ja": sensor.name_ja, "name_en": sensor.name_en or sensor.name_ja, "lon": sensor.lon,
            "lat": sensor.lat, "unit": sensor.unit, "layer_id": sensor.layer_id, "sensor_id": sensor.id}


class Sight:
    """What rules may see, for one pass (caches the owners' scopes and the layers looked up).
    Every way a rule selects its subjects asks here (store.alerts.rule_scope is the rule)."""

    def __init__(self, s: Session):
        self.s = s
        self.scopes: dict = {}
        self.layers: dict = {}

    def scope(self, rule) -> tuple:
        return sa.rule_scope(self.s, rule, self.scopes)

    def sees_layer(self, rule, layer_id: str | None) -> bool:
        if not layer_id:
            return False
        if layer_id not in self.layers:
            self.layers[layer_id] = self.s.get(Layer, layer_id)
        return sa.rule_sees(self.s, rule, self.layers[layer_id], self.scopes)

    def sees_place(self, rule, subject: str, place: dict | None) -> bool:
        """A stored state's or event's place: sensor and property places carry their layer; road
        segments (no layer, no sensor) are public data."""
        place = place or {}
        layer_id = place.get("layer_id")
        if not layer_id and (place.get("sensor_id") or rule.target in ("sensor", "layer", "area")):
            sensor = self.s.get(Sensor, place.get("sensor_id") or subject)
            layer_id = sensor.layer_id if sensor is not None else None
            if layer_id is None:
                return not place  # an empty place from before the first value shows nothing
        return self.sees_layer(rule, layer_id) if layer_id else True


def rule_watches_sensor(sight: Sight, rule: sa.AlertRule, sensor: Sensor, attribute: str | None = None) -> bool:
    if attribute is not None and (rule.attribute or sensor.attribute) != attribute:
        return False
    if not sight.sees_layer(rule, sensor.layer_id):
        return False
    if rule.target == "sensor":
        return rule.sensor_id == sensor.id
    if rule.target == "layer":
        return rule.layer_id == sensor.layer_id
    if rule.target == "area":
        return (engine.in_area(rule.area, sensor.lon, sensor.lat)
                and (not rule.layer_id or rule.layer_id == sensor.layer_id))
    return False


def _apply(s: Session, config: AlertConfig, rule: sa.AlertRule, subject: str, place: dict,
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
                events += _apply(s, config, rule, sensor.id, sensor_place(sensor), states, now,
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
        events += _apply(s, config, rule, subject, place, states, now,
                         lambda c, st, value=value: engine.on_value(c, st, value, now, now, config.late_after))
    return events


def _json(text):
    try:
        return orjson.loads(text) if isinstance(text, (str, bytes)) else text
    except orjson.JSONDecodeError:
        return None


# --- road passes -----------------------------------------------------------------------------------
# A provider gives, for a road rule, the segments it watches:
#   provider(session, rule, now) -> [{"subject", "name_ja", "name_en", "lon", "lat",
#                                      "hours_since_cleared", "nearby_depth"}]
# The worker registers the snowplow layer's provider (layers/snowplow.py) with `register_road_provider`;
# its tick evaluates road rules with it
# (rule.options: {"depth_over": cm}; the rule's threshold is the number of hours, op ">=").

_ROAD_PROVIDERS: list[Callable] = []


def register_road_provider(fn: Callable) -> None:
    if fn not in _ROAD_PROVIDERS:
        _ROAD_PROVIDERS.append(fn)


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
        events += _apply(s, config, rule, seg["subject"], place, states, now,
                         lambda c, st, value=value: engine.on_value(c, st, value, now, now, config.late_after))
    return events


def evaluate_now(s: Session, config: AlertConfig, rule: sa.AlertRule, now: datetime | None = None) -> list:
    """Right after a rule is created or changed: its sensors' latest values, so a threshold that is
    already crossed fires now rather than at the next reading (stale values mail nobody)."""
    now = now or config.now()
    if rule.paused or rule.target not in ("sensor", "layer", "area"):
        return []
    sensors = [x for x in _watched_sensors(s, rule, {}, Sight(s)) if x.last_value is not None and x.last_observed_at]
    states = sa.states_of(s, {(rule.id, x.id) for x in sensors}, now)
    events = []
    for x in sensors:
        events += _apply(s, config, rule, x.id, sensor_place(x), states, now,
                         lambda c, st, x=x: engine.on_value(c, st, x.last_value, x.last_observed_at, now,
                                                            config.late_after))
    return events


# --- time ---------------------------------------------------------------------------------------

def tick(db: Database, config: AlertConfig) -> int:
    """Time-based checks (worker job, every few seconds): no data, for-N-minutes, repeats, mails
    owed after quiet hours, road rules. Returns the number of events written."""
    with db.session() as s:
        return len(tick_session(s, config, config.now()))


def tick_session(s: Session, config: AlertConfig, now: datetime) -> list[sa.AlertEvent]:
    events: list[sa.AlertEvent] = []
    all_rules = list(s.scalars(select(sa.AlertRule).where(sa.AlertRule.paused.is_(False))))
    timed = [r for r in all_rules if r.target == "road" or r.no_data_minutes or r.for_minutes
             or r.repeat_minutes or (r.quiet_start and r.quiet_end)]
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
            if rule.target == "road":
                for provider in _ROAD_PROVIDERS:
                    events += evaluate_road(s, config, rule, provider(s, rule, now), now)
            subjects: dict[str, dict] = {k[1]: row.place for k, row in states.items()
                                         if k[0] == rule.id and sight.sees_place(rule, k[1], row.place)}
            if rule.no_data_minutes and rule.target in ("sensor", "layer", "area"):
                for sensor in _watched_sensors(s, rule, sensors_by_layer, sight):
                    subjects.setdefault(sensor.id, sensor_place(sensor))
            missing = {(rule.id, subj) for subj in subjects if (rule.id, subj) not in states}
            if missing:  # created with ON CONFLICT DO NOTHING: an ingest may be creating them right now
                states.update(sa.states_of(s, missing, now))
            cond = Condition.of(rule)
            for subject, place in subjects.items():
                row = states.get((rule.id, subject))
                if row is not None and not engine.needs_tick(cond, _engine_state(row)):
                    continue
                events += _apply(s, config, rule, subject, place, states, now,
                                 lambda c, st, rule=rule: engine.on_tick(c, st, now, watched_since=rule.created_at))
        except Exception:
            log.exception("alert tick failed for rule %s", rule.id)
    return events


def _watched_sensors(s: Session, rule: sa.AlertRule, cache: dict, sight: Sight) -> list[Sensor]:
    """The sensors a sensor/layer/area rule watches: only those its owner may see (a public rule:
    public sensors only)."""
    if rule.target == "sensor":
        sensor = s.get(Sensor, rule.sensor_id) if rule.sensor_id else None
        return [sensor] if sensor is not None and rule_watches_sensor(sight, rule, sensor) else []
    scope = sight.scope(rule)
    key = (rule.layer_id or "*", scope)
    if key not in cache:
        q = sa.watchable_sensors(s, rule, sight.scopes)
        if rule.layer_id:
            q = q.where(Sensor.layer_id == rule.layer_id)
        cache[key] = list(s.scalars(q))
    return [x for x in cache[key] if rule_watches_sensor(sight, rule, x)]


# --- events and mail ----------------------------------------------------------------------------

def attribute_label(attribute: str, lang: str) -> str:
    key = f"alerts.attr.{attribute}"
    return t(key, lang) if key in STRINGS else attribute


def owner_text(s: Session, rule: sa.AlertRule, lang: str) -> str:
    org = s.get(Organisation, rule.organisation_id) if rule.organisation_id else None
    org_name = (org.name_en if lang == "en" and org.name_en else org.name_ja) if org else ""
    return " / ".join(x for x in (org_name, rule.owner) if x) or "—"


def facts_for(s: Session, rule: sa.AlertRule, kind: str, place: dict, value, at: datetime, lang: str,
              duration: timedelta | None = None, peak=None) -> MailFacts:
    name = place.get("name_en") if lang == "en" and place.get("name_en") else place.get("name_ja", "")
    facts = MailFacts(kind=kind, rule_name=rule.name, owner=owner_text(s, rule, lang),
                      attribute=(rule.property if rule.target == "property" else
                                 t("alerts.attr.road_hours", lang) if rule.target == "road" else
                                 attribute_label(rule.attribute, lang)),
                      op=engine.normalize_op(rule.op), threshold=rule.threshold, clear_threshold=rule.clear_threshold,
                      unit=place.get("unit", ""), value=value, at=at, place_name=name or "—",
                      lon=place.get("lon"), lat=place.get("lat"), duration=duration, peak=peak,
                      no_data_minutes=rule.no_data_minutes or 0)
    if place.get("sensor_id"):
        facts.extra_links.append(("alerts.mail.history", f"{{base}}/sensors?sensor={place['sensor_id']}&lang={lang}"))
    return facts


def unsubscribe_url(config: AlertConfig, rule_id: int, email: str, token: str = "") -> str:
    from itsdangerous import URLSafeSerializer

    if token:
        return f"{config.base_url}/alerts/unsubscribe?token={token}"
    signed = URLSafeSerializer(config.secret_key, salt="alerts-unsubscribe").dumps([rule_id, email.lower()])
    return f"{config.base_url}/alerts/unsubscribe?s={signed}"


def read_unsubscribe(config: AlertConfig, signed: str) -> tuple[int, str] | None:
    from itsdangerous import BadSignature, URLSafeSerializer

    try:
        rule_id, email = URLSafeSerializer(config.secret_key, salt="alerts-unsubscribe").loads(signed)
        return int(rule_id), str(email)
    except (BadSignature, ValueError, TypeError):
        return None


def render(s: Session, config: AlertConfig, rule: sa.AlertRule, kind: str, place: dict, value, at: datetime,
           lang: str, duration=None, peak=None, unsub: str = "") -> tuple[str, str, str]:
    facts = facts_for(s, rule, kind, place, value, at, lang, duration, peak)
    from store.cameras import nearest_snapshot  # the road as it looked: the nearest camera's snapshot then

    snap = nearest_snapshot(s, place.get("lon"), place.get("lat"), at, config.extra.get("camera_nearest_m", 0),
                            None if rule.public else rule.organisation_id)
    if snap:
        facts.extra_links.append(("camera.mail.nearest", "{base}" + snap))
    facts.extra_links = [(k, u.replace("{base}", config.base_url)) for k, u in facts.extra_links]
    return compose(facts, lang, config.base_url, unsub)


def record(s: Session, config: AlertConfig, rule: sa.AlertRule, subject: str, place: dict, tr: Transition,
           now: datetime) -> sa.AlertEvent:
    """Write the event and, when it is to be mailed, one outbox row per recipient (same transaction)."""
    ev = sa.AlertEvent(rule_id=rule.id, organisation_id=rule.organisation_id, rule_name=rule.name, subject=subject,
                       kind=tr.kind, value=tr.value, threshold=rule.threshold, observed_at=tr.observed_at,
                       duration_s=tr.duration.total_seconds() if tr.duration is not None else None,
                       mailed=False, note=tr.note, place=place, at=now)
    s.add(ev)
    if tr.mail:
        queued = queue_event_mail(s, config, rule, ev, tr.extra.get("peak"), now)
        ev.mailed = queued > 0
        if not queued:
            ev.note = ev.note or "no_recipients"
    return ev


def queue_event_mail(s: Session, config: AlertConfig, rule: sa.AlertRule, ev: sa.AlertEvent, peak, now: datetime,
                     only_to: str | None = None) -> int:
    duration = timedelta(seconds=ev.duration_s) if ev.duration_s is not None else None
    recipients = [(only_to, rule.language or "ja", "")] if only_to else sa.recipients_of(s, rule)
    n = 0
    for addr, lang, token in recipients:
        unsub = "" if ev.kind == "test" else unsubscribe_url(config, rule.id, addr, token)
        subject, text, body_html = render(s, config, rule, ev.kind, ev.place or {}, ev.value,
                                          ev.observed_at or ev.at, lang, duration, peak, unsub)
        # the key names the transition itself: the same alert is never queued twice for one address
        when = (ev.observed_at or ev.at).isoformat()
        key = (f"test:{secrets.token_hex(8)}:{addr.lower()}" if ev.kind == "test"
               else f"r{rule.id}:{ev.subject}:{ev.kind}:{when}:{addr.lower()}")
        if sa.enqueue(s, key, addr, subject, text, body_html, config.mail_from,
                      event=ev, rule_id=rule.id, organisation_id=rule.organisation_id, kind=ev.kind,
                      unsubscribe_url=unsub, now=now):
            n += 1
    return n


def sample_place(s: Session, rule: sa.AlertRule) -> dict:
    """A place to show in previews and test mails: the rule's sensor or the first one it watches."""
    sight = Sight(s)
    if rule.target in ("sensor", "layer", "area"):
        sensors = _watched_sensors(s, rule, {}, sight)
        if sensors:
            return sensor_place(sensors[0])
    if rule.id is not None:
        for row in s.scalars(select(sa.AlertState).where(sa.AlertState.rule_id == rule.id)
                             .order_by(sa.AlertState.subject).limit(50)):
            if row.place and sight.sees_place(rule, row.subject, row.place):
                return row.place
    return {"name_ja": rule.name, "name_en": rule.name, "lon": None, "lat": None, "unit": ""}


def preview(s: Session, config: AlertConfig, rule: sa.AlertRule, kind: str = "fired",
            now: datetime | None = None) -> tuple[str, str, str]:
    """The mail a rule would send, with the watched sensor's latest value (or the threshold)."""
    now = now or config.now()
    place = sample_place(s, rule)
    value = rule.threshold
    sensor = s.get(Sensor, place.get("sensor_id")) if place.get("sensor_id") else None
    if sensor is not None and sensor.last_value is not None:
        value = sensor.last_value
    duration = timedelta(hours=1, minutes=25) if kind == "cleared" else None
    return render(s, config, rule, kind, place, value, now, rule.language or "ja", duration,
                  unsub=unsubscribe_url(config, rule.id, "preview@example.invalid"))


def send_test_mail(s: Session, config: AlertConfig, rule: sa.AlertRule, to: str | None = None,
                   now: datetime | None = None) -> int:
    """Queue a test mail (kind 'test') to one address or to all the rule's recipients."""
    now = now or config.now()
    place = sample_place(s, rule)
    sensor = s.get(Sensor, place.get("sensor_id")) if place.get("sensor_id") else None
    value = sensor.last_value if sensor is not None and sensor.last_value is not None else rule.threshold
    ev = sa.AlertEvent(rule_id=rule.id, organisation_id=rule.organisation_id, rule_name=rule.name,
                       subject=place.get("sensor_id") or "", kind="test", value=value, threshold=rule.threshold,
                       observed_at=now, place=place, at=now, mailed=False, note="")
    s.add(ev)
    s.flush()
    n = queue_event_mail(s, config, rule, ev, None, now, only_to=to)
    ev.mailed = n > 0
    return n


# --- residents ----------------------------------------------------------------------------------

SUBSCRIBE_LIMIT_PER_CLIENT = 5  # requests per hour from one address
SUBSCRIBE_LIMIT_PER_EMAIL = 3  # confirmation mails per hour to one mailbox


class RateLimited(Exception):
    pass


def public_rules(s: Session) -> list[sa.AlertRule]:
    return list(s.scalars(select(sa.AlertRule).where(sa.AlertRule.public.is_(True), sa.AlertRule.paused.is_(False))
                          .order_by(sa.AlertRule.name)))


def request_subscription(s: Session, config: AlertConfig, rule_id: int, email: str, lang: str, client: str,
                         now: datetime | None = None) -> sa.Subscription:
    """Double opt-in, step 1: store the (unconfirmed) subscription and queue the confirmation mail.
    Raises ValueError (bad input) or RateLimited."""
    now = now or config.now()
    email = (email or "").strip()
    if not re.fullmatch(r"[^@\s<>\"',;]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", email) or len(email) > 254:
        raise ValueError("alerts.sub.bad_email")
    rule = s.get(sa.AlertRule, rule_id)
    if rule is None or not rule.public or rule.paused:
        raise ValueError("alerts.sub.bad_rule")
    client_hash = hashlib.sha256(f"{config.secret_key}:{client}".encode()).hexdigest()[:32]
    hour_ago = now - timedelta(hours=1)
    recent = s.scalar(select(func.count()).select_from(sa.Subscription)
                      .where(sa.Subscription.client == client_hash, sa.Subscription.created_at >= hour_ago))
    by_mail = s.scalar(select(func.count()).select_from(sa.OutboxMail)
                       .where(sa.OutboxMail.kind == "confirm", sa.OutboxMail.to_addr == email,
                              sa.OutboxMail.created_at >= hour_ago))
    if recent >= SUBSCRIBE_LIMIT_PER_CLIENT or by_mail >= SUBSCRIBE_LIMIT_PER_EMAIL:
        raise RateLimited()
    sub = s.scalar(select(sa.Subscription).where(sa.Subscription.rule_id == rule_id,
                                                 sa.Subscription.email == email.lower()))
    if sub is None:
        sub = sa.Subscription(rule_id=rule_id, email=email.lower(), language=lang, token=secrets.token_urlsafe(24),
                              client=client_hash, created_at=now)
        s.add(sub)
    else:  # asking again re-sends the confirmation (and re-opens an unsubscribed one, unconfirmed)
        sub.created_at, sub.client, sub.language = now, client_hash, lang
        if sub.unsubscribed_at is not None:
            sub.unsubscribed_at, sub.confirmed_at = None, None
            sub.token = secrets.token_urlsafe(24)
    s.flush()
    if sub.confirmed_at is None:
        url = f"{config.base_url}/alerts/confirm?token={sub.token}"
        subject = f"[{t('app.short', lang)}] {t('alerts.sub.confirm_subject', lang, rule=rule.name)}"
        text = t("alerts.sub.confirm_text", lang, rule=rule.name, url=url) + "\n"
        body_html = (f'<!doctype html><html lang="{lang}"><body style="font-family:sans-serif">'
                     f'<p>{_html.escape(t("alerts.sub.confirm_lead", lang, rule=rule.name))}</p>'
                     f'<p><a href="{_html.escape(url)}">{_html.escape(t("alerts.sub.confirm_button", lang))}</a></p>'
                     f'<p style="font-size:12px;color:#52606d">{_html.escape(t("alerts.sub.confirm_ignore", lang))}</p>'
                     f'</body></html>')
        sa.enqueue(s, f"confirm:{sub.id}:{int(now.timestamp())}:{sub.token[:8]}", email, subject, text, body_html,
                   config.mail_from, rule_id=rule.id, organisation_id=rule.organisation_id, kind="confirm", now=now)
    return sub


def confirm_subscription(s: Session, token: str, now: datetime, apply: bool = True) -> sa.Subscription | None:
    """The subscription of a confirmation link (None: unknown or ended); apply=False only looks."""
    sub = s.scalar(select(sa.Subscription).where(sa.Subscription.token == token)) if token else None
    if sub is None or sub.unsubscribed_at is not None:
        return None
    if apply and sub.confirmed_at is None:
        sub.confirmed_at = now
    return sub


def unsubscribe(s: Session, config: AlertConfig, now: datetime, token: str = "", signed: str = "",
                apply: bool = True) -> bool:
    """One click: a resident's token, or a staff recipient's signed (rule, address).
    apply=False only tells whether the link is good (the page that asks before acting)."""
    if token:
        sub = s.scalar(select(sa.Subscription).where(sa.Subscription.token == token))
        if sub is None:
            return False
        if apply and sub.unsubscribed_at is None:
            sub.unsubscribed_at = now
        return True
    found = read_unsubscribe(config, signed) if signed else None
    if found is None or s.get(sa.AlertRule, found[0]) is None:
        return False
    if apply:
        sa.suppress(s, found[0], found[1])
    return True
