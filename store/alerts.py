"""Alert rules, their state, alert events, recipients, resident subscriptions and the mail outbox.

Times are UTC. The outbox row of a mail is written in the same transaction as the event that
caused it (see alerts/notification.py), and carries an idempotency key: the same key is never queued
twice, and the Message-ID of the mail is derived from it.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from store.db import Base, UTCDateTime, utcnow
from store.models import PUBLIC, Layer, Sensor

# mail states in the outbox
QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
MAX_ATTEMPTS = 8
SENDING_LEASE = timedelta(minutes=2)  # a 'sending' claim older than this belonged to a dead worker


class AlertRule(Base):
    __tablename__ = "alert_rules"
    # SQLite would otherwise hand a deleted rule's id to the next rule, and the mails kept under that
    # id (the outbox keeps a deleted rule's history) would show as the new rule's
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    owner: Mapped[str] = mapped_column(String(200), default="")  # who made it (user name / e-mail)
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5), default="ja")
    # what is watched: sensor | layer (its sensors) | area (sensors in a bbox) | property | road
    target: Mapped[str] = mapped_column(String(20), default="sensor")
    sensor_id: Mapped[str | None] = mapped_column(String(120), nullable=True, index=True)
    layer_id: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    area: Mapped[list | None] = mapped_column(JSON, nullable=True)  # [minLon, minLat, maxLon, maxLat]
    property: Mapped[str | None] = mapped_column(String(120), nullable=True)
    attribute: Mapped[str] = mapped_column(String(60), default="snowDepth")
    op: Mapped[str] = mapped_column(String(2), default=">")
    threshold: Mapped[float] = mapped_column(Float)
    clear_threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    for_minutes: Mapped[float] = mapped_column(Float, default=0)
    repeat_minutes: Mapped[float] = mapped_column(Float, default=0)  # 0: no repeat
    no_data_minutes: Mapped[float] = mapped_column(Float, default=0)  # 0: not watched
    quiet_start: Mapped[str] = mapped_column(String(5), default="")  # "22:00" JST, "" = none
    quiet_end: Mapped[str] = mapped_column(String(5), default="")
    recipients: Mapped[list] = mapped_column(JSON, default=list)  # e-mail addresses
    groups: Mapped[list] = mapped_column(JSON, default=list)  # RecipientGroup ids
    options: Mapped[dict] = mapped_column(JSON, default=dict)  # road: hours, radius_km, depth
    public: Mapped[bool] = mapped_column(Boolean, default=False)  # residents may subscribe
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertState(Base):
    """Where one rule stands for one subject (a sensor, a feature, a road segment)."""

    __tablename__ = "alert_states"
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"), primary_key=True)
    subject: Mapped[str] = mapped_column(String(200), primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="ok")  # ok | pending | firing
    pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    peak: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    notified: Mapped[bool] = mapped_column(Boolean, default=False)
    notify_owed: Mapped[bool] = mapped_column(Boolean, default=False)
    nodata_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    place: Mapped[dict] = mapped_column(JSON, default=dict)  # name_ja, name_en, lon, lat
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertEvent(Base):
    __tablename__ = "alert_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("alert_rules.id", ondelete="SET NULL"), nullable=True)
    organisation_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rule_name: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(12))  # fired cleared repeat delayed nodata data_back test
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    mailed: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(String(60), default="")  # e.g. quiet_hours, late_data
    place: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class RecipientGroup(Base):
    __tablename__ = "alert_recipient_groups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    emails: Mapped[list] = mapped_column(JSON, default=list)


class Subscription(Base):
    """A resident's subscription to a public rule: nothing is sent before confirmed_at is set."""

    __tablename__ = "alert_subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(5), default="ja")
    token: Mapped[str] = mapped_column(String(64), unique=True)
    client: Mapped[str] = mapped_column(String(64), default="")  # hash of the requesting address
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    __table_args__ = (UniqueConstraint("rule_id", "email"),)


class Suppression(Base):
    """A staff recipient who clicked List-Unsubscribe for one rule."""

    __tablename__ = "alert_suppressions"
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMail(Base):
    __tablename__ = "alert_outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # idempotency key
    message_id: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("alert_events.id", ondelete="SET NULL"), nullable=True)
    rule_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    organisation_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kind: Mapped[str] = mapped_column(String(12), default="")
    to_addr: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(400))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    unsubscribe_url: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(10), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_by: Mapped[str] = mapped_column(String(80), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    event: Mapped[AlertEvent | None] = relationship(AlertEvent, lazy="raise_on_sql")
    __table_args__ = (Index("ix_alert_outbox_due", "status", "next_attempt_at"),)


# --- rules -------------------------------------------------------------------------------------

RULE_FIELDS = ("name", "language", "target", "sensor_id", "layer_id", "area", "property", "attribute",
               "op", "threshold", "clear_threshold", "for_minutes", "repeat_minutes", "no_data_minutes",
               "quiet_start", "quiet_end", "recipients", "groups", "options", "public", "paused")


def create_rule(s: Session, organisation_id: int | None, owner: str, **fields) -> AlertRule:
    rule = AlertRule(organisation_id=organisation_id, owner=owner,
                     **{k: v for k, v in fields.items() if k in RULE_FIELDS})
    s.add(rule)
    s.flush()
    return rule


def update_rule(s: Session, rule: AlertRule, **fields) -> AlertRule:
    for key, value in fields.items():
        if key in RULE_FIELDS:
            setattr(rule, key, value)
    rule.updated_at = utcnow()
    s.flush()
    return rule


def reset_states(s: Session, rule_id: int) -> None:
    """A changed condition starts from scratch (the next value decides)."""
    s.query(AlertState).filter(AlertState.rule_id == rule_id).delete(synchronize_session=False)


def delete_rule(s: Session, rule: AlertRule) -> None:
    # states / subscriptions / suppressions go with the rule; events and mails stay as history
    for model in (AlertState, Subscription, Suppression):
        s.query(model).filter(model.rule_id == rule.id).delete(synchronize_session=False)
    s.execute(update(AlertEvent).where(AlertEvent.rule_id == rule.id).values(rule_id=None))
    s.delete(rule)
    s.flush()


def rules(s: Session, organisation_id: int | None = None, all_orgs: bool = False) -> list[AlertRule]:
    q = select(AlertRule).order_by(AlertRule.id)
    if not all_orgs:
        q = q.where(AlertRule.organisation_id == organisation_id)
    return list(s.scalars(q))


def active_rules_for_sensors(s: Session, sensor_ids: set[str], layer_ids: set[str]) -> list[AlertRule]:
    """Unpaused rules that may watch any of these sensors (area rules are filtered by the caller)."""
    conds = [AlertRule.target == "area"]
    if sensor_ids:
        conds.append((AlertRule.target == "sensor") & AlertRule.sensor_id.in_(sensor_ids))
    if layer_ids:
        conds.append((AlertRule.target == "layer") & AlertRule.layer_id.in_(layer_ids))
    return list(s.scalars(select(AlertRule).where(AlertRule.paused.is_(False), or_(*conds))))


def states_of(s: Session, keys: set[tuple[int, str]], now: datetime | None = None,
              lock: bool = True) -> dict[tuple[int, str], AlertState]:
    """The states of these (rule, subject) pairs, created when missing, locked for this transaction
    on PostgreSQL (two processes evaluating the same subject at once take turns, so an alert fires
    once; a state created by both at once is created once: INSERT … ON CONFLICT DO NOTHING)."""
    if not keys:
        return {}

    def load():
        q = select(AlertState).where(AlertState.rule_id.in_({k[0] for k in keys}),
                                     AlertState.subject.in_({k[1] for k in keys})) \
            .order_by(AlertState.rule_id, AlertState.subject)  # one lock order everywhere: no deadlocks
        if lock and s.get_bind().dialect.name == "postgresql":
            q = q.with_for_update()
        return {(r.rule_id, r.subject): r for r in s.scalars(q) if (r.rule_id, r.subject) in keys}

    found = load()
    missing = [k for k in keys if k not in found]
    if missing:
        dialect = s.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        now = now or utcnow()
        s.execute(insert(AlertState).values([
            dict(rule_id=r, subject=subj, status="ok", notified=False, notify_owed=False, place={}, updated_at=now)
            for r, subj in missing]).on_conflict_do_nothing())
        found = load()
    return found


# --- what a rule may watch ----------------------------------------------------------------------
# A rule sees what its owner may see: public data and its own organisation's private data, all data
# when the owner is a prefecture admin. A public rule (residents subscribe to it) only ever sees
# public data, whoever made it. Every way a rule selects sensors (one sensor, a layer, an area, all,
# road segments' nearby sensors) goes through these functions; a staff member viewing the history
# uses the same rule (their organisation's scope; everything for prefecture admins).

PUBLIC_ONLY: tuple = ("public",)
EVERYTHING: tuple = ("all",)


def rule_scope(s: Session, rule, cache: dict | None = None) -> tuple:
    """PUBLIC_ONLY, EVERYTHING or ("org", organisation_id) for anything with a rule's attributes
    (a stored AlertRule, an unsaved one, a namespace); missing attributes mean public only."""
    if getattr(rule, "public", False):
        return PUBLIC_ONLY
    org = getattr(rule, "organisation_id", None)
    if org is None:
        return PUBLIC_ONLY
    owner = str(getattr(rule, "owner", "") or "").strip().lower()
    key = (org, owner)
    if cache is not None and key in cache:
        return cache[key]
    from store.users import ADMIN, User

    scope: tuple = ("org", org)
    if owner and s.scalar(select(User.role).where(User.email == owner, User.organisation_id == org,
                                                  User.active.is_(True))) == ADMIN:
        scope = EVERYTHING
    if cache is not None:
        cache[key] = scope
    return scope


def scope_sees(scope: tuple, layer: Layer | None) -> bool:
    if layer is None:
        return False
    if layer.visibility == PUBLIC:
        return True
    return scope == EVERYTHING or (scope[0] == "org" and layer.organisation_id == scope[1])


def rule_sees(s: Session, rule, layer: Layer | None, cache: dict | None = None) -> bool:
    """scope_sees(rule_scope(rule), layer), asking who the owner is only when it matters (another
    organisation's private layer): the ingest path evaluates many rules per reading."""
    if layer is None:
        return False
    if layer.visibility == PUBLIC:
        return True
    if getattr(rule, "public", False) or getattr(rule, "organisation_id", None) is None:
        return False
    if layer.organisation_id == rule.organisation_id:
        return True
    return rule_scope(s, rule, cache) == EVERYTHING


def scope_clause(scope: tuple):
    """scope_sees as an SQL condition over Layer."""
    if scope == EVERYTHING:
        return true()
    if scope[0] == "org":
        return or_(Layer.visibility == PUBLIC, Layer.organisation_id == scope[1])
    return Layer.visibility == PUBLIC


def watchable_sensors(s: Session, rule, cache: dict | None = None):
    """SELECT of the sensors this rule may watch at all (callers narrow it further)."""
    return (select(Sensor).join(Layer, Layer.id == Sensor.layer_id)
            .where(scope_clause(rule_scope(s, rule, cache))))


# --- recipients --------------------------------------------------------------------------------

def groups_of(s: Session, organisation_id: int | None, all_orgs: bool = False) -> list[RecipientGroup]:
    q = select(RecipientGroup).order_by(RecipientGroup.name)
    if not all_orgs:
        q = q.where(RecipientGroup.organisation_id == organisation_id)
    return list(s.scalars(q))


def save_group(s: Session, organisation_id: int | None, name: str, emails: list[str],
               group_id: int | None = None) -> RecipientGroup:
    group = s.get(RecipientGroup, group_id) if group_id else None
    if group is None:
        group = RecipientGroup(organisation_id=organisation_id, name=name, emails=emails)
        s.add(group)
    else:
        group.name, group.emails = name, emails
    s.flush()
    return group


def recipients_of(s: Session, rule: AlertRule) -> list[tuple[str, str, str]]:
    """(address, language, resident-subscription token or "") of everyone a rule mails."""
    lang = rule.language or "ja"
    out: dict[str, tuple[str, str, str]] = {}
    for addr in rule.recipients or []:
        out.setdefault(addr.strip().lower(), (addr.strip(), lang, ""))
    if rule.groups:
        for group in s.scalars(select(RecipientGroup).where(RecipientGroup.id.in_(rule.groups),
                                                            RecipientGroup.organisation_id == rule.organisation_id)):
            for addr in group.emails or []:
                out.setdefault(addr.strip().lower(), (addr.strip(), lang, ""))
    if rule.public:
        for sub in s.scalars(select(Subscription).where(Subscription.rule_id == rule.id,
                                                        Subscription.confirmed_at.is_not(None),
                                                        Subscription.unsubscribed_at.is_(None))):
            out.setdefault(sub.email.lower(), (sub.email, sub.language, sub.token))
    muted = set(s.scalars(select(Suppression.email).where(Suppression.rule_id == rule.id)))
    return [v for k, v in out.items() if k and k not in muted]


def suppress(s: Session, rule_id: int, email: str) -> None:
    email = email.strip().lower()
    if s.get(Suppression, (rule_id, email)) is None:
        s.add(Suppression(rule_id=rule_id, email=email))
        s.flush()


# --- outbox ------------------------------------------------------------------------------------

def message_id_for(key: str, mail_from: str) -> str:
    domain = mail_from.rpartition("@")[2].strip(">").strip() or "ishikawa-map.local"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def enqueue(s: Session, key: str, to_addr: str, subject: str, body_text: str, body_html: str,
            mail_from: str, event: AlertEvent | None = None, rule_id: int | None = None,
            organisation_id: int | None = None, kind: str = "", unsubscribe_url: str = "",
            now: datetime | None = None) -> OutboxMail | None:
    """Queue one mail in the caller's transaction; None when this key is already queued. Nothing
    is flushed here (the caller's commit writes it, together with the event)."""
    if s.scalar(select(OutboxMail.id).where(OutboxMail.key == key)) is not None or any(
            isinstance(o, OutboxMail) and o.key == key for o in s.new):
        return None
    now = now or utcnow()
    mail = OutboxMail(key=key, message_id=message_id_for(key, mail_from), event=event, rule_id=rule_id,
                      organisation_id=organisation_id, kind=kind, to_addr=to_addr, subject=subject,
                      body_text=body_text, body_html=body_html, unsubscribe_url=unsubscribe_url,
                      status=QUEUED, next_attempt_at=now, created_at=now, attempts=0)
    s.add(mail)
    return mail


def claim_due(s: Session, now: datetime, worker: str, limit: int = 50) -> list[OutboxMail]:
    """Claim mails to send: queued and due, or 'sending' claims of a dead worker.

    Each claim is a compare-and-set on (id, status, attempts), so two workers never claim the same
    mail; the caller commits the claims before talking to the SMTP server.
    """
    stale = now - SENDING_LEASE
    candidates = list(s.scalars(
        select(OutboxMail).where(or_((OutboxMail.status == QUEUED) & (OutboxMail.next_attempt_at <= now),
                                     (OutboxMail.status == SENDING) & (OutboxMail.claimed_at <= stale)))
        .order_by(OutboxMail.next_attempt_at, OutboxMail.id).limit(limit)))
    claimed = []
    for mail in candidates:
        res = s.execute(update(OutboxMail)
                        .where(OutboxMail.id == mail.id, OutboxMail.status == mail.status,
                               OutboxMail.attempts == mail.attempts)
                        .values(status=SENDING, claimed_at=now, claimed_by=worker,
                                attempts=mail.attempts + 1,
                                first_attempt_at=mail.first_attempt_at or now)
                        .execution_options(synchronize_session=False))
        if res.rowcount == 1:
            claimed.append(mail.id)
    s.expire_all()
    return [s.get(OutboxMail, i) for i in claimed]


def release_claims(s: Session, mail_ids: list[int]) -> None:
    """Claimed but not tried: back to the queue as they were (the attempt does not count)."""
    if mail_ids:
        s.execute(update(OutboxMail).where(OutboxMail.id.in_(mail_ids), OutboxMail.status == SENDING)
                  .values(status=QUEUED, claimed_at=None, attempts=OutboxMail.attempts - 1)
                  .execution_options(synchronize_session=False))


def mark_failed_attempt(s: Session, mail_id: int, now: datetime, error: str, retry_in: timedelta | None) -> None:
    """Back to the queue after retry_in, or FAILED for good when retry_in is None."""
    values = dict(last_error=error[:2000], claimed_at=None)
    if retry_in is None:
        values.update(status=FAILED)
    else:
        values.update(status=QUEUED, next_attempt_at=now + retry_in)
    s.execute(update(OutboxMail).where(OutboxMail.id == mail_id).values(**values)
              .execution_options(synchronize_session=False))


def outbox_counts(s: Session) -> dict[str, int]:
    return dict(s.execute(select(OutboxMail.status, func.count()).group_by(OutboxMail.status)).all())


def history(s: Session, organisation_id: int | None, all_orgs: bool, since: datetime | None = None,
            rule_id: int | None = None, kinds: list[str] | None = None,
            limit: int = 500, scope: tuple | None = None) -> tuple[list[AlertEvent], list[OutboxMail]]:
    """Events and mails of an organisation (all: admins), newest first. `scope` (PUBLIC_ONLY, EVERYTHING
    or ("org", id); default: the organisation's own, everything with `all_orgs`) drops every event about
    a place on a layer the viewer may not see, and the mails of those events."""
    qe = select(AlertEvent).order_by(AlertEvent.at.desc(), AlertEvent.id.desc()).limit(limit)
    qm = select(OutboxMail).order_by(OutboxMail.created_at.desc(), OutboxMail.id.desc()).limit(limit)
    if not all_orgs:
        qe = qe.where(AlertEvent.organisation_id == organisation_id)
        qm = qm.where(OutboxMail.organisation_id == organisation_id)
    if since is not None:
        qe = qe.where(AlertEvent.at >= since)
        qm = qm.where(OutboxMail.created_at >= since)
    if rule_id:
        qe = qe.where(AlertEvent.rule_id == rule_id)
        qm = qm.where(OutboxMail.rule_id == rule_id)
    if kinds:
        qe = qe.where(AlertEvent.kind.in_(kinds))
    events, mails = list(s.scalars(qe)), list(s.scalars(qm))
    if scope is None:
        scope = EVERYTHING if all_orgs else ("org", organisation_id)
    hidden = hidden_events(s, scope, events)
    if any(m.event_id is not None and m.event_id not in {e.id for e in events} for m in mails):
        hidden |= hidden_events(s, scope, list(s.scalars(select(AlertEvent).where(
            AlertEvent.id.in_({m.event_id for m in mails if m.event_id is not None})))))
    return [e for e in events if e.id not in hidden], [m for m in mails if m.event_id not in hidden]


def hidden_events(s: Session, scope: tuple, events: list[AlertEvent]) -> set[int]:
    """Ids of the events whose place lies on a layer this scope may not see (or that is gone)."""
    layer_ids = {(e.place or {}).get("layer_id") for e in events} - {None, ""}
    if not layer_ids or scope == EVERYTHING:
        return set()
    seen = set(s.scalars(select(Layer.id).where(Layer.id.in_(layer_ids), scope_clause(scope))))
    return {e.id for e in events if (e.place or {}).get("layer_id") not in (None, "", *seen)}


def threshold_lines(s: Session, sensor_ids: list[str], attribute: str, staff=None) -> list[dict]:
    """Chart lines [{"value", "label"}] of the unpaused alert rules that watch these sensors or their
    layers and that `staff` may see: public rules for everyone, the own organisation's for its staff,
    all for admins (None: a visitor). Each (value, label) once."""
    ids = list(sensor_ids)
    if not ids:
        return []
    layers = set(s.scalars(select(Sensor.layer_id).where(Sensor.id.in_(ids))))
    q = select(AlertRule).where(AlertRule.attribute == attribute, AlertRule.paused.is_(False),
                                ((AlertRule.target == "sensor") & AlertRule.sensor_id.in_(ids))
                                | ((AlertRule.target == "layer") & AlertRule.layer_id.in_(layers)))
    from store.permissions import visible_sql

    q = q.where(visible_sql(staff, AlertRule.organisation_id, AlertRule.public.is_(True)))
    seen, out = set(), []
    for rule in s.scalars(q.order_by(AlertRule.id)):
        line = {"value": float(rule.threshold), "label": f"{rule.name} {rule.op} {rule.threshold:g}"}
        if (line["value"], line["label"]) not in seen:
            seen.add((line["value"], line["label"]))
            out.append(line)
    return out
