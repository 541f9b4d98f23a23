"""Sensors and their readings (time series)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, inspect, or_, select, text
from sqlalchemy.orm import Session

from store.db import org_scoped_key, upsert
from store.layers import touch_layer
from store.models import Layer, Reading, Sensor
from store.plausibility import implausible
from store.series import add_to_rollups, add_to_rollups_on_flush


def upsert_sensor(s: Session, sensor_id: str, **fields) -> Sensor:
    return upsert(s, Sensor, sensor_id, **fields)


def shown_id(sensor: Sensor) -> str:
    """The id a sensor is shown and addressed by: the one its organisation posted, else its key."""
    return sensor.ref or sensor.id


def posted_sensor(s: Session, sensor_id: str, organisation_id: int) -> Sensor | None:
    """The sensor a poster of this organisation names `sensor_id`: one the organisation created by
    posting that id, or one of its own layers' sensors keyed so. Never another organisation's,
    public or private: for the poster such an id is simply free, and posting to it creates its own
    sensor (`new_sensor_key`), so nothing tells it that the id exists elsewhere."""
    q = (select(Sensor).join(Layer, Layer.id == Sensor.layer_id)
         .where(Layer.organisation_id == organisation_id,
                or_(Sensor.ref == sensor_id, and_(Sensor.ref == "", Sensor.id == sensor_id)))
         .order_by(Sensor.ref.desc(), Sensor.id).limit(1))
    return s.scalar(q)


def new_sensor_key(s: Session, org_code: str, sensor_id: str) -> str:
    """The store key of a row an organisation creates as `sensor_id` (`store.db.org_scoped_key`)."""
    return org_scoped_key(s, Sensor, org_code, sensor_id)


def find_sensor(s: Session, sensor_id: str, visible, organisation_id: int | None = None) -> Sensor | None:
    """The sensor a reader addresses as `sensor_id` among those `visible` (an SQL condition on
    Layer and Sensor: what the reader may see): its own organisation's first, then the sensor keyed
    so, then one posted under that id; a store key (as kept in older rules and links) also answers."""
    rows = s.execute(select(Sensor, Layer.organisation_id).join(Layer, Layer.id == Sensor.layer_id)
                     .where(visible, or_(Sensor.id == sensor_id, Sensor.ref == sensor_id))
                     .order_by(Sensor.id).limit(50)).all()

    def rank(row) -> tuple:
        sensor, org = row
        shown = shown_id(sensor) == sensor_id
        return (not (shown and organisation_id is not None and org == organisation_id),
                not (shown and sensor.id == sensor_id), not shown)
    return min(rows, key=rank)[0] if rows else None


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


def upgrade_schema(conn) -> None:
    """`sensors.ref` for databases made before it. Sensors created by posting before then were keyed
    `<org>:<id>` only when the id was taken elsewhere: they get their posted id back as `ref`."""
    if "ref" in {c["name"] for c in inspect(conn).get_columns("sensors")}:
        return
    exists = " IF NOT EXISTS" if conn.dialect.name == "postgresql" else ""  # two workers starting at once
    conn.execute(text(f"ALTER TABLE sensors ADD COLUMN{exists} ref VARCHAR(120) NOT NULL DEFAULT ''"))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_sensors_ref ON sensors (ref)"))
    for (code,) in conn.execute(text("SELECT code FROM organisations")).all():
        conn.execute(text("UPDATE sensors SET ref = substr(id, :n) WHERE layer_id = :layer AND id LIKE :prefix"),
                     {"n": len(code) + 2, "layer": f"sensors-{code}", "prefix": f"{code}:%"})


def public_address(s: Session, sensor: Sensor) -> str:
    """How public links (the /sensors page) address this sensor: the id it is shown by, unless a
    public sensor of another organisation is shown by that id too (then its store key, as
    `layers.sensor_history.addresses` gives it). Another organisation's private sensor never
    changes it."""
    shown = shown_id(sensor)
    if sensor.id == shown:
        return shown
    others = s.scalar(select(Sensor.id).join(Layer, Layer.id == Sensor.layer_id).where(
        Layer.visibility == "public", Sensor.id != sensor.id,
        or_(Sensor.ref == shown, and_(Sensor.ref == "", Sensor.id == shown))).limit(1))
    return sensor.id if others is not None else shown
