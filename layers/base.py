"""The one small interface every layer kind implements.

A kind turns a stored Layer row into
- `features(session, layer, bbox, at)`: GeoJSON FeatureCollection bytes (WGS84), or None for
  kinds that have no vector data of ours (tile overlays);
- `map_spec(layer, lang)`: plain data telling components/map.py how to draw it (no Dash here);
- `legend(layer, lang)`: the legend entries;
- `query(session, layer, bbox, datetime, limit, offset, properties)` -> (features, matched) and
  `get(session, layer, fid)`: pages and single items for /ogcapi. Kinds whose features are rows of
  the `features` table (`StoredFeaturesKind`) answer them in SQL (LIMIT/OFFSET, COUNT, the bounds
  columns, the (layer_id, fid) index); the others (sensors, computed layers) page their own
  `features()`, which are small.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import datetime

import orjson
import shapely
from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session

from i18n import t
from registry import LAYER_KINDS
from store.features import feature_collection_bytes
from store.models import Feature, Layer

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class LegendItem:
    label: str
    color: str = "#666"
    shape: str = "circle"  # circle / square / pin / line / marker (AED) / camera / cluster / …
    border: str = ""


@dataclass(frozen=True)
class MapSpec:
    type: str  # "geojson" or "tiles"
    url: str = ""  # features URL (geojson) or tile URL template (tiles)
    props: dict = field(default_factory=dict)  # extra props for dl.GeoJSON / dl.TileLayer
    opacity: float | None = None  # overlays with an opacity slider set this
    refresh_s: int | None = None  # live layers: the map reloads them this often
    attribution: str = ""
    lod: bool = False  # the map asks for a new URL (another level of detail) when the zoom changes
    bbox: bool = False  # the map adds &bbox= of its view to the URL (big uploaded layers)


def bbox_param(bounds, zoom: int | None) -> str | None:
    """The view's bounds ([[south, west], [north, east]], as dash-leaflet gives them) snapped
    outward to a grid of two tiles at this zoom, so nearby views share one cached answer."""
    try:
        (south, west), (north, east) = bounds
        south, west, north, east = float(south), float(west), float(north), float(east)
    except (TypeError, ValueError):
        return None
    import math

    step = 360.0 / 2 ** max(min(int(zoom or 0), 22), 0) * 2
    snap = lambda v, f: round(f(v / step) * step, 6)  # noqa: E731
    west, east = max(snap(west, math.floor), -180.0), min(snap(east, math.ceil), 180.0)
    south, north = max(snap(south, math.floor), -90.0), min(snap(north, math.ceil), 90.0)
    return f"{west:g},{south:g},{east:g},{north:g}"


def features_url(layer: Layer, zoom: int | None = None) -> str:
    # the version makes the URL change with the data, so browsers and proxies may cache it
    url = f"/api/layers/{layer.id}/features?v={layer.version}"
    return url if zoom is None else f"{url}&zoom={lod_bucket(zoom)}"


# Levels of detail for lines and polygons: (up to zoom, simplify tolerance in degrees, decimals).
# At zoom 9 a pixel is ~0.0027° of longitude here, so 0.003° loses nothing a person can see.
LOD_LEVELS = [(9, 0.003, 4), (11, 0.001, 5)]


def lod_bucket(zoom: int) -> int:
    """The zoom that stands for zoom's level of detail (so nearby zooms share one cached answer)."""
    for max_zoom, _tol, _nd in LOD_LEVELS:
        if zoom <= max_zoom:
            return max_zoom
    return 18


def simplified_collection(s: Session, layer_id: str, bbox: BBox | None, zoom: int) -> bytes:
    """Features of a line/polygon layer simplified for a zoom level (vectorised with shapely)."""
    level = next(((tol, nd) for max_zoom, tol, nd in LOD_LEVELS if zoom <= max_zoom), None)
    if level is None:
        return feature_collection_bytes(s, layer_id, bbox)
    tol, nd = level
    q = select(Feature.fid, Feature.geometry, Feature.properties).where(Feature.layer_id == layer_id)
    if bbox is not None:
        q = q.where(Feature.maxx >= bbox[0], Feature.minx <= bbox[2], Feature.maxy >= bbox[1], Feature.miny <= bbox[3])
    rows = s.execute(q.order_by(Feature.id)).all()
    if not rows:
        return b'{"type":"FeatureCollection","features":[]}'
    geoms = shapely.from_geojson([g for _fid, g, _p in rows])
    geoms = shapely.set_precision(shapely.simplify(geoms, tol, preserve_topology=True), 10.0 ** -nd)
    parts = [
        b'{"type":"Feature","id":' + orjson.dumps(fid) + b',"geometry":' + shapely.to_geojson(g).encode()
        + b',"properties":' + orjson.dumps(props) + b"}"
        for (fid, _g, props), g in zip(rows, geoms) if not g.is_empty
    ]
    return b'{"type":"FeatureCollection","features":[' + b",".join(parts) + b"]}"


def layer_name(layer: Layer, lang: str) -> str:
    return (layer.name_en if lang == "en" and layer.name_en else layer.name_ja) or layer.id


def layer_attribution(layer: Layer, lang: str) -> str:
    return (layer.attribution_en if lang == "en" and layer.attribution_en else layer.attribution_ja) or ""


def popup_spec(title: str, fields: list[tuple[str, str]], lang: str, **extra) -> dict:
    """What the generic JS popup shows: a title property and (property, label) rows."""
    return {"title": title, "fields": [[key, t(label, lang)] for key, label in fields], **extra}


TIME_PROPS = ("observed_at", "datetime", "time")
Interval = tuple[datetime | None, datetime | None]  # an instant is (t, t); None is an open end


def bbox_boxes(bbox: BBox) -> list[BBox]:
    """A bbox as plain boxes: one that crosses the antimeridian (minx > maxx) is two."""
    minx, miny, maxx, maxy = bbox
    if minx > maxx:
        return [(minx, miny, 180.0, maxy), (-180.0, miny, maxx, maxy)]
    return [bbox]


def bbox_meets(bbox: BBox, bounds: tuple[float, float, float, float]) -> bool:
    return any(bounds[2] >= b[0] and bounds[0] <= b[2] and bounds[3] >= b[1] and bounds[1] <= b[3]
               for b in bbox_boxes(bbox))


def property_time(props: dict | None) -> datetime | None:
    """The time a feature stands for: its first ISO 8601 time property (bare times are UTC)."""
    from datetime import UTC

    for key in TIME_PROPS:
        v = (props or {}).get(key)
        if isinstance(v, str):
            try:
                dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
            except ValueError:
                continue
            return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return None


def in_interval(props: dict | None, when: Interval) -> bool:
    dt = property_time(props)
    start, end = when
    return dt is not None and (start is None or dt >= start) and (end is None or dt <= end)


def _prop_text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


def props_match(props: dict | None, properties: list[tuple[str, str]] | None) -> bool:
    """Equality filters on properties, compared as text (`?name=value` in a URL)."""
    props = props or {}
    return all(k in props and _prop_text(props[k]) == v for k, v in properties or [])


def _geometry_bounds(geom: dict) -> tuple[float, float, float, float] | None:
    from shapely.geometry import shape

    try:
        return shape(geom).bounds
    except Exception:
        return None


class LayerKind:
    kind = "base"
    has_features = True

    # -- paging for /ogcapi: the generic way, over features() (kinds whose data is small)

    def query(self, s: Session, layer: Layer, bbox: BBox | None = None, datetime: Interval | None = None,
              limit: int = 10, offset: int = 0,
              properties: list[tuple[str, str]] | None = None) -> tuple[list[dict], int]:
        """(one page of GeoJSON Feature dicts, how many match). bbox: minx > maxx crosses the
        antimeridian; datetime: (start, end) on the features' time property."""
        body = self.features(s, layer, None)
        feats = orjson.loads(body)["features"] if body else []
        if bbox is not None:
            feats = [f for f in feats if (b := _geometry_bounds(f.get("geometry"))) and bbox_meets(bbox, b)]
        if datetime is not None:
            feats = [f for f in feats if in_interval(f.get("properties"), datetime)]
        if properties:
            feats = [f for f in feats if props_match(f.get("properties"), properties)]
        return feats[offset:offset + limit], len(feats)

    def get(self, s: Session, layer: Layer, fid: str) -> dict | None:
        body = self.features(s, layer, None)
        feats = orjson.loads(body)["features"] if body else []
        return next((f for f in feats if str(f.get("id")) == fid), None)

    def extent(self, s: Session, layer: Layer) -> dict:
        """{"bbox": (minx, miny, maxx, maxy) or None, "times": (first, last) or None}."""
        body = self.features(s, layer, None)
        feats = orjson.loads(body)["features"] if body else []
        bounds = [b for f in feats if (b := _geometry_bounds(f.get("geometry")))]
        times = [dt for f in feats if (dt := property_time(f.get("properties")))]
        return {"bbox": (min(b[0] for b in bounds), min(b[1] for b in bounds), max(b[2] for b in bounds),
                         max(b[3] for b in bounds)) if bounds else None,
                "times": (min(times), max(times)) if times else None}

    def features(self, s: Session, layer: Layer, bbox: BBox | None = None,
                 at: datetime | None = None, zoom: int | None = None) -> bytes | None:
        """zoom: the map's zoom, for kinds that simplify (None: full detail)."""
        return feature_collection_bytes(s, layer.id, bbox)

    def map_spec(self, layer: Layer, lang: str, zoom: int | None = None) -> MapSpec:
        raise NotImplementedError

    def legend(self, layer: Layer, lang: str) -> list[LegendItem]:
        return []


def feature_dict(fid: str, geometry: str, props: dict | None) -> dict:
    return {"type": "Feature", "id": fid, "geometry": orjson.loads(geometry), "properties": props or {}}


_PLAIN_KEY = re.compile(r"[^\"\\$.\[\]*']{1,200}")  # property names a JSON path in SQL may name


def plain_keys(properties) -> bool:
    """Every filtered property name can be named by a JSON path in SQL."""
    return all(_PLAIN_KEY.fullmatch(k) for k, _v in properties or [])


_COUNTS_LOCK = threading.Lock()
_WHOLE_COUNTS: dict[tuple, int] = {}  # (database, layer id, data version, update time) -> rows


class StoredFeaturesKind(LayerKind):
    """Kinds whose features are rows of the `features` table: query and get in SQL."""

    def _where(self, q, layer: Layer, bbox: BBox | None, properties):
        q = q.where(Feature.layer_id == layer.id)
        if bbox is not None:
            q = q.where(or_(*[(Feature.maxx >= b[0]) & (Feature.minx <= b[2]) & (Feature.maxy >= b[1])
                              & (Feature.miny <= b[3]) for b in bbox_boxes(bbox)]))
        for key, value in properties or []:
            q = q.where(cast(Feature.properties[key].as_string(), String) == value)
        return q

    def query(self, s, layer, bbox=None, datetime=None, limit=10, offset=0, properties=None):
        cols = select(Feature.fid, Feature.geometry, Feature.properties)
        if datetime is not None or not plain_keys(properties):
            # the time sits in a property (or a key no JSON path can name): read the layer's rows in
            # order, keep what falls inside
            rows = s.execute(self._where(cols, layer, bbox, None).order_by(Feature.layer_id, Feature.id)
                             .execution_options(yield_per=2000))
            page, matched = [], 0
            for fid, geom, props in rows:
                if (datetime is None or in_interval(props, datetime)) and props_match(props, properties):
                    if offset <= matched < offset + limit:
                        page.append(feature_dict(fid, geom, props))
                    matched += 1
            return page, matched
        matched = self._count(s, layer, bbox, properties)
        if offset >= matched:
            return [], matched
        rows = s.execute(self._where(cols, layer, bbox, properties)
                         .order_by(Feature.layer_id, Feature.id).limit(limit).offset(offset)).all()
        return [feature_dict(fid, geom, props) for fid, geom, props in rows], matched

    def _count(self, s: Session, layer: Layer, bbox, properties) -> int:
        """COUNT in SQL; the whole layer's once per data version (every write bumps the version), since
        it reads every row of a big layer (~0.1 s for a million) and every page of it asks."""
        key = (str(s.get_bind().url), layer.id, layer.version, layer.updated_at)
        if bbox is None and not properties and key in _WHOLE_COUNTS:
            return _WHOLE_COUNTS[key]
        n = s.scalar(self._where(select(func.count()).select_from(Feature), layer, bbox, properties))
        if bbox is None and not properties:
            with _COUNTS_LOCK:
                if len(_WHOLE_COUNTS) >= 512:
                    _WHOLE_COUNTS.pop(next(iter(_WHOLE_COUNTS)))
                _WHOLE_COUNTS[key] = n
        return n

    def get(self, s, layer, fid):
        row = s.execute(select(Feature.fid, Feature.geometry, Feature.properties)
                        .where(Feature.layer_id == layer.id, Feature.fid == fid)).first()
        return feature_dict(*row) if row else None

    def extent(self, s, layer):
        minx, miny, maxx, maxy = s.execute(
            select(func.min(Feature.minx), func.min(Feature.miny), func.max(Feature.maxx), func.max(Feature.maxy))
            .where(Feature.layer_id == layer.id)).one()
        # only the time properties the first rows have (no JSON read of every row of a layer without)
        sample = s.scalars(select(Feature.properties).where(Feature.layer_id == layer.id)
                           .order_by(Feature.layer_id, Feature.id).limit(50)).all()
        times = []
        for key in [k for k in TIME_PROPS if any(isinstance((p or {}).get(k), str) for p in sample)]:
            text = Feature.properties[key].as_string()
            lo, hi = s.execute(select(func.min(text), func.max(text)).where(Feature.layer_id == layer.id)).one()
            for v in (lo, hi):
                dt = property_time({key: v})
                if dt:
                    times.append(dt)
            if times:
                break
        return {"bbox": None if minx is None else (minx, miny, maxx, maxy),
                "times": (min(times), max(times)) if times else None}


def kind_of(layer: Layer) -> LayerKind:
    """The kind object of a stored Layer row (its `kind` names one in `registry.LAYER_KINDS`)."""
    try:
        return LAYER_KINDS[layer.kind]
    except KeyError:
        raise LookupError(f"layer {layer.id}: unknown kind {layer.kind!r}") from None
