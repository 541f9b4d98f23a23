"""Alert rules: create, change, pause, delete — the one workflow the API (api/alerts.py) and the
staff page (pages/staff_alerts.py) share. No Flask, no Dash; says no with `refusal.Refused`.

A rule's owner (organisation and the staff member who made it) stays its owner whoever changes it;
what the rule may watch follows from that owner (store.alerts.rule_scope). Another organisation's
rule answers exactly like a missing one (404). After every save the rule's states start afresh and
its sensors' latest values are evaluated at once, so a threshold already crossed fires now.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from alerts.access import may_manage
from alerts.config import AlertConfig, install_config_of
from alerts.evaluation import evaluate_now
from alerts.rules_json import parse_rule
from refusal import Refused
from store import alerts as sa, audit
from store.db import utcnow

MAX_ID = 2 ** 63 - 1  # the largest id a database integer holds: larger ones are unknown ids
# what the audit log keeps of a rule before and after a change
AUDITED = ("name", "language", "target", "sensor_id", "layer_id", "area", "property", "attribute", "op", "threshold",
           "clear_threshold", "for_minutes", "repeat_minutes", "no_data_minutes", "quiet_start", "quiet_end",
           "recipients", "groups", "options", "public", "paused")


def _audit(s: Session, staff, action: str, rule: sa.AlertRule, before: dict | None = None) -> None:
    changes = audit.diff(before, audit.snapshot(rule, AUDITED)) if before is not None else None
    audit.record(s, staff, action, f"rule:{rule.id}", rule.name, rule.organisation_id, changes=changes)


def not_found() -> Refused:
    return Refused(404, "not_found", "alerts.err.not_found")


def find(s: Session, staff, rule_id) -> sa.AlertRule:
    """The rule `staff` may manage, or Refused 404 (unknown, another organisation's, a bad id)."""
    try:
        rule_id = int(rule_id)
    except (TypeError, ValueError):
        raise not_found() from None
    if not 0 < rule_id <= MAX_ID:
        raise not_found()
    rule = s.get(sa.AlertRule, rule_id)
    if not may_manage(staff, rule):
        raise not_found()
    return rule


def _evaluate(s: Session, config: AlertConfig | None, rule: sa.AlertRule) -> None:
    config = config or install_config_of(s)
    if config is not None:
        evaluate_now(s, config, rule)


def create(s: Session, staff, data, config: AlertConfig | None = None) -> sa.AlertRule:
    """A new rule of the staff member's organisation from rule JSON (alerts.rules_json)."""
    if staff is None:
        raise Refused(401, "unauthorized", "alerts.err.login")
    if not staff.may_manage(staff.organisation_id):  # a viewer changes nothing
        raise Refused(403, "forbidden", "perm.forbidden")
    fields = parse_rule(s, data, staff)
    rule = sa.create_rule(s, staff.organisation_id, staff.email, created_at=utcnow(), **fields)
    _evaluate(s, config, rule)
    s.flush()
    _audit(s, staff, "rule.create", rule, {})
    return rule


def update(s: Session, staff, rule_id, data, config: AlertConfig | None = None,
           replace: bool = False) -> sa.AlertRule:
    """Change a rule: the keys given (API PATCH), or with `replace` the whole rule as the staff
    page's form has it (its paused flag stays as it was)."""
    rule = find(s, staff, rule_id)
    before = audit.snapshot(rule, AUDITED)
    fields = parse_rule(s, data, staff, current=rule, replace=replace)
    if replace:
        fields["paused"] = rule.paused
    sa.update_rule(s, rule, **fields)
    sa.reset_states(s, rule.id)
    _evaluate(s, config, rule)
    s.flush()
    _audit(s, staff, "rule.update", rule, before)
    return rule


def set_paused(s: Session, staff, rule_id, paused: bool) -> sa.AlertRule:
    rule = find(s, staff, rule_id)
    was = rule.paused
    sa.update_rule(s, rule, paused=bool(paused))
    if was != rule.paused:
        _audit(s, staff, "rule.pause" if rule.paused else "rule.resume", rule)
    return rule


def delete(s: Session, staff, rule_id) -> str:
    """Delete a rule (its events and mails stay as history); returns its name."""
    rule = find(s, staff, rule_id)
    name = rule.name
    _audit(s, staff, "rule.delete", rule)
    sa.delete_rule(s, rule)
    return name


def draft(s: Session, staff, data, editing_id=None) -> sa.AlertRule:
    """The form as it stands, as an unsaved rule (previews, test mails): never added to the session.
    When it edits a saved rule, it has that rule's id and owner."""
    if staff is None:
        raise Refused(401, "unauthorized", "alerts.err.login")
    saved = find(s, staff, editing_id) if editing_id else None
    fields = parse_rule(s, data, staff, current=saved, replace=True)
    return sa.AlertRule(id=saved.id if saved else None,
                        organisation_id=saved.organisation_id if saved else staff.organisation_id,
                        owner=saved.owner if saved else staff.email, **fields)
