"""What the dashboard editor's panel form offers, seen with the staff member's eyes: sensors (named
with their layer), their attributes, broker entity types, layers, the properties of a layer's items,
municipalities and alert rules. Plain functions over the store (no Flask, no Dash); every selection
of sensors and layers filters with `store.layers.visible_clause(staff)`, so a private thing of
another organisation is never offered."""
from __future__ import annotations

from sqlalchemy import select

from dashboards import areas
from dashboards.queries.base import layer_name, sensor_name
from store.brokers import SensorOrigin
from store.layers import visible_clause
from store.models import PUBLIC, Feature, Layer, Reading, Sensor
from store.sensors import shown_id

MAX_SENSORS = 3000
PROPERTY_SAMPLE = 50  # items whose property names are offered
VECTOR_KINDS_EXCLUDED = ("hazard_tiles", "tiles")


def sensors(s, staff, lang: str) -> list[dict]:
    """[{"value": id, "label": "name — layer"}] of every sensor the staff member may see."""
    rows = s.execute(select(Sensor, Layer).join(Layer, Layer.id == Sensor.layer_id).where(visible_clause(staff))
                     .order_by(Layer.sort_order, Layer.id, Sensor.name_ja, Sensor.id).limit(MAX_SENSORS)).all()
    out = []
    for sensor, layer in rows:
        private = "" if layer.visibility == PUBLIC else " 🔒"
        out.append({"value": sensor.id, "label": f"{sensor_name(sensor, lang)} — {layer_name(layer, lang)}{private}",
                    "search": f"{shown_id(sensor)} {sensor.name_ja} {sensor.name_en} {layer.name_ja} {layer.name_en}"})
    return out


def visible_sensor_ids(s, staff, ids: list[str]) -> list[str]:
    if not ids:
        return []
    found = set(s.scalars(select(Sensor.id).join(Layer, Layer.id == Sensor.layer_id)
                          .where(Sensor.id.in_(ids), visible_clause(staff))))
    return [x for x in ids if x in found]


def attributes(s, staff, sensor_ids: list[str]) -> list[str]:
    """The attributes measured by these sensors (all visible sensors' own attributes without)."""
    ids = visible_sensor_ids(s, staff, [x for x in sensor_ids or [] if isinstance(x, str)][:50])
    names = set()
    if ids:
        names |= set(s.scalars(select(Sensor.attribute).where(Sensor.id.in_(ids))))
        for sid in ids[:10]:  # one index range each (sensor, time): cheap even over a year of readings
            names |= set(s.scalars(select(Reading.attribute).where(Reading.sensor_id == sid)
                                   .order_by(Reading.observed_at.desc()).limit(200)))
    else:
        names |= set(s.scalars(select(Sensor.attribute).join(Layer, Layer.id == Sensor.layer_id)
                               .where(visible_clause(staff)).distinct()))
    return sorted(x for x in names if x)


def entity_types(s, staff) -> list[str]:
    q = (select(SensorOrigin.entity_type).join(Sensor, Sensor.id == SensorOrigin.sensor_id)
         .join(Layer, Layer.id == Sensor.layer_id).where(visible_clause(staff)).distinct())
    return sorted(x for x in s.scalars(q) if x)


def layers(s, staff, lang: str, with_items: bool = False, with_sensors: bool = False) -> list[dict]:
    """Visible layers: all of them for maps, those with items for statistics and tables, those with
    sensors for sensor selections."""
    q = select(Layer).where(visible_clause(staff))
    if with_items:
        q = q.where(Layer.kind.notin_(VECTOR_KINDS_EXCLUDED), Layer.feature_count > 0)
    if with_sensors:
        q = q.where(Layer.id.in_(select(Sensor.layer_id).distinct()))
    out = []
    for layer in s.scalars(q.order_by(Layer.sort_order, Layer.id)):
        private = "" if layer.visibility == PUBLIC else " 🔒"
        out.append({"value": layer.id, "label": f"{layer_name(layer, lang)}{private}"})
    return out


def properties(s, staff, layer_id: str) -> list[str]:
    """The property names of a visible layer's first items (nothing for a layer one may not see)."""
    if not isinstance(layer_id, str) or not layer_id or layer_id.startswith("$"):
        return []
    layer = s.scalar(select(Layer).where(Layer.id == layer_id, visible_clause(staff)))
    if layer is None:
        return []
    names: dict[str, None] = {}
    for props in s.scalars(select(Feature.properties).where(Feature.layer_id == layer.id)
                           .order_by(Feature.layer_id, Feature.id).limit(PROPERTY_SAMPLE)):
        for key in props or {}:
            names.setdefault(str(key), None)
    return list(names)[:200]


def area_names() -> list[str]:
    return areas.area_names()


def rules(s, staff) -> list[dict]:
    """Alert rules whose events the staff member may chart: public ones, their organisation's (admins: all)."""
    from store.alerts import AlertRule
    from store.permissions import visible_sql

    q = select(AlertRule).where(visible_sql(staff, AlertRule.organisation_id, AlertRule.public.is_(True)))
    return [{"value": r.id, "label": r.name} for r in s.scalars(q.order_by(AlertRule.name, AlertRule.id))]
