"""FIWARE Smart Data Models → what this app stores, without configuration.

- `WeatherObserved.snowHeight` (cm) → a snow-depth reading;
- a snow-depth `Device` (attribute `snowHeight`/`snowDepth`, or `controlledProperty` naming it
  with a numeric `value`) and `DeviceMeasurement` (`controlledProperty` + `numValue` + `unit`)
  → snow-depth readings (UN/CEFACT units CMT/MMT/MTR converted to cm);
- `WaterObserved.waterLevel` (m) → a water-level reading;
- `Vehicle` → a GPS fix (position, time, speed, heading/bearing);
- `PointOfInterest` (and anything a source maps to "points") → a point feature;
- `RoadRestriction` (our documented type, see README) and Smart Data Models' `RestrictedTrafficArea`
  (and anything a source maps to "restrictions") → a road restriction (通行規制).

Plain functions on parsed `Entity` objects: no HTTP, no database.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sources.ngsi import Entity, entity_location, number, observed_at

SNOW_ATTRS = ("snowHeight", "snowDepth")
UNIT_TO_CM = {"CMT": 1.0, "MMT": 0.1, "MTR": 100.0, "cm": 1.0, "mm": 0.1, "m": 100.0}
RESTRICTION_TYPES = ("RoadRestriction", "RestrictedTrafficArea")
UNDERSTOOD_TYPES = ("WeatherObserved", "Device", "DeviceMeasurement", "WaterObserved", "Vehicle",
                    "PointOfInterest", *RESTRICTION_TYPES)


@dataclass
class ReadingItem:
    role: str  # "snow" / "water" / "sensor": which layer the sensor belongs to
    entity_id: str
    entity_type: str
    name: str
    lon: float
    lat: float
    attribute: str  # our attribute name (snowDepth, waterLevel, or the NGSI name)
    source_attribute: str  # the NGSI attribute it came from
    unit: str
    value: float
    observed_at: datetime | None
    address: str = ""


@dataclass
class FixItem:
    entity_id: str
    name: str
    lon: float
    lat: float
    observed_at: datetime | None
    speed: float | None = None
    heading: float | None = None
    properties: dict = field(default_factory=dict)


@dataclass
class StateItem:
    """A snow-melting device's state (稼働中 / 停止 / 故障), from a `Device` with `deviceState`."""
    entity_id: str
    entity_type: str
    name: str
    lon: float
    lat: float
    state: str  # running / stopped / fault (store.melters)
    observed_at: datetime | None


@dataclass
class CameraItem:
    """A camera whose snapshot URL an entity attribute holds (a source with target "cameras")."""
    entity_id: str
    name: str
    lon: float
    lat: float
    url: str
    observed_at: datetime | None = None


# where a camera entity keeps its image URL when the source names no attribute
IMAGE_ATTRS = ("imageSnapshot", "snapshotUrl", "imageUrl", "image", "url")


@dataclass
class RestrictionItem:
    """A road restriction: its geometry and its attributes as the columns of a restriction list
    (restrictionType, roadName, section, reason, validFrom, validTo — sources/restrictions.py)."""
    entity_id: str
    geometry: dict
    properties: dict


@dataclass
class PointItem:
    entity_id: str
    entity_type: str
    geometry: dict
    properties: dict
    observed_at: datetime | None = None


def _name(e: Entity) -> str:
    for key in ("name", "alternateName", "description"):
        v = e.value(key)
        if isinstance(v, str) and v.strip():
            return v.strip()[:200]
    return e.id[:200]


def _address(e: Entity) -> str:
    a = e.value("address")
    if isinstance(a, dict):
        parts = [a.get(k) for k in ("addressRegion", "addressLocality", "streetAddress")]
        return " ".join(str(p) for p in parts if p)[:300]
    return str(a)[:300] if isinstance(a, str) else ""


# Where this platform's data can be: Japan with its seas (the public map's bounds). A point outside
# it whose swapped coordinates fall inside is a [lat, lon] mix-up and is turned; others are dropped.
SERVICE_AREA = (118.0, 20.0, 160.0, 50.0)


def in_area(lon: float, lat: float, area=SERVICE_AREA) -> bool:
    return area[0] <= lon <= area[2] and area[1] <= lat <= area[3]


def plausible_point(lon: float, lat: float, area=SERVICE_AREA) -> tuple[float, float] | None:
    if area is None or in_area(lon, lat, area):
        return lon, lat
    if in_area(lat, lon, area):
        return lat, lon
    return None


def _lonlat(e: Entity, area=SERVICE_AREA) -> tuple[float, float] | None:
    geom = entity_location(e)
    if not geom:
        return None
    if geom["type"] == "Point":
        return plausible_point(geom["coordinates"][0], geom["coordinates"][1], area)
    from shapely.geometry import shape

    try:
        c = shape(geom).representative_point()
    except Exception:
        return None
    return (c.x, c.y) if area is None or in_area(c.x, c.y, area) else None


def _controlled(e: Entity) -> list[str]:
    v = e.value("controlledProperty")
    if isinstance(v, str):
        return [x.strip() for x in v.split(",")]
    return [str(x) for x in v] if isinstance(v, list) else []


def _reading(e: Entity, role: str, attribute: str, source_attr: str, unit: str, value: float) -> ReadingItem | None:
    ll = _lonlat(e)
    if ll is None:
        return None
    return ReadingItem(role=role, entity_id=e.id, entity_type=e.type, name=_name(e), lon=ll[0], lat=ll[1],
                       attribute=attribute, source_attribute=source_attr, unit=unit, value=value,
                       observed_at=observed_at(e, source_attr), address=_address(e))


def snow_readings(e: Entity) -> list[ReadingItem]:
    if e.type == "WeatherObserved" or e.type == "Device":
        for attr in SNOW_ATTRS:
            v = number(e.value(attr))
            if v is not None:
                r = _reading(e, "snow", "snowDepth", attr, "cm", round(v, 1))
                return [r] if r else []
    if e.type == "Device" and any(p in SNOW_ATTRS for p in _controlled(e)):
        v = number(e.value("value"))
        if v is not None:
            r = _reading(e, "snow", "snowDepth", "value", "cm", round(v, 1))
            return [r] if r else []
    if e.type == "DeviceMeasurement" and any(p in SNOW_ATTRS for p in _controlled(e)):
        v = number(e.value("numValue"))
        factor = UNIT_TO_CM.get(str(e.value("unit") or "CMT"))
        if v is not None and factor is not None:
            r = _reading(e, "snow", "snowDepth", "numValue", "cm", round(v * factor, 1))
            return [r] if r else []
    return []


def water_readings(e: Entity) -> list[ReadingItem]:
    v = number(e.value("waterLevel"))
    if v is None:
        return []
    r = _reading(e, "water", "waterLevel", "waterLevel", "m", v)
    return [r] if r else []


def vehicle_fix(e: Entity) -> list[FixItem]:
    ll = _lonlat(e)
    if ll is None:
        return []
    heading = number(e.value("heading"))
    if heading is None:
        heading = number(e.value("bearing"))
    return [FixItem(entity_id=e.id, name=_name(e), lon=ll[0], lat=ll[1],
                    observed_at=observed_at(e, "location"), speed=number(e.value("speed")), heading=heading,
                    properties={k: e.value(k) for k in ("vehicleType", "vehiclePlateIdentifier", "serviceStatus")
                                if isinstance(e.value(k), (str, int, float))})]


def simple_properties(e: Entity, attrs: list[str] | None = None) -> dict:
    """Scalar attributes (and DateTimes as text) for a point's popup; structured values left out."""
    props: dict = {"entity_id": e.id, "entity_type": e.type, "name": _name(e)}
    for name, a in e.attrs.items():
        if attrs and name not in attrs:
            continue
        if a.type in ("geo:json", "geo:point") or name == "location":
            continue
        if isinstance(a.value, (str, int, float, bool)):
            props[name] = a.value
        elif isinstance(a.value, list) and all(isinstance(x, (str, int, float)) for x in a.value):
            props[name] = ", ".join(str(x) for x in a.value)
    addr = _address(e)
    if addr:
        props["address"] = addr
    return props


def _placed_geometry(e: Entity) -> dict | None:
    """The entity's geometry, a point rounded and checked to lie in the service area; None without one."""
    geom = entity_location(e)
    if geom is None:
        return None
    if geom["type"] == "Point":
        ll = plausible_point(*geom["coordinates"][:2])
        if ll is None:
            return None
        geom = {"type": "Point", "coordinates": [ll[0], ll[1]]}
    return geom


def point(e: Entity, attrs: list[str] | None = None) -> list[PointItem]:
    geom = _placed_geometry(e)
    if geom is None:
        return []
    dt = observed_at(e)
    props = simple_properties(e, attrs)
    if dt:
        props["observed_at"] = dt.isoformat()
    return [PointItem(entity_id=e.id, entity_type=e.type, geometry=geom, properties=props, observed_at=dt)]


def generic_readings(e: Entity, attrs: list[str] | None = None) -> list[ReadingItem]:
    out = []
    for name, a in e.attrs.items():
        if attrs and name not in attrs:
            continue
        v = number(a.value) if not isinstance(a.value, str) else None
        if v is None:
            continue
        unit_code = a.metadata.get("unitCode")
        unit = unit_code.get("value", "") if isinstance(unit_code, dict) else ""
        r = _reading(e, "sensor", name[:60], name[:100], str(unit)[:20], v)
        if r:
            out.append(r)
    return out


def device_state(e: Entity) -> list[StateItem]:
    """A snow-melting device: a `Device` whose `deviceState` we understand and no number of its own."""
    from sources.melters import entity_state, is_melter_entity

    values = {name: a.value for name, a in e.attrs.items()}
    ll = _lonlat(e)
    if ll is None or not is_melter_entity(e.type, values):
        return []
    return [StateItem(entity_id=e.id, entity_type=e.type, name=_name(e), lon=ll[0], lat=ll[1],
                      state=entity_state(values), observed_at=observed_at(e, "deviceState"))]


def camera(e: Entity, attrs: list[str] | None = None) -> list[CameraItem]:
    names = list(attrs or []) or list(IMAGE_ATTRS)
    url = next((v.strip() for n in names if isinstance(v := e.value(n), str) and v.strip()), "")
    ll = _lonlat(e)
    if ll is None or not url.lower().startswith(("http://", "https://")) or len(url) > 2000:
        return []
    return [CameraItem(entity_id=e.id, name=_name(e), lon=ll[0], lat=ll[1], url=url)]


RESTRICTION_TIMES = ("validFrom", "validTo", "validThrough", "startDate", "endDate")


def restriction(e: Entity, attrs: list[str] | None = None) -> list[RestrictionItem]:
    """A `RoadRestriction` / `RestrictedTrafficArea` entity (line, polygon or point in the service
    area) as a restriction row; times read as ISO 8601 (UTC unless they say otherwise)."""
    from sources.ngsi import parse_datetime

    geom = _placed_geometry(e)
    if geom is None:
        return []
    props = simple_properties(e, attrs)
    props["id"] = e.id
    props.pop("entity_type", None)
    for name in RESTRICTION_TIMES:
        value = e.value(name)
        if isinstance(value, str) and value.strip():
            dt = parse_datetime(value)
            props[name] = dt.isoformat(timespec="seconds") if dt else value
    if e.type == "RestrictedTrafficArea" and not any(props.get(k) for k in ("restrictionType", "category")):
        props["restrictionType"] = "交通規制区域"
    return [RestrictionItem(entity_id=e.id, geometry=geom, properties=props)]


def map_entity(e: Entity, target: str = "auto", attrs: list[str] | None = None) -> list:
    """What an entity becomes. target: auto (by Smart Data Model type), points, readings or fixes."""
    if target == "points":
        return point(e, attrs)
    if target == "fixes":
        return vehicle_fix(e)
    if target == "cameras":
        return camera(e, attrs)
    if target == "restrictions":
        return restriction(e, attrs)
    if target == "readings":
        return snow_readings(e) or water_readings(e) or generic_readings(e, attrs)
    if e.type in ("WeatherObserved", "Device", "DeviceMeasurement"):
        return snow_readings(e) or device_state(e)
    if e.type == "WaterObserved":
        return water_readings(e)
    if e.type == "Vehicle":
        return vehicle_fix(e)
    if e.type == "PointOfInterest":
        return point(e, attrs)
    if e.type in RESTRICTION_TYPES:
        return restriction(e, attrs)
    return []
