"""Alert events and their mail: the event row and one outbox row per recipient (same transaction,
an idempotency key per transition), the mail text in the recipient's language (alerts/mail.py),
signed unsubscribe links, previews and test mails."""
from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts import engine
from alerts.config import AlertConfig
from alerts.devices import STOPPED_WHILE_SNOW, device_condition
from alerts.engine import Transition
from alerts.mail import MailFacts, compose
from alerts.watch import Sight
from i18n import STRINGS, t
from registry import ALERT_TARGETS
from store import alerts as sa
from store.models import Organisation, Sensor
from store.sensors import public_address


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
    target = ALERT_TARGETS.get(rule.target)
    facts = MailFacts(kind=kind, rule_name=rule.name, owner=owner_text(s, rule, lang),
                      attribute=(target.measure(rule, lang) if target is not None else
                                 attribute_label(rule.attribute, lang)),
                      op=engine.normalize_op(rule.op), threshold=rule.threshold, clear_threshold=rule.clear_threshold,
                      unit=place.get("unit", ""), value=value, at=at, place_name=name or "—",
                      lon=place.get("lon"), lat=place.get("lat"), duration=duration, peak=peak,
                      no_data_minutes=rule.no_data_minutes or 0)
    if place.get("sensor_id"):
        facts.extra_links.append(("alerts.mail.history",
                                  f"{{base}}/sensors?sensor={sensor_address(s, place['sensor_id'])}&lang={lang}"))
    if target is not None:
        target.mail_facts(s, facts, rule, place, lang)
    return facts


def state_text(state: str, lang: str) -> str:
    if state == "stale":
        return t("melter.popup.stale", lang)
    return t(f"melter.state.{state}", lang) if state in ("running", "stopped", "fault") else "—"


def sensor_address(s: Session, sensor_id: str) -> str:
    """A sensor by the id its organisation posted (store.sensors.public_address), not its store key."""
    sensor = s.get(Sensor, sensor_id)
    return public_address(s, sensor) if sensor is not None else sensor_id


def device_facts(s: Session, facts: MailFacts, rule: sa.AlertRule, place: dict, lang: str) -> None:
    """A device rule's mail: the device's state instead of 1/0, the condition in words and, for
    "stopped while snow", the nearest snow-depth sensor, its depth and distance (and its history)."""
    opts = rule.options or {}
    state = str(place.get("device_state") or "")
    facts.value_text = state_text(state, lang) if state else ""
    facts.extra_rows.append(("alerts.mail.device_state", state_text(state, lang)))
    if device_condition(rule) != STOPPED_WHILE_SNOW:
        facts.condition_text = t("alerts.cond.fault", lang)
        return
    facts.condition_text = t("alerts.cond.stopped_text", lang, n=f"{float(opts.get('depth_over') or 0):g}",
                             m=f"{float(opts.get('within_m') or 0):g}")
    if not place.get("snow_sensor_id"):
        facts.extra_rows.append(("alerts.mail.snow_sensor", t("alerts.mail.no_snow_sensor", lang)))
        return
    depth = f"{float(place.get('snow_depth')):g} {place.get('snow_unit') or 'cm'}" \
        if isinstance(place.get("snow_depth"), (int, float)) else "—"
    name = place.get("snow_sensor_en") if lang == "en" and place.get("snow_sensor_en") else place.get("snow_sensor_ja")
    facts.value_text = f"{facts.value_text} / {depth}"
    address = sensor_address(s, place["snow_sensor_id"])
    facts.extra_rows += [("alerts.mail.snow_sensor", f"{name or address} ({address})"),
                         ("alerts.mail.snow_depth", depth),
                         ("alerts.mail.snow_distance", f"{place.get('snow_distance_m', 0):,.0f} m")]
    facts.extra_links.append(("alerts.mail.history",
                              f"{{base}}/sensors?sensor={address}&lang={lang}"))


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
    """A place to show in previews and test mails: the first subject the rule's target watches (a
    device as it is now), else a place the rule has seen, else the rule's name."""
    sight = Sight(s)
    target = ALERT_TARGETS.get(rule.target)
    place = target.sample(s, rule, sight, datetime.now(UTC)) if target is not None else None
    if place:
        return place
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
