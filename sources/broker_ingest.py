"""Writing what a broker (or CKAN) gave us, through the same store functions the demo feed and
uploads use: `store.sensors.upsert_sensor` + `add_reading` for readings, features for points.

Everything for one poll or one notification is written in the caller's transaction, so a failure
leaves the previous data as it was (nothing half-written).
"""
from __future__ import annotations

import logging
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from i18n import t
from sources.ngsi import Entity, NgsiError, geometry_of, parse_entity
from sources.smart_models import (
    RESTRICTION_TYPES,
    CameraItem,
    FixItem,
    PointItem,
    ReadingItem,
    RestrictionItem,
    StateItem,
    map_entity,
    plausible_point,
)
from store.brokers import SensorOrigin, Source, upsert_feature
from store.features import replace_features
from store.layers import upsert_layer
from store.models import Layer
from store.sensors import add_readings

log = logging.getLogger(__name__)

# role -> (layer kind, menu group, name key)
ROLES = {
    "snow": ("snow_depth", "yuki", "source.role.snow"),
    "water": ("sensor_points", "bousai", "source.role.water"),
    "sensor": ("sensor_points", "kihon", "source.role.sensor"),
    "points": ("ngsi_points", "kihon", "source.role.points"),
    "vehicles": ("ngsi_points", "yuki", "source.role.vehicles"),
}

_SLUG = re.compile(r"[^A-Za-z0-9_.:-]+")


def sensor_id_for(source: Source, entity_id: str, attribute: str) -> str:
    base = f"{source.layer_prefix or f'src{source.id}'}-{_SLUG.sub('_', entity_id)}"
    if attribute not in ("snowDepth", "waterLevel"):
        base += f"-{attribute}"
    return base[:120]


def role_layer(s: Session, source: Source, role: str) -> Layer:
    """The layer a source writes `role` data to (created on first use, public unless the source says)."""
    layer_id = "snow-depth" if (source.from_env and role == "snow") else source.layer_id(role)
    layer = s.get(Layer, layer_id)
    kind, group, name_key = ROLES[role]
    if layer is None:
        label = source.name or source.entity_type or "FIWARE"
        layer = upsert_layer(
            s, layer_id, kind=kind, group=group,
            name_ja=f"{t(name_key, 'ja')}（{label}）", name_en=f"{t(name_key, 'en')} ({label})",
            organisation_id=source.organisation_id, visibility=source.visibility,
            description_ja=t("source.layer_description", "ja", url=source.base_url),
            description_en=t("source.layer_description", "en", url=source.base_url),
            license=t("source.license_broker", "ja"),
            attribution_ja=t("source.attribution", "ja", name=label),
            attribution_en=t("source.attribution", "en", name=label),
            options={"feed": source.feed_name, "source_id": source.id, "role": role},
            default_visible=role in ("snow", "vehicles"), sort_order=60)
    elif layer.options.get("feed") != source.feed_name:
        # the built-in snow layer taken over by the environment's broker: no longer demo data
        options = dict(layer.options)
        options.update(feed=source.feed_name, source_id=source.id, role=role, demo=False)
        layer.options = options
        layer.attribution_ja = t("source.attribution", "ja", name="FIWARE Orion")
        layer.attribution_en = t("source.attribution", "en", name="FIWARE Orion")
        layer.license = t("source.license_broker", "ja")
    return layer


def store_readings(s: Session, source: Source, items: list[ReadingItem], now: datetime) -> int:
    """Sensors (created or moved) and their readings, through the store's `add_readings`."""
    from sqlalchemy import func, select

    from store.models import Sensor

    layers: dict[str, Layer] = {}
    wanted = {sensor_id_for(source, it.entity_id, it.attribute): it for it in items}
    ids = sorted(wanted)
    sensors: dict[str, Sensor] = {}
    origins: set[str] = set()
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        sensors.update((x.id, x) for x in s.scalars(select(Sensor).where(Sensor.id.in_(chunk))))
        origins.update(s.scalars(select(SensorOrigin.sensor_id).where(SensorOrigin.sensor_id.in_(chunk))))
    batch, new_origins = [], []
    for it in items:
        layer = layers.get(it.role) or layers.setdefault(it.role, role_layer(s, source, it.role))
        sid = sensor_id_for(source, it.entity_id, it.attribute)
        fields = dict(layer_id=layer.id, name_ja=it.name, name_en=it.name, lon=round(it.lon, 6),
                      lat=round(it.lat, 6), attribute=it.attribute, unit=it.unit, address=it.address)
        sensor = sensors.get(sid)
        if sensor is None:
            sensor = sensors[sid] = Sensor(id=sid, **fields)
            s.add(sensor)
        else:
            for key, value in fields.items():  # the same fields upsert_sensor sets
                if getattr(sensor, key) != value:
                    setattr(sensor, key, value)
        if sid not in origins:
            origins.add(sid)
            new_origins.append(SensorOrigin(sensor_id=sid, source_id=source.id, entity_id=it.entity_id,
                                            entity_type=it.entity_type, attribute=it.source_attribute))
        batch.append((sensor, it.value, it.observed_at or now.replace(microsecond=0), it.attribute))
    s.flush()  # sensors before what refers to them
    s.add_all(new_origins)
    written = add_readings(s, batch)
    for layer in layers.values():
        layer.feature_count = s.scalar(select(func.count()).select_from(Sensor).where(Sensor.layer_id == layer.id))
    return written


def _point_feature(item: PointItem) -> dict:
    return {"type": "Feature", "id": item.entity_id[:120], "geometry": item.geometry, "properties": item.properties}


def snow_fix_ingest():
    """The snow-removal GPS-fix ingest, `sources.fixes.ingest(db, items, now, boundaries_path)`,
    looked up at call time (tests put a recording ingest in its place)."""
    from sources.fixes import ingest

    return ingest


def fix_rows(fixes: list[FixItem], now: datetime) -> list[dict]:
    """FixItems in the shape of the snow-removal ingest ({vehicle_id, lon, lat, time, speed, heading})."""
    return [{"vehicle_id": f.entity_id[:120], "lon": f.lon, "lat": f.lat,
             "time": (f.observed_at or now).isoformat(), "speed": f.speed, "heading": f.heading} for f in fixes]


def forward_fixes(db, fixes: list[FixItem], now: datetime) -> dict | None:
    """After our transaction: hand Vehicle fixes to the snow-removal ingest (validation, map
    matching, road passes, the live /snow page). None when there are none."""
    if not fixes:
        return None
    boundaries = Path(__file__).resolve().parents[1] / "data" / "boundaries" / "ishikawa_municipalities.geojson"
    result = snow_fix_ingest()(db, fix_rows(fixes, now), now, boundaries if boundaries.exists() else None)
    return result.as_json() if hasattr(result, "as_json") else dict(result or {})


def restriction_source(source: Source) -> bool:
    return source.target == "restrictions" or (source.target == "auto" and source.entity_type in RESTRICTION_TYPES)


def store_items(s: Session, source: Source, items: list, now: datetime, full: bool = True) -> dict:
    """Write one poll's (full=True: the whole set) or one notification's (full=False) items."""
    readings = [i for i in items if isinstance(i, ReadingItem)]
    points = [i for i in items if isinstance(i, PointItem)]
    fixes = [i for i in items if isinstance(i, FixItem)]
    out = {"readings": store_readings(s, source, readings, now) if readings else 0, "points": 0, "fixes": 0}
    if points:
        layer = role_layer(s, source, "points")
        if full:
            out["points"] = replace_features(s, layer, [_point_feature(p) for p in points])
        else:
            for p in points:
                upsert_feature(s, layer, p.entity_id[:120], p.geometry, p.properties)
            out["points"] = len(points)
    states = [i for i in items if isinstance(i, StateItem)]
    if states:  # snow-melting devices
        from sources.melters import store_states

        out["states"] = store_states(s, source, states, now)
    restrictions = [i for i in items if isinstance(i, RestrictionItem)]
    if restrictions or (full and restriction_source(source)):  # a full poll with none: none in force
        from sources.restrictions import store_source_restrictions

        feats = [{"type": "Feature", "geometry": r.geometry, "properties": r.properties} for r in restrictions]
        out["restrictions"] = store_source_restrictions(s, source, feats, "broker", full=full)["stored"]
    cameras = [i for i in items if isinstance(i, CameraItem)]
    if cameras:  # snapshots fetched by the cameras job
        from sources.cameras import store_broker_cameras

        out["cameras"] = store_broker_cameras(s, source, cameras)
    out["fixes"] = len(fixes)
    out["_fixes"] = fixes  # for forward_fixes once the transaction is committed
    return out


# ------------------------------------------------------------------ entities one by one
# A notification or a poll is a batch: an entity that is broken in any way (no id, metadata that
# is not an object, a location that is no geometry or lies outside the service area) is skipped
# with a reason; the others are stored.


def location_problem(e: Entity) -> str | None:
    """None when every location the entity gives is a usable geometry inside the service area,
    else `bad_location` or `outside_area` (refused like uploads refuse them)."""
    from sources.readers.base import check_geometry

    for name, attr in e.attrs.items():
        if name != "location" and attr.type not in ("geo:json", "geo:point"):
            continue
        if attr.value is None:
            continue
        geom = geometry_of(attr)
        if geom is None:
            return "bad_location"
        if geom["type"] == "Point":
            lon, lat = geom["coordinates"][:2]
            if plausible_point(lon, lat) is None:
                return "outside_area"
            continue
        reason = check_geometry(geom)
        if reason == "upload.row_outside_geom":
            return "outside_area"
        if reason is not None:
            return "bad_location"
    return None


def read_entities(raws: list, key_values: bool | None) -> tuple[list[Entity], list[dict]]:
    """(entities that can be used, [{"index", "entity_id", "reason"}] for the others)."""
    entities, rejected = [], []
    for i, raw in enumerate(raws):
        eid = str(raw.get("id") or "" if isinstance(raw, dict) else "")[:200]
        try:
            e = parse_entity(raw, key_values=key_values)
        except NgsiError as exc:
            rejected.append({"index": i, "entity_id": eid, "reason": exc.error or "bad_entity"})
            continue
        reason = location_problem(e)
        if reason:
            rejected.append({"index": i, "entity_id": eid, "reason": reason})
            continue
        entities.append(e)
    return entities, rejected


def usable(entities: list[Entity]) -> tuple[list[Entity], list[dict]]:
    """Entities already parsed (a poll), with broken locations left out."""
    kept, rejected = [], []
    for e in entities:
        reason = location_problem(e)
        if reason:
            rejected.append({"entity_id": e.id[:200], "reason": reason})
        else:
            kept.append(e)
    return kept, rejected


def map_entities(entities: list[Entity], target: str, attrs: list[str] | None) -> tuple[list, list[dict]]:
    """Items of every entity; one whose reading fails in an unforeseen way is skipped (logged)."""
    items, rejected = [], []
    for e in entities:
        try:
            items.extend(map_entity(e, target, attrs))
        except Exception as exc:
            log.warning("entity %s could not be read: %s: %s", e.id[:200], type(exc).__name__, exc)
            rejected.append({"entity_id": e.id[:200], "reason": "unreadable"})
    return items, rejected


def rejection_summary(rejected: list[dict]) -> str:
    """`2 skipped (bad_location ×1, outside_area ×1)` for the source's status ('' when none)."""
    if not rejected:
        return ""
    counts = Counter(r["reason"] for r in rejected)
    reasons = ", ".join(f"{reason} ×{n}" for reason, n in sorted(counts.items()))
    return t("source.skipped", "ja", n=len(rejected), reasons=reasons) + " / " + \
        t("source.skipped", "en", n=len(rejected), reasons=reasons)


def note_rejected(s: Session, source: Source, rejected: list[dict]) -> None:
    """After feed_ok: the feed's status keeps how many entities were skipped and why."""
    from store.models import Feed

    feed = s.get(Feed, source.feed_name)
    if feed is not None and rejected:
        feed.last_error = rejection_summary(rejected)[:2000]
