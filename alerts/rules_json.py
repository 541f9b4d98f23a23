"""A rule as JSON (the API and the staff page share it) and its validation. Plain functions.

{"name", "sensor_id" | "layer_id" [+ "property"] | "area", "attribute": "snowDepth", "op": ">",
 "threshold": 20, "clear_threshold": 15, "for_minutes": 0, "repeat_minutes": 0,
 "no_data_minutes": 0, "quiet_hours": {"start": "22:00", "end": "06:00"},
 "recipients": ["a@example.jp"], "groups": [group ids], "language": "ja", "public": false,
 "paused": false}

A snow-melting device rule: {"target": "device", "device_id"?: one device, "area"?: [w, s, e, n],
"options": {"stale": true}} — neither: every device its owner may see. It fires when a device
reports 故障 (fault) or, unless "stale" is false, stops reporting; it clears when the device is back.
With "options": {"condition": "stopped_while_snow", "depth_over": N, "within_m": D} it fires instead
while a device reports 停止 (stopped) and the nearest snow-depth sensor the owner may see (a public
rule: public sensors), within D metres (default 5,000, at most 50,000), reads more than N cm; it
clears when the device runs again or the depth falls to N or below.
"""
from __future__ import annotations

import re
from types import SimpleNamespace

from sqlalchemy import true
from sqlalchemy.orm import Session, object_session

from alerts.engine import normalize_op
from refusal import Refused
from registry import ALERT_TARGETS
from store import alerts as sa
from store.models import Layer, Organisation, Sensor
from store.sensors import find_sensor, shown_id

EMAIL = re.compile(r"[^@\s<>\"',;]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
MAX_MINUTES = 366 * 24 * 60  # for / repeat / no data: at most a year
TEXT_OPTIONS = ("route", "area", "unit")  # road: route / area of the network; property: unit


class RuleError(Refused, ValueError):
    """400 invalid_rule; details: [{"field": name, "message_key": i18n key}]"""

    def __init__(self, details: list[dict]):
        super().__init__(400, "invalid_rule", "alerts.err.invalid", details)


def _shown_sensor_id(rule: sa.AlertRule) -> str | None:
    """A sensor rule's sensor by the id its organisation posted (store.sensors.shown_id); a device
    rule's device likewise."""
    if rule.target == "device":
        return _shown_device_id(rule)
    session = object_session(rule)
    sensor = session.get(Sensor, rule.sensor_id) if rule.target == "sensor" and rule.sensor_id and session else None
    return shown_id(sensor) if sensor is not None else rule.sensor_id


def _shown_device_id(rule: sa.AlertRule) -> str | None:
    """A device rule's device by the id its organisation posted (store.melters.shown_id)."""
    from store.melters import MeltingDevice, shown_id as shown_device_id

    session = object_session(rule)
    device = session.get(MeltingDevice, rule.sensor_id) if rule.sensor_id and session else None
    return shown_device_id(device) if device is not None else rule.sensor_id


def rule_to_json(rule: sa.AlertRule, org: Organisation | None = None) -> dict:
    return {
        "id": rule.id, "name": rule.name, "organisation": org.code if org else None, "owner": rule.owner,
        "language": rule.language, "target": rule.target, "sensor_id": _shown_sensor_id(rule),
        "layer_id": rule.layer_id, "area": rule.area, "property": rule.property, "attribute": rule.attribute,
        "op": rule.op,
        "threshold": rule.threshold, "clear_threshold": rule.clear_threshold, "for_minutes": rule.for_minutes,
        "repeat_minutes": rule.repeat_minutes, "no_data_minutes": rule.no_data_minutes,
        "quiet_hours": ({"start": rule.quiet_start, "end": rule.quiet_end} if rule.quiet_start and rule.quiet_end
                        else None),
        "recipients": list(rule.recipients or []), "groups": list(rule.groups or []),
        "options": dict(rule.options or {}), "public": bool(rule.public), "paused": bool(rule.paused),
        "created_at": rule.created_at.isoformat() if rule.created_at else None,
        "updated_at": rule.updated_at.isoformat() if rule.updated_at else None,
        **({"device_id": _shown_device_id(rule)} if rule.target == "device" else {}),
    }


def _num(data, key, errors, required=False, minimum=None, maximum=None):
    if key not in data or data[key] in (None, ""):
        if required:
            errors.append({"field": key, "message_key": "alerts.err.required"})
        return None
    value = data[key]
    if isinstance(value, bool):
        errors.append({"field": key, "message_key": "alerts.err.number"})
        return None
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        errors.append({"field": key, "message_key": "alerts.err.number"})
        return None
    if value != value or value in (float("inf"), float("-inf")) or (minimum is not None and value < minimum) \
            or (maximum is not None and value > maximum):
        errors.append({"field": key, "message_key": "alerts.err.number"})
        return None
    return value


def _watch_error(s: Session, owner: SimpleNamespace, layer: Layer | None, field: str, unknown_key: str) -> dict | None:
    """Why the rule's owner may not watch this layer (or a sensor on it), or None. A layer the
    owner may not see answers exactly like an unknown one; a public rule over the owner's own
    private data is told so."""
    if sa.scope_sees(sa.rule_scope(s, owner), layer):
        return None
    if owner.public and sa.scope_sees(sa.rule_scope(s, SimpleNamespace(**{**vars(owner), "public": False})), layer):
        return {"field": field, "message_key": "alerts.err.public_private"}
    return {"field": field, "message_key": unknown_key}


def _device_options(options: dict, errors: list[dict]) -> None:
    """A device rule's condition (alerts.devices): fault (default) or stopped_while_snow."""
    from alerts.devices import DEVICE_CONDITIONS, SNOW_WITHIN_M, SNOW_WITHIN_MAX_M, STOPPED_WHILE_SNOW

    condition = options.get("condition") or DEVICE_CONDITIONS[0]
    if condition not in DEVICE_CONDITIONS:
        errors.append({"field": "options.condition", "message_key": "alerts.err.condition"})
        return
    options["condition"] = condition
    if condition != STOPPED_WHILE_SNOW:
        options.pop("within_m", None)
        return
    if options.get("depth_over") in (None, ""):
        errors.append({"field": "options.depth_over", "message_key": "alerts.err.required"})
    problems: list[dict] = []
    within = _num(options, "within_m", problems, minimum=1, maximum=SNOW_WITHIN_MAX_M)
    if problems:
        errors.append({"field": "options.within_m", "message_key": "alerts.err.within"})
    options["within_m"] = within or SNOW_WITHIN_M


def parse_rule(s: Session, data: dict, staff, current: sa.AlertRule | None = None, replace: bool = False) -> dict:
    """Validated fields for store.alerts.create_rule/update_rule. `current` given: a partial update
    (PATCH) — missing keys keep their values —, or with `replace` the whole rule anew (the staff
    page's form); either way the rule keeps its owner. Raises RuleError."""
    if not isinstance(data, dict):
        raise RuleError([{"field": "", "message_key": "alerts.err.object"}])
    merged = dict(rule_to_json(current)) if current is not None and not replace else {}
    new_target = any(k in data for k in ("sensor_id", "layer_id", "area", "property", "target", "device_id"))
    if current is not None and new_target:
        for k in ("sensor_id", "layer_id", "area", "property", "target", "device_id"):
            merged.pop(k, None)  # a new target replaces the old one as a whole
    merged.update(data)
    d = merged
    errors: list[dict] = []
    out: dict = {}
    name = d.get("name").strip() if isinstance(d.get("name"), str) else ""  # text only, as declared
    if not name or len(name) > 200:
        errors.append({"field": "name", "message_key": "alerts.err.name"})
    out["name"] = name
    target = d.get("target")
    if target is not None and not isinstance(target, str):
        target = "?"  # a crafted list or number: no target (refused below)
    target = target or ("device" if d.get("device_id") else
                                 "sensor" if d.get("sensor_id") else "property" if d.get("property")
                                 else "layer" if d.get("layer_id") else "area" if d.get("area") else "")
    if target not in ALERT_TARGETS:  # the targets registered by plugins.register_all() (alerts/targets.py)
        errors.append({"field": "sensor_id", "message_key": "alerts.err.target"})
    out["target"] = target
    out["sensor_id"] = out["layer_id"] = out["property"] = out["area"] = None
    # the rule sees what its owner may see (store.alerts.rule_scope): the owner of a rule being
    # changed stays its owner, whoever changes it
    owner = SimpleNamespace(public=bool(d.get("public", False)),
                            organisation_id=current.organisation_id if current is not None else staff.organisation_id,
                            owner=current.owner if current is not None else staff.email)
    if target == "sensor":  # by the id its owner's organisation knows it by (store.sensors.find_sensor)
        sensor = find_sensor(s, str(d.get("sensor_id") or "")[:120], true(), owner.organisation_id)
        err = _watch_error(s, owner, s.get(Layer, sensor.layer_id) if sensor is not None else None,
                           "sensor_id", "alerts.err.sensor")
        if err:
            errors.append(err)
        out["sensor_id"] = sensor.id if sensor is not None else str(d.get("sensor_id") or "")
    elif target in ("layer", "property", "road") or (target == "area" and d.get("layer_id")):
        layer = s.get(Layer, str(d.get("layer_id") or "")[:80])
        err = _watch_error(s, owner, layer, "layer_id", "alerts.err.layer")
        if err:
            errors.append(err)
        out["layer_id"] = str(d.get("layer_id") or "")
    elif target == "device":
        # by the id its owner's organisation knows it by (store.melters.find_device), among the
        # devices the rule may see; a change that names no target keeps the rule's device
        from alerts.watch import scope_device_sql, scope_sees_device
        from store.melters import MeltingDevice, find_device

        keep = current is not None and not replace and not new_target and current.target == "device"
        device_id = (current.sensor_id or "") if keep else str(d.get("device_id") or d.get("sensor_id") or "")[:120]
        if device_id:
            scope = sa.rule_scope(s, owner)
            device = (s.get(MeltingDevice, device_id) if keep
                      else find_device(s, device_id, scope_device_sql(scope), owner.organisation_id))
            if not scope_sees_device(scope, device):
                private = sa.rule_scope(s, SimpleNamespace(**{**vars(owner), "public": False}))
                private_ok = owner.public and (
                    scope_sees_device(private, device) if keep
                    else find_device(s, device_id, scope_device_sql(private), owner.organisation_id) is not None)
                errors.append({"field": "device_id",
                               "message_key": "alerts.err.public_private" if private_ok else "alerts.err.device"})
            elif device is not None:
                device_id = device.id  # the store key
        out["sensor_id"] = device_id or None
    if target == "property":
        prop = str(d.get("property") or "").strip()
        if not prop:
            errors.append({"field": "property", "message_key": "alerts.err.required"})
        out["property"] = prop
    if target == "area" or (target == "device" and d.get("area")):
        area = d.get("area")
        try:
            area = [float(v) for v in area]
            ok = len(area) == 4 and -180 <= area[0] <= area[2] <= 180 and -90 <= area[1] <= area[3] <= 90
        except (TypeError, ValueError):
            ok = False
        if not ok:
            errors.append({"field": "area", "message_key": "alerts.err.area"})
        out["area"] = area if ok else None
    out["attribute"] = str(d.get("attribute") or "snowDepth")[:60]
    if target == "device":  # fault or no reports: 1, back to normal: 0 (alerts.devices.device_value)
        d = {**d, "op": ">=", "threshold": 1, "clear_threshold": None}
        out["attribute"] = "deviceState"
    try:
        out["op"] = normalize_op(d.get("op") or ">")
    except ValueError:
        errors.append({"field": "op", "message_key": "alerts.err.op"})
    out["threshold"] = _num(d, "threshold", errors, required=True)
    out["clear_threshold"] = _num(d, "clear_threshold", errors)
    if out["clear_threshold"] is not None and out["threshold"] is not None and "op" in out:
        hi = out["op"] in (">", ">=")
        if (hi and out["clear_threshold"] > out["threshold"]) or (not hi and out["clear_threshold"] < out["threshold"]):
            errors.append({"field": "clear_threshold", "message_key": "alerts.err.clear_side"})
    for key in ("for_minutes", "repeat_minutes", "no_data_minutes"):
        out[key] = _num(d, key, errors, minimum=0, maximum=MAX_MINUTES) or 0
    quiet = d.get("quiet_hours") or {}
    start, end = (str(quiet.get("start") or ""), str(quiet.get("end") or "")) if isinstance(quiet, dict) else ("", "")
    if (start or end) and not (HHMM.fullmatch(start) and HHMM.fullmatch(end)):
        errors.append({"field": "quiet_hours", "message_key": "alerts.err.quiet"})
    out["quiet_start"], out["quiet_end"] = start, end
    recipients = d.get("recipients") or []
    if isinstance(recipients, str):
        recipients = [r for r in re.split(r"[\s,;]+", recipients) if r]
    if not isinstance(recipients, list):
        errors.append({"field": "recipients", "message_key": "alerts.err.recipients"})
        recipients = []
    bad = [r if isinstance(r, str) else str(r)[:100] for r in recipients
           if not isinstance(r, str) or len(r) > 254 or not EMAIL.fullmatch(r.strip())]
    if bad or len(recipients) > 100:
        errors.append({"field": "recipients", "message_key": "alerts.err.recipients", "values": bad[:5]})
    out["recipients"] = [r.strip() for r in recipients if isinstance(r, str)]
    groups = d.get("groups") or []
    owner_org = current.organisation_id if current is not None else staff.organisation_id
    valid_groups = {g.id for g in sa.groups_of(s, owner_org)}
    try:
        groups = [int(g) for g in groups]
    except (TypeError, ValueError):
        groups = [-1]
    if any(g not in valid_groups for g in groups):
        errors.append({"field": "groups", "message_key": "alerts.err.groups"})
    out["groups"] = groups
    lang = str(d.get("language") or "ja")
    if lang not in ("ja", "en"):
        errors.append({"field": "language", "message_key": "alerts.err.language"})
    out["language"] = lang
    out["public"] = bool(d.get("public", False))
    out["paused"] = bool(d.get("paused", False))
    options = d.get("options") or {}
    options = dict(options) if isinstance(options, dict) else {}
    if target == "device":
        _device_options(options, errors)
    if "depth_over" in options:  # road rules: the snow depth (cm) from which uncleared hours count
        problems: list[dict] = []
        depth = _num(options, "depth_over", problems, minimum=0)
        if problems:
            errors.append({"field": "options.depth_over", "message_key": "alerts.err.number"})
        options["depth_over"] = depth or 0
    if "stale" in options and not isinstance(options["stale"], bool):
        errors.append({"field": "options.stale", "message_key": "alerts.err.options"})
    for key in TEXT_OPTIONS:
        if key in options and not (isinstance(options[key], str) and len(options[key]) <= 200):
            errors.append({"field": f"options.{key}", "message_key": "alerts.err.options"})
    if target == "device" and options.get("condition") == "stopped_while_snow":
        out["attribute"] = "deviceStoppedSnow"
    out["options"] = options
    if errors:
        raise RuleError(errors)
    return out
