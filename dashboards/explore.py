"""Discover: what the platform holds, before it is charted — per data source (the Orion brokers and
CKAN sites a staff member may see, and the operator's broker from ORION_URL) and for the platform's
own layers: the entity types with their counts, the entities of a type with their latest values,
and the vector layers with their properties and a sample of their items.

Plain functions over a SQLAlchemy session and a `store.users.Staff` (None = anonymous). Every
selection — lists, counts, searches — filters with `store.layers.visible_clause(staff)`, so a
private sensor or layer of another organisation is neither listed, nor counted, nor found. Counts
and searches run in SQL; only the rows shown (at most `limit`) are loaded.

Type keys name what `entities` lists:
- ``s:<source>:sensor:<entity type>`` — sensors a broker source made from entities of that type;
- ``s:<source>:feature:<entity type>`` — points (features) a source wrote; an empty type means
  items without an entity type (CKAN rows, vehicles' latest fixes);
- ``k:<layer kind>`` — every sensor and item of the visible layers of that kind.
``<source>`` is a source id, or ``env`` for the operator's broker (one source row per entity type
it polls, shown as one broker).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session

from dashboards import areas
from store.brokers import SensorOrigin, Source
from store.layers import visible_clause
from store.models import Feature, Layer, Organisation, Sensor
from store.sensors import shown_id

ENV = "env"
MAX_LIMIT = 2000
SAMPLE_ITEMS = 20
PROPERTY_SCAN = 500  # items read to learn a layer's property names when it does not list them
TITLE_NAMES = ["名称", "name", "施設名", "施設・場所名", "名前", "title", "タイトル", "Name", "NAME"]


@dataclass
class SourceGroup:
    key: str  # source id as text, "env", or "layers"
    kind: str  # "orion", "ckan" or "layers"
    name: str = ""
    base_url: str = ""
    service: str = ""
    servicepath: str = ""
    organisation: Organisation | None = None
    visibility: str = "public"
    types: list[dict] = field(default_factory=list)


# --- which sources a person may browse ----------------------------------------------------------

def visible_sources(s: Session, staff) -> list[Source]:
    """Registered sources of the staff member's organisation (admins: all), and the operator's
    broker from the environment. Anonymous visitors browse no source."""
    if staff is None:
        return []
    q = select(Source).order_by(Source.id)
    if not staff.is_admin:
        q = q.where((Source.organisation_id == staff.organisation_id) | Source.from_env.is_(True))
    return list(s.scalars(q))


def _source_ids(s: Session, staff, spec: str) -> list[int]:
    """The source ids a key's `<source>` part stands for, if this person may browse them."""
    allowed = visible_sources(s, staff)
    if spec == ENV:
        return [src.id for src in allowed if src.from_env]
    return [src.id for src in allowed if str(src.id) == spec and not src.from_env]


def _source_of_layer():
    return Layer.options["source_id"].as_integer()


def _entity_type_of_feature():
    return Feature.properties["entity_type"].as_string()


# --- entity types and counts --------------------------------------------------------------------

def entity_types(s: Session, staff) -> list[SourceGroup]:
    """One group per visible source (the operator's broker as one), then the platform's layers by
    kind; each with its types: {key, type, label (the type; for items without one the CKAN dataset
    or the entity type the source asks for), what ("sensor" / "feature" / "kind"), count, entities
    (distinct broker entities; sensors and items for kinds), layers, sensors, features (kinds)}."""
    srcs = visible_sources(s, staff)
    groups: list[SourceGroup] = []
    by_source: dict[int, SourceGroup] = {}
    orgs = {o.id: o for o in s.scalars(select(Organisation))}
    env = [src for src in srcs if src.from_env]
    if env:
        first = env[0]
        g = SourceGroup(key=ENV, kind="orion", name="ORION_URL", base_url=first.base_url, service=first.service,
                        servicepath=first.servicepath, visibility=first.visibility)
        groups.append(g)
        by_source.update((src.id, g) for src in env)
    for src in srcs:
        if src.from_env:
            continue
        g = SourceGroup(key=str(src.id), kind=src.kind, name=src.name, base_url=src.base_url, service=src.service,
                        servicepath=src.servicepath, organisation=orgs.get(src.organisation_id),
                        visibility=src.visibility)
        groups.append(g)
        by_source[src.id] = g
    ids = list(by_source)
    by_id = {src.id: src for src in srcs}
    counted: dict[tuple[str, str, str], dict] = {}
    if ids:
        # sensors made from broker entities, per source and entity type
        q = (select(SensorOrigin.source_id, SensorOrigin.entity_type, func.count(),
                    func.count(func.distinct(SensorOrigin.entity_id)))
             .join(Sensor, Sensor.id == SensorOrigin.sensor_id).join(Layer, Layer.id == Sensor.layer_id)
             .where(SensorOrigin.source_id.in_(ids), visible_clause(staff))
             .group_by(SensorOrigin.source_id, SensorOrigin.entity_type))
        for sid, etype, n, entities in s.execute(q):
            g = by_source[sid]
            row = counted.setdefault((g.key, "sensor", etype or ""), {
                "key": f"s:{g.key}:sensor:{etype or ''}", "type": etype or "", "label": etype or "", "what": "sensor",
                "count": 0, "entities": 0})
            row["count"] += n
            row["entities"] += entities
        # points and rows a source wrote as features, per source and entity type
        # (through a subquery: PostgreSQL sees the two JSON paths of SELECT and GROUP BY as
        # different expressions, each with its own bound parameter)
        src_col = _source_of_layer()
        items = (select(src_col.label("sid"), _entity_type_of_feature().label("etype"))
                 .select_from(Feature).join(Layer, Layer.id == Feature.layer_id)
                 .where(src_col.in_(ids), visible_clause(staff)).subquery())
        q = select(items.c.sid, items.c.etype, func.count()).group_by(items.c.sid, items.c.etype)
        for sid, etype, n in s.execute(q):
            g = by_source.get(sid)
            if g is None:
                continue
            src = by_id[sid]
            row = counted.setdefault((g.key, "feature", etype or ""), {
                "key": f"s:{g.key}:feature:{etype or ''}", "type": etype or "", "what": "feature",
                # items without a type: a CKAN dataset's rows, or what the source asked the broker for
                "label": etype or src.ckan_dataset or src.entity_type or "", "count": 0, "entities": 0})
            row["count"] += n
            row["entities"] += n
    for (gkey, _what, _etype), row in sorted(counted.items(), key=lambda kv: (kv[0][2].lower(), kv[0][1])):
        next(g for g in groups if g.key == gkey).types.append(row)
    groups.append(SourceGroup(key="layers", kind="layers", types=_kind_counts(s, staff)))
    return groups


def _has_items():
    """The layer holds items of its own (sensor and road layers count other things). Their number
    is the layer's `feature_count`, kept with every write — what /api/layers and the catalog show;
    counting a million-item layer's rows on each visit would cost more than the whole page."""
    return select(Feature.id).where(Feature.layer_id == Layer.id).exists()


def _kind_counts(s: Session, staff) -> list[dict]:
    layers = dict(s.execute(select(Layer.kind, func.count()).where(visible_clause(staff)).group_by(Layer.kind)).all())
    sensors = dict(s.execute(select(Layer.kind, func.count()).select_from(Sensor)
                             .join(Layer, Layer.id == Sensor.layer_id).where(visible_clause(staff))
                             .group_by(Layer.kind)).all())
    features = dict(s.execute(select(Layer.kind, func.coalesce(func.sum(Layer.feature_count), 0))
                              .where(visible_clause(staff), _has_items()).group_by(Layer.kind)).all())
    return [{"key": f"k:{kind}", "type": kind, "what": "kind", "layers": n,
             "sensors": sensors.get(kind, 0), "features": features.get(kind, 0),
             "count": sensors.get(kind, 0) + features.get(kind, 0),
             "entities": sensors.get(kind, 0) + features.get(kind, 0)}
            for kind, n in sorted(layers.items())]


# --- the entities of one type -------------------------------------------------------------------

def parse_key(type_key: str) -> tuple[str, ...] | None:
    """("s", source, what, entity type) or ("k", kind); None for anything else."""
    type_key = str(type_key or "")
    if type_key.startswith("k:") and len(type_key) > 2:
        return ("k", type_key[2:])
    parts = type_key.split(":", 3)
    if len(parts) == 4 and parts[0] == "s" and parts[2] in ("sensor", "feature") and parts[1]:
        return tuple(parts)
    return None


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _lower_like(column, text: str):
    return func.lower(column).like(_like(text.lower()), escape="\\")


def entities(s: Session, staff, type_key: str, search: str = "", limit: int = 500) -> list[dict]:
    """The sensors / items of one type that this person may see, with their latest values: dicts
    {row (unique in the list), id, kind ("sensor" / "feature"), name_ja, name_en, layer_id,
    layer_ja, layer_en, area, attribute, value, unit, time (UTC datetime), entity_id, entity_type,
    lon, lat, visibility, properties (items only)}. `search` (case-insensitive, in SQL) matches
    the name, id, entity id, address and layer of sensors, and the id and the properties (names and
    values, as stored JSON text) of items."""
    key = parse_key(type_key)
    limit = max(1, min(int(limit or 500), MAX_LIMIT))
    search = (search or "").strip()[:200]
    if key is None:
        return []
    sensor_filter = feature_filter = None
    if key[0] == "s":
        ids = _source_ids(s, staff, key[1])
        if not ids:
            return []
        if key[2] == "sensor":
            sensor_filter = [SensorOrigin.source_id.in_(ids), SensorOrigin.entity_type == key[3]]
        else:
            etype = _entity_type_of_feature()
            feature_filter = [_source_of_layer().in_(ids),
                              (etype == key[3]) if key[3] else etype.is_(None)]
    else:
        sensor_filter = [Layer.kind == key[1]]
        feature_filter = [Layer.kind == key[1]]
    rows: list[dict] = []
    if sensor_filter is not None:
        rows += _sensor_rows(s, staff, sensor_filter, search, limit, with_origin=key[0] == "s")
    if feature_filter is not None and len(rows) < limit:
        rows += _feature_rows(s, staff, feature_filter, search, limit - len(rows))
    return rows


def _sensor_rows(s: Session, staff, where: list, search: str, limit: int, with_origin: bool) -> list[dict]:
    q = (select(Sensor, Layer.name_ja, Layer.name_en, Layer.visibility, SensorOrigin.entity_id,
                SensorOrigin.entity_type)
         .join(Layer, Layer.id == Sensor.layer_id)
         .where(visible_clause(staff), *where))
    q = q.join(SensorOrigin, SensorOrigin.sensor_id == Sensor.id) if with_origin else \
        q.outerjoin(SensorOrigin, SensorOrigin.sensor_id == Sensor.id)
    if search:
        q = q.where(or_(*[_lower_like(c, search) for c in (
            Sensor.id, Sensor.ref, Sensor.name_ja, Sensor.name_en, Sensor.address, Layer.name_ja, Layer.name_en,
            func.coalesce(SensorOrigin.entity_id, ""))]))
    out = []
    for x, layer_ja, layer_en, vis, entity_id, entity_type in s.execute(
            q.order_by(Sensor.name_ja, Sensor.id).limit(limit)):
        out.append({"row": f"sensor:{x.id}", "id": shown_id(x), "key": x.id, "kind": "sensor", "name_ja": x.name_ja,
                    "name_en": x.name_en or x.name_ja, "layer_id": x.layer_id, "layer_ja": layer_ja,
                    "layer_en": layer_en or layer_ja, "area": areas.area_of(x.lon, x.lat),
                    "attribute": x.attribute, "value": x.last_value, "unit": x.unit or "",
                    "time": x.last_observed_at, "entity_id": entity_id or "", "entity_type": entity_type or "",
                    "lon": x.lon, "lat": x.lat, "visibility": vis, "address": x.address or ""})
    return out


def title_of(props: dict) -> str:
    for name in TITLE_NAMES:
        value = props.get(name)
        if value not in (None, ""):
            return str(value)
    return ""


def _feature_rows(s: Session, staff, where: list, search: str, limit: int) -> list[dict]:
    q = (select(Feature.fid, Feature.layer_id, Feature.properties, Feature.minx, Feature.miny, Feature.maxx,
                Feature.maxy, Layer.name_ja, Layer.name_en, Layer.visibility)
         .join(Layer, Layer.id == Feature.layer_id)
         .where(visible_clause(staff), *where))
    if search:
        q = q.where(or_(_lower_like(Feature.fid, search), _lower_like(cast(Feature.properties, String), search)))
    out = []
    for fid, layer_id, props, minx, miny, maxx, maxy, layer_ja, layer_en, vis in s.execute(
            q.order_by(Feature.layer_id, Feature.id).limit(limit)):
        props = props or {}
        lon, lat = (minx + maxx) / 2, (miny + maxy) / 2
        name = title_of(props) or str(props.get("entity_id") or fid)
        out.append({"row": f"feature:{layer_id}:{fid}", "id": fid, "kind": "feature", "name_ja": name,
                    "name_en": name, "layer_id": layer_id, "layer_ja": layer_ja, "layer_en": layer_en or layer_ja,
                    "area": areas.area_of(lon, lat), "attribute": "", "value": None, "unit": "",
                    "time": None, "entity_id": str(props.get("entity_id") or ""),
                    "entity_type": str(props.get("entity_type") or ""), "lon": round(lon, 6), "lat": round(lat, 6),
                    "visibility": vis, "properties": props})
    return out


# --- vector layers, their properties and a sample ----------------------------------------------

def vector_layers(s: Session, staff) -> list[dict]:
    """Visible layers that hold items of their own (uploaded, shipped and broker points), with
    their item counts: {id, kind, name_ja, name_en, visibility, organisation, count,
    updated_at}."""
    q = (select(Layer, Layer.feature_count, Organisation)
         .outerjoin(Organisation, Organisation.id == Layer.organisation_id)
         .where(visible_clause(staff), _has_items() | (Layer.kind == "uploaded"))
         .order_by(Layer.sort_order, Layer.id))
    return [{"id": layer.id, "kind": layer.kind, "name_ja": layer.name_ja, "name_en": layer.name_en or layer.name_ja,
             "visibility": layer.visibility, "organisation": org, "count": n or 0, "updated_at": layer.updated_at}
            for layer, n, org in s.execute(q)]


def layer_properties(s: Session, staff, layer_id: str, sample: int = SAMPLE_ITEMS) -> dict | None:
    """One visible layer's property names (with an example value and how many of the sample have
    one), its item count and its first items; None for unknown layers and for layers this person
    may not see alike."""
    row = s.execute(select(Layer, Organisation).outerjoin(Organisation, Organisation.id == Layer.organisation_id)
                    .where(Layer.id == str(layer_id or "")[:80], visible_clause(staff))).first()
    if row is None:
        return None
    layer, org = row
    count = layer.feature_count or 0
    scanned = s.execute(select(Feature.fid, Feature.properties, Feature.minx, Feature.miny, Feature.maxx, Feature.maxy)
                        .where(Feature.layer_id == layer.id).order_by(Feature.id).limit(PROPERTY_SCAN)).all()
    names = [str(c) for c in (layer.options or {}).get("columns") or []]
    for _fid, props, *_ in scanned:
        for name in props or {}:
            if name not in names:
                names.append(name)
    properties = []
    for name in names:
        values = [p.get(name) for _fid, p, *_ in scanned if (p or {}).get(name) not in (None, "")]
        numeric = bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) or _numeric_text(v)
                                       for v in values)
        properties.append({"name": name, "type": "number" if numeric else "text", "filled": len(values),
                           "example": values[0] if values else None})
    items = []
    for fid, props, minx, miny, maxx, maxy in scanned[:max(0, sample)]:
        lon, lat = (minx + maxx) / 2, (miny + maxy) / 2
        items.append({"fid": fid, "area": areas.area_of(lon, lat), "lon": round(lon, 6), "lat": round(lat, 6),
                      "properties": props or {}})
    return {"layer": {"id": layer.id, "kind": layer.kind, "name_ja": layer.name_ja,
                      "name_en": layer.name_en or layer.name_ja, "visibility": layer.visibility,
                      "organisation": org, "updated_at": layer.updated_at, "count": count},
            "properties": properties, "scanned": len(scanned), "items": items}


def _numeric_text(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        float(value.strip())
    except ValueError:
        return False
    return True


__all__ = ["SourceGroup", "entity_types", "entities", "layer_properties", "parse_key", "vector_layers",
           "visible_sources"]
