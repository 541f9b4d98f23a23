"""Sensors and their readings (time series)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.layers import touch_layer
from store.models import Layer, Reading, Sensor
from store.plausibility import implausible
from store.series import add_to_rollups, add_to_rollups_on_flush


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


def poster_sensor(s: Session, sensor_id: str, org_code: str, may_see) -> tuple[Sensor | None, str]:
    """(the sensor a poster's id names, or None; the id a new sensor of theirs would be stored as).

    Sensor ids are per organisation for those who post readings: the poster's own `<org>:<id>`
    (made when `<id>` already belonged to an organisation whose sensor the poster may not see)
    comes first, then `<id>` itself when the poster may see it (`may_see(layer)`). Another
    organisation's private sensor is, for this poster, an unknown id: nothing tells it apart."""
    own_id = f"{org_code}:{sensor_id}"[:120]
    own = s.get(Sensor, own_id)
    if own is not None:
        return own, own_id
    sensor = s.get(Sensor, sensor_id)
    if sensor is None:
        return None, sensor_id
    if may_see(s.get(Layer, sensor.layer_id)):
        return sensor, sensor_id
    return None, own_id


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
    if implausible(attribute, value):
        # kept with its flag, through Core: no Reading object, so no alert rule sees it; no rollup,
        # not the sensor's latest value
        s.flush()
        s.execute(Reading.__table__.insert(), [dict(sensor_id=sensor.id, attribute=attribute, value=float(value),
                                                    observed_at=observed_at, implausible=True)])
        return True
    s.add(Reading(sensor_id=sensor.id, attribute=attribute, value=float(value), observed_at=observed_at))
    add_to_rollups_on_flush(s, [(sensor.id, attribute, value, observed_at)])
    if sensor.last_observed_at is None or observed_at >= sensor.last_observed_at:
        sensor.last_value = float(value)
        sensor.last_observed_at = observed_at
        layer = s.get(Layer, sensor.layer_id)
        if layer is not None:
            touch_layer(s, layer)
    return True


def readings(s: Session, sensor_id: str, since: datetime, until: datetime | None = None,
             attribute: str | None = None, limit: int = 20000) -> list[Reading]:
    """The plausible readings (store/plausibility.py) of a sensor in a time range, oldest first."""
    q = select(Reading).where(Reading.sensor_id == sensor_id, Reading.observed_at >= since,
                              Reading.implausible.is_(False))
    if until is not None:
        q = q.where(Reading.observed_at <= until)
    if attribute:
        q = q.where(Reading.attribute == attribute)
    return list(s.scalars(q.order_by(Reading.observed_at).limit(limit)))


# session.info key: (sensor_id, attribute, value, observed_at) of readings written in bulk
NEW_READINGS = "store.new_readings"


def add_readings(s: Session, batch: list[tuple[Sensor, float, datetime, str]]) -> int:
    """The batch form of `add_reading` (a broker poll brings thousands at once): same rules —
    an already stored (sensor, attribute, time) is skipped, the newest value goes on the sensor,
    the layer's version moves once, an implausible value is kept with its flag and nothing else —
    with one query per 500 sensors instead of one per reading."""
    if not batch:
        return 0
    ids = sorted({sensor.id for sensor, _v, _t, _a in batch})
    existing: set[tuple[str, str, datetime]] = set()
    times = {t for _s, _v, t, _a in batch}
    lo, hi = min(times), max(times)
    for i in range(0, len(ids), 500):
        q = select(Reading.sensor_id, Reading.attribute, Reading.observed_at).where(
            Reading.sensor_id.in_(ids[i:i + 500]), Reading.observed_at >= lo, Reading.observed_at <= hi)
        with s.no_autoflush:
            existing.update((sid, a, t) for sid, a, t in s.execute(q))
    rows, touched = [], set()
    for sensor, value, observed_at, attribute in batch:
        key = (sensor.id, attribute, observed_at)
        if key in existing:
            continue
        existing.add(key)
        flagged = implausible(attribute, value)
        rows.append(dict(sensor_id=sensor.id, attribute=attribute, value=float(value), observed_at=observed_at,
                         implausible=flagged))
        if flagged:
            continue
        if sensor.last_observed_at is None or observed_at >= sensor.last_observed_at:
            sensor.last_value = float(value)
            sensor.last_observed_at = observed_at
            touched.add(sensor.layer_id)
    if rows:
        s.flush()  # new sensors first (foreign keys)
        s.execute(Reading.__table__.insert(), rows)
        good = [(r["sensor_id"], r["attribute"], r["value"], r["observed_at"]) for r in rows if not r["implausible"]]
        add_to_rollups(s, good)
        # a Core insert makes no Reading objects: list the new readings where commit-time
        # listeners (the alert rules) find them, as they find the objects add_reading adds
        s.info.setdefault(NEW_READINGS, []).extend(good)
    for layer_id in touched:
        layer = s.get(Layer, layer_id)
        if layer is not None:
            touch_layer(s, layer)
    return len(rows)
