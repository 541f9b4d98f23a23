"""The targets of alert rules (`AlertRule.target`) as providers, registered in `registry.ALERT_TARGETS`
by `plugins.register_all()`: each says which subjects a rule may watch (only what its owner may see),
how the rule is evaluated against the data as it is now, and what its mails say. alerts/evaluation.py
and alerts/notification.py (mails, previews, test mails) look the rule's target up there, so a new
target is one class and one registration.

    "sensor", "layer", "area"  thresholds on sensor readings (one sensor, a layer's, those in an area);
                               readings are evaluated as they come (alerts.evaluation.process_readings)
    "property"                 a threshold on a property of an uploaded layer's features, evaluated when
                               the layer changes (alerts.evaluation.process_layers)
    "road"                     hours since a plow cleared each segment (`registry.ROAD_PROVIDERS`)
    "device"                   snow-melting devices (alerts/devices.py)
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy.orm import Session

from alerts import engine
from alerts.config import AlertConfig
from alerts.devices import STOPPED_WHILE_SNOW, device_condition, device_value, snow_sensors
from alerts.evaluation import apply_rule, evaluate_devices, evaluate_road
from alerts.mail import MailFacts
from alerts.notification import attribute_label, device_facts
from alerts.watch import Sight, device_place, sensor_place, watched_devices, watched_sensors
from i18n import t
from registry import ROAD_PROVIDERS
from store import alerts as sa


class AlertTarget:
    """One target of alert rules. `name` is the stored `AlertRule.target`.

    timed            the worker's tick evaluates every (unpaused) rule of this target (`tick`), not only
                     the rules with something timed (no data, for N minutes, repeats, quiet hours)
    silence_matters  a rule with "no data for N minutes" also watches the candidates that never reported
    """

    name: str = ""
    timed: bool = False
    silence_matters: bool = False

    def candidates(self, s: Session, rule: sa.AlertRule, sight: Sight, now: datetime,
                   cache: dict | None = None) -> Iterator[tuple[str, dict]]:
        """(subject, place) of what the rule watches now — only what its owner may see."""
        return iter(())

    def sample(self, s: Session, rule: sa.AlertRule, sight: Sight, now: datetime) -> dict | None:
        """A place for previews and test mails (None: a state's place or the rule's name)."""
        return next((place for _subject, place in self.candidates(s, rule, sight, now, {})), None)

    def measure(self, rule: sa.AlertRule, lang: str) -> str:
        """What the rule's value is, as its mails name it (the watched attribute)."""
        return attribute_label(rule.attribute, lang)

    def mail_facts(self, s: Session, facts: MailFacts, rule: sa.AlertRule, place: dict, lang: str) -> None:
        """Add what this target's mails say beyond the value (`facts`: alerts.mail.MailFacts)."""

    def evaluate_now(self, s: Session, config: AlertConfig, rule: sa.AlertRule, now: datetime) -> list:
        """Right after the rule is saved: its subjects' latest data (events)."""
        return []

    def tick(self, s: Session, config: AlertConfig, rule: sa.AlertRule, now: datetime, states: dict) -> list:
        """At every tick when `timed` (events); `states` holds the locked (rule id, subject) rows."""
        return []


class SensorTarget(AlertTarget):
    """Thresholds on sensor readings: the rule's sensor, a layer's, or those in an area."""

    silence_matters = True

    def __init__(self, name: str):
        self.name = name

    def candidates(self, s, rule, sight, now, cache=None):
        for sensor in watched_sensors(s, rule, {} if cache is None else cache, sight):
            yield sensor.id, sensor_place(sensor)

    def evaluate_now(self, s, config, rule, now):
        sensors = [x for x in watched_sensors(s, rule, {}, Sight(s)) if x.last_value is not None and x.last_observed_at]
        states = sa.states_of(s, {(rule.id, x.id) for x in sensors}, now)
        events = []
        for x in sensors:
            events += apply_rule(s, config, rule, x.id, sensor_place(x), states, now,
                                 lambda c, st, x=x: engine.on_value(c, st, x.last_value, x.last_observed_at, now,
                                                                    config.late_after))
        return events


class PropertyTarget(AlertTarget):
    """A threshold on a property of an uploaded layer's features: evaluated when the layer changes."""

    name = "property"

    def measure(self, rule, lang):
        return rule.property


class RoadTarget(AlertTarget):
    """Road segments, from every provider in `registry.ROAD_PROVIDERS` (options.depth_over: cm)."""

    name = "road"
    timed = True

    def measure(self, rule, lang):
        return t("alerts.attr.road_hours", lang)

    def candidates(self, s, rule, sight, now, cache=None):
        for provider in ROAD_PROVIDERS.values():
            for seg in provider(s, rule, now):
                yield seg["subject"], seg

    def sample(self, s, rule, sight, now):
        return None  # every segment of the network is a whole-network computation: a state's place

    def tick(self, s, config, rule, now, states):
        events = []
        for provider in ROAD_PROVIDERS.values():
            events += evaluate_road(s, config, rule, provider(s, rule, now), now)
        return events


class DeviceTarget(AlertTarget):
    """Snow-melting devices: one, those in an area, or all the owner may see (alerts/devices.py)."""

    name = "device"
    timed = True

    def mail_facts(self, s, facts, rule, place, lang):
        device_facts(s, facts, rule, place, lang)  # its state in words, the condition, the snow sensor

    def candidates(self, s, rule, sight, now, cache=None):
        devices = watched_devices(s, rule, sight)
        snow = snow_sensors(s, rule, sight) if devices and device_condition(rule) == STOPPED_WHILE_SNOW else None
        for device in devices:  # as it is now, with the nearest snow sensor when the condition asks
            v = device_value(device, rule, now, snow)
            yield device.id, {**device_place(device), **(v[2] if v else {})}

    def evaluate_now(self, s, config, rule, now):
        return evaluate_devices(s, config, rule, now)

    def tick(self, s, config, rule, now, states):
        return evaluate_devices(s, config, rule, now, states)


def shipped_targets() -> list[AlertTarget]:
    """The targets the app ships with (`plugins.register_all()` registers them)."""
    return [SensorTarget("sensor"), SensorTarget("layer"), SensorTarget("area"), PropertyTarget(), RoadTarget(),
            DeviceTarget()]
