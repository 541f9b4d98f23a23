"""What a rule watches and may see: the sensors a sensor / layer / area rule selects, and `Sight`,
which asks store.alerts.rule_scope for every way a rule selects its subjects (one sensor, a layer,
an area, stored places), so a rule never sees what its owner may not."""
from __future__ import annotations

from sqlalchemy.orm import Session

from alerts import engine
from store import alerts as sa
from store.models import Layer, Sensor


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
        if place.get("device_id"):  # a snow-melting device: its own visibility
            from store.melters import MeltingDevice

            return scope_sees_device(self.scope(rule), self.s.get(MeltingDevice, place["device_id"]))
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


def watched_sensors(s: Session, rule: sa.AlertRule, cache: dict, sight: Sight) -> list[Sensor]:
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


# --- snow-melting devices ------------------------------------------------------------------------
# A device rule (target "device") watches one device (sensor_id holds its id), those inside an area,
# or all of them; it sees a device only when the rule's owner may (a public rule: public devices).

def scope_sees_device(scope: tuple, device) -> bool:
    if device is None:
        return False
    if device.visibility == "public" or scope == sa.EVERYTHING:
        return True
    return scope[0] == "org" and device.organisation_id == scope[1]


def scope_device_sql(scope: tuple):
    """`scope_sees_device` as an SQL condition on MeltingDevice."""
    from sqlalchemy import false, or_, true

    from store.melters import PUBLIC, MeltingDevice

    if scope == sa.EVERYTHING:
        return true()
    if scope[0] == "org":
        return or_(MeltingDevice.visibility == PUBLIC, MeltingDevice.organisation_id == scope[1])
    return MeltingDevice.visibility == PUBLIC if scope == sa.PUBLIC_ONLY else false()


def watched_devices(s: Session, rule: sa.AlertRule, sight: Sight) -> list:
    from sqlalchemy import select

    from store.melters import MeltingDevice

    scope = sight.scope(rule)
    if rule.sensor_id:  # the device's store key
        device = s.get(MeltingDevice, rule.sensor_id)
        return [device] if scope_sees_device(scope, device) else []
    q = select(MeltingDevice).where(scope_device_sql(scope))
    devices = list(s.scalars(q.order_by(MeltingDevice.id)))
    if rule.area:
        devices = [d for d in devices if engine.in_area(rule.area, d.lon, d.lat)]
    return devices


def device_place(device) -> dict:
    return {"name_ja": device.name_ja, "name_en": device.name_en or device.name_ja, "lon": device.lon,
            "lat": device.lat, "unit": "", "device_id": device.id}
