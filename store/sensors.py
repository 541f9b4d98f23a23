"""Sensors and their readings (time series)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.layers import touch_layer
from store.models import Layer, Reading, Sensor


def upsert_sensor(s: Session, sensor_id: str, **fields) -> Sensor:
    sensor = s.get(Sensor, sensor_id)
    if sensor is None:
        sensor = Sensor(id=sensor_id, **fields)
        s.add(sensor)
    else:
        for key, value in fields.items():
            setattr(sensor, key, value)
    s.flush()
    return sensor


def sensors_of_layer(s: Session, layer_id: str) -> list[Sensor]:
    return list(s.scalars(select(Sensor).where(Sensor.layer_id == layer_id).order_by(Sensor.id)))


def add_reading(s: Session, sensor: Sensor, value: float, observed_at: datetime,
                attribute: str | None = None) -> bool:
    """Store one reading; False (nothing written) when the same one is already stored."""
    attribute = attribute or sensor.attribute
    exists = s.scalar(select(Reading.id).where(Reading.sensor_id == sensor.id,
                                               Reading.attribute == attribute,
                                               Reading.observed_at == observed_at))
    if exists is not None:
        return False
    s.add(Reading(sensor_id=sensor.id, attribute=attribute, value=float(value), observed_at=observed_at))
    if sensor.last_observed_at is None or observed_at >= sensor.last_observed_at:
        sensor.last_value = float(value)
        sensor.last_observed_at = observed_at
        layer = s.get(Layer, sensor.layer_id)
        if layer is not None:
            touch_layer(s, layer)
    return True


def readings(s: Session, sensor_id: str, since: datetime, until: datetime | None = None,
             attribute: str | None = None, limit: int = 20000) -> list[Reading]:
    q = select(Reading).where(Reading.sensor_id == sensor_id, Reading.observed_at >= since)
    if until is not None:
        q = q.where(Reading.observed_at <= until)
    if attribute:
        q = q.where(Reading.attribute == attribute)
    return list(s.scalars(q.order_by(Reading.observed_at).limit(limit)))
