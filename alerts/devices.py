"""The conditions of snow-melting device rules (target "device"), shared by the evaluation, the mail
and the rule checks: a device's value under a rule (1 bad, 0 normal) and the facts its mail names."""
from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy.orm import Session

from alerts import engine
from alerts.watch import Sight
from store import alerts as sa
from store.models import Sensor

# A device rule's value per device is 1 (bad) or 0 (normal); the rule fires at >= 1 and clears at 0.
# Its condition (options.condition):
# - "fault" (default): bad while it reports 故障 (fault) — or, unless options.stale is false, while it
#   has stopped reporting;
# - "stopped_while_snow": bad while it reports 停止 (stopped) and the nearest snow-depth sensor the
#   rule may see, within options.within_m metres, reads more than options.depth_over cm; normal once
#   it runs again, the depth falls, or no such sensor is in reach. A silent device keeps its last state
#   here (silence is the fault condition's matter).
# The value is observed when the device (or that sensor) last reported, so one report is one value.
DEVICE_BAD, DEVICE_OK = 1.0, 0.0
FAULT_CONDITION, STOPPED_WHILE_SNOW = "fault", "stopped_while_snow"
DEVICE_CONDITIONS = (FAULT_CONDITION, STOPPED_WHILE_SNOW)
SNOW_WITHIN_M = 5000.0  # default reach of "the nearest snow-depth sensor"
SNOW_WITHIN_MAX_M = 50_000.0
SNOW_ATTRIBUTE = "snowDepth"


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6_371_008.8 * math.asin(math.sqrt(min(a, 1.0)))


def snow_sensors(s: Session, rule: sa.AlertRule, sight: Sight | None = None) -> list[Sensor]:
    """The snow-depth sensors with a value that this rule may see (a public rule: public ones)."""
    q = (sa.watchable_sensors(s, rule, sight.scopes if sight else None)
         .where(Sensor.attribute == SNOW_ATTRIBUTE, Sensor.last_value.isnot(None)).order_by(Sensor.id))
    return list(s.scalars(q))


def nearest_snow_sensor(device, sensors: list[Sensor], within_m: float) -> tuple[Sensor, float] | None:
    best = None
    for x in sensors:
        if x.lon is None or x.lat is None:
            continue
        d = _metres(device.lon, device.lat, x.lon, x.lat)
        if d <= within_m and (best is None or d < best[1]):
            best = (x, d)
    return best


def device_condition(rule) -> str:
    return (getattr(rule, "options", None) or {}).get("condition") or FAULT_CONDITION


def device_value(device, rule: sa.AlertRule, now: datetime,
                 sensors: list[Sensor] | None = None) -> tuple[float, datetime, dict] | None:
    """(value, observed at, facts for the place) of one device under a device rule, or None."""
    from datetime import timedelta

    from store.melters import FAULT, STALE_INTERVALS, STOPPED, is_stale

    if device.reported_at is None:
        return None  # never reported: nothing to say yet
    opts = rule.options or {}
    if device_condition(rule) == STOPPED_WHILE_SNOW:
        depth_over = engine.numeric(opts.get("depth_over", 0)) or 0.0
        within = engine.numeric(opts.get("within_m", SNOW_WITHIN_M)) or SNOW_WITHIN_M
        near = nearest_snow_sensor(device, sensors or [], within)
        facts: dict = {"device_state": device.state or ""}
        observed = device.reported_at
        bad = False
        if near is not None:
            sensor, dist = near
            facts.update(snow_sensor_id=sensor.id, snow_sensor_ja=sensor.name_ja,
                         snow_sensor_en=sensor.name_en or sensor.name_ja, snow_depth=sensor.last_value,
                         snow_unit=sensor.unit or "cm", snow_distance_m=round(dist))
            if sensor.last_observed_at is not None and sensor.last_observed_at > observed:
                observed = sensor.last_observed_at
            bad = device.state == STOPPED and sensor.last_value > depth_over
        return (DEVICE_BAD if bad else DEVICE_OK), observed, facts
    if opts.get("stale", True) and is_stale(device, now):
        return (DEVICE_BAD, device.reported_at + timedelta(seconds=STALE_INTERVALS * max(device.interval_s, 30)),
                {"device_state": "stale"})
    return (DEVICE_BAD if device.state == FAULT else DEVICE_OK), device.reported_at, {"device_state": device.state}


