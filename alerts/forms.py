"""The staff page's form <-> rule JSON, and the rule list as plain rows. No Dash here."""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.engine import OPS
from alerts.mail import OP_TEXT
from i18n import t
from store import alerts as sa
from store.models import Layer, Organisation, Sensor
from store.permissions import visible_sql
from store.sensors import shown_id

FORM_FIELDS = ("name", "target", "sensor_id", "layer_id", "property", "area", "attribute", "op", "threshold",
               "clear_threshold", "for_minutes", "repeat_minutes", "no_data_minutes", "quiet_start", "quiet_end",
               "recipients", "groups", "language", "public", "device_id", "device_condition", "depth_over", "within_m")
EMPTY_FORM = {"name": "", "target": "sensor", "sensor_id": None, "layer_id": None, "property": "", "area": "",
              "device_id": None, "device_condition": "fault", "depth_over": None, "within_m": 5000,
              "attribute": "snowDepth", "op": ">", "threshold": None, "clear_threshold": None, "for_minutes": 0,
              "repeat_minutes": 0, "no_data_minutes": 0, "quiet_start": "", "quiet_end": "", "recipients": "",
              "groups": [], "language": "ja", "public": []}


def form_to_json(values: dict) -> dict:
    v = dict(EMPTY_FORM, **{k: val for k, val in values.items() if k in FORM_FIELDS})
    target = v["target"] or "sensor"
    data = {"name": v["name"] or "", "target": target, "attribute": v["attribute"] or "snowDepth", "op": v["op"],
            "threshold": v["threshold"], "clear_threshold": v["clear_threshold"],
            "for_minutes": v["for_minutes"] or 0, "repeat_minutes": v["repeat_minutes"] or 0,
            "no_data_minutes": v["no_data_minutes"] or 0,
            "recipients": [r for r in re.split(r"[\s,;]+", v["recipients"] or "") if r],
            "groups": list(v["groups"] or []), "language": v["language"] or "ja",
            "public": "public" in (v["public"] or [])}
    if v["quiet_start"] or v["quiet_end"]:
        data["quiet_hours"] = {"start": (v["quiet_start"] or "").strip(), "end": (v["quiet_end"] or "").strip()}
    if target == "sensor":
        data["sensor_id"] = v["sensor_id"]
    elif target in ("layer", "property"):
        data["layer_id"] = v["layer_id"]
        if target == "property":
            data["property"] = v["property"]
    elif target == "area":
        parts = [p for p in re.split(r"[\s,]+", v["area"] or "") if p]
        data["area"] = parts
        if v["layer_id"]:
            data["layer_id"] = v["layer_id"]
    elif target == "device":  # one device, every device the owner may see, or those in the area given
        if v["device_id"]:
            data["device_id"] = v["device_id"]
        else:
            parts = [p for p in re.split(r"[\s,]+", v["area"] or "") if p]
            if parts:
                data["area"] = parts
        data["threshold"] = 1
        condition = v["device_condition"] or "fault"
        data["options"] = {"condition": condition}
        if condition == "stopped_while_snow":
            data["options"].update(depth_over=v["depth_over"], within_m=v["within_m"])
    return data


def rule_to_form(rule: sa.AlertRule) -> dict:
    device = rule.target == "device"
    opts = rule.options or {}
    return {"name": rule.name, "target": rule.target, "sensor_id": None if device else rule.sensor_id,
            "device_id": rule.sensor_id if device else None,
            "device_condition": opts.get("condition") or "fault", "depth_over": opts.get("depth_over"),
            "within_m": opts.get("within_m") or EMPTY_FORM["within_m"], "layer_id": rule.layer_id,
            "property": rule.property or "", "area": ", ".join(f"{x:g}" for x in rule.area) if rule.area else "",
            "attribute": rule.attribute, "op": rule.op, "threshold": rule.threshold,
            "clear_threshold": rule.clear_threshold, "for_minutes": rule.for_minutes,
            "repeat_minutes": rule.repeat_minutes, "no_data_minutes": rule.no_data_minutes,
            "quiet_start": rule.quiet_start, "quiet_end": rule.quiet_end,
            "recipients": "\n".join(rule.recipients or []), "groups": list(rule.groups or []),
            "language": rule.language, "public": ["public"] if rule.public else []}


def sensor_options(s: Session, staff, lang: str) -> list[dict]:
    q = select(Sensor, Layer).join(Layer, Layer.id == Sensor.layer_id).order_by(Sensor.id)
    q = q.where(visible_sql(staff, Layer.organisation_id, Layer.visibility))
    out = []
    for sensor, _layer in s.execute(q).all():
        name = sensor.name_en if lang == "en" and sensor.name_en else sensor.name_ja
        latest = f" — {sensor.last_value:g} {sensor.unit}" if sensor.last_value is not None else ""
        out.append({"label": f"{name} ({shown_id(sensor)}){latest}", "value": sensor.id})
    return out


def device_options(s: Session, staff, lang: str) -> list[dict]:
    """The snow-melting devices this staff member may see (store.melters.visible_devices)."""
    from store.melters import shown_id, visible_devices

    out = []
    for d in visible_devices(s, staff):  # shown by the id its organisation posted; the value is the store key
        name = d.name_en if lang == "en" and d.name_en else d.name_ja
        state = f" — {t(f'melter.state.{d.state}', lang)}" if d.state in ("running", "stopped", "fault") else ""
        out.append({"label": f"{name} ({shown_id(d)}){state}", "value": d.id})
    return out


def layer_options(s: Session, staff, lang: str) -> list[dict]:
    q = select(Layer).order_by(Layer.sort_order, Layer.id)
    q = q.where(visible_sql(staff, Layer.organisation_id, Layer.visibility))
    return [{"label": (x.name_en if lang == "en" and x.name_en else x.name_ja) + f" ({x.id})", "value": x.id}
            for x in s.scalars(q) if x.kind not in ("tiles", "hazard", "outline")]


def condition_text(rule: sa.AlertRule, lang: str) -> str:
    from alerts.notification import attribute_label

    if rule.target == "device":
        opts = rule.options or {}
        if opts.get("condition") == "stopped_while_snow":
            return t("alerts.cond.stopped_text", lang, n=f"{float(opts.get('depth_over') or 0):g}",
                     m=f"{float(opts.get('within_m') or 0):g}")
        return t("alerts.cond.fault", lang)
    what = rule.property if rule.target == "property" else attribute_label(rule.attribute, lang)
    text = f"{what} {OP_TEXT.get(rule.op, rule.op)} {rule.threshold:g}"
    if rule.clear_threshold is not None:
        text += " / " + t("alerts.form.clear_short", lang, v=f"{rule.clear_threshold:g}")
    if rule.for_minutes:
        text += " / " + t("alerts.form.for_short", lang, n=f"{rule.for_minutes:g}")
    if rule.no_data_minutes:
        text += " / " + t("alerts.form.nodata_short", lang, n=f"{rule.no_data_minutes:g}")
    return text


def target_text(s: Session, rule: sa.AlertRule, lang: str) -> str:
    if rule.target == "sensor":
        sensor = s.get(Sensor, rule.sensor_id) if rule.sensor_id else None
        name = (sensor.name_en if lang == "en" and sensor.name_en else sensor.name_ja) if sensor else rule.sensor_id
        return f"{t('alerts.target.sensor', lang)}: {name}"
    if rule.target == "area":
        return f"{t('alerts.target.area', lang)}: {', '.join(f'{x:g}' for x in rule.area or [])}"
    if rule.target == "device":
        from store.melters import MeltingDevice

        device = s.get(MeltingDevice, rule.sensor_id) if rule.sensor_id else None
        where = ((device.name_en if lang == "en" and device.name_en else device.name_ja) if device
                 else ", ".join(f"{x:g}" for x in rule.area) if rule.area else "")
        return t("alerts.target.device", lang) + (f": {where}" if where else "")
    layer = s.get(Layer, rule.layer_id) if rule.layer_id else None
    name = (layer.name_en if lang == "en" and layer.name_en else layer.name_ja) if layer else rule.layer_id
    label = t(f"alerts.target.{rule.target}", lang)
    return f"{label}: {name}" + (f" / {rule.property}" if rule.target == "property" else "")


def rule_rows(s: Session, staff, lang: str) -> list[dict]:
    org_id, all_orgs = staff.organisation_id, staff.is_admin
    rules = sa.rules(s, org_id, all_orgs)
    orgs = {o.id: o for o in s.scalars(select(Organisation))}
    firing = {}
    if rules:
        for row in s.scalars(select(sa.AlertState).where(sa.AlertState.rule_id.in_([r.id for r in rules]))):
            key = "nodata" if row.nodata_since else row.status
            firing.setdefault(row.rule_id, set()).add(key)
    out = []
    for r in rules:
        states = firing.get(r.id, set())
        state = "paused" if r.paused else "firing" if "firing" in states else "nodata" if "nodata" in states \
            else "pending" if "pending" in states else "ok"
        org = orgs.get(r.organisation_id)
        out.append({"id": r.id, "name": r.name, "target": target_text(s, r, lang), "condition": condition_text(r, lang),
                    "state": state, "state_text": t(f"alerts.state.{state}", lang), "paused": r.paused,
                    "recipients": len(r.recipients or []) + len(r.groups or []),
                    "organisation": (org.name_en if lang == "en" else org.name_ja) if org else "",
                    "owner": r.owner})
    return out


def op_options() -> list[dict]:
    return [{"label": OP_TEXT[o], "value": o} for o in OPS]
