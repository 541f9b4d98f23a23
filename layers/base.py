"""The one small interface every layer kind implements.

A kind turns a stored Layer row into
- `features(session, layer, bbox, at)`: GeoJSON FeatureCollection bytes (WGS84), or None for
  kinds that have no vector data of ours (tile overlays);
- `map_spec(layer, lang)`: plain data telling components/map.py how to draw it (no Dash here);
- `legend(layer, lang)`: the legend entries.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import orjson
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from i18n import t
from store.features import feature_collection_bytes
from store.models import Feature, Layer

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class LegendItem:
    label: str
    color: str = "#666"
    shape: str = "circle"  # circle / square / line / marker / cluster
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


class LayerKind:
    kind = "base"
    has_features = True

    def features(self, s: Session, layer: Layer, bbox: BBox | None = None,
                 at: datetime | None = None, zoom: int | None = None) -> bytes | None:
        """zoom: the map's zoom, for kinds that simplify (None: full detail)."""
        return feature_collection_bytes(s, layer.id, bbox)

    def map_spec(self, layer: Layer, lang: str, zoom: int | None = None) -> MapSpec:
        raise NotImplementedError

    def legend(self, layer: Layer, lang: str) -> list[LegendItem]:
        return []
