"""Features of vector layers: write a layer's data in one go, read it back by bbox."""
from __future__ import annotations

from collections.abc import Iterable

import orjson
from shapely.geometry import mapping, shape
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from store.layers import touch_layer
from store.models import Feature, Layer

DECIMALS = 6  # ~0.1 m; more only inflates what the browser downloads


def _round_coords(obj, nd=DECIMALS):
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(v), nd) for v in obj]
        return [_round_coords(v, nd) for v in obj]
    return obj


def normalize_geometry(geometry: dict) -> tuple[str, tuple[float, float, float, float]]:
    """GeoJSON geometry dict -> (compact JSON text with rounded coordinates, bounds)."""
    geom = shape(geometry)
    if geom.is_empty:
        raise ValueError("empty geometry")
    minx, miny, maxx, maxy = geom.bounds
    gj = mapping(geom)
    gj = {"type": gj["type"], "coordinates": _round_coords(gj["coordinates"])}
    return orjson.dumps(gj).decode(), (minx, miny, maxx, maxy)


def replace_features(s: Session, layer: Layer, features: Iterable[dict]) -> int:
    """Replace all features of a layer. features: GeoJSON Feature dicts (WGS84).

    Runs inside the caller's transaction, so an error half-way leaves the old data in place.
    """
    s.execute(delete(Feature).where(Feature.layer_id == layer.id))
    rows = []
    for i, feat in enumerate(features):
        geom_text, (minx, miny, maxx, maxy) = normalize_geometry(feat["geometry"])
        fid = feat.get("id")
        rows.append(dict(layer_id=layer.id, fid=str(fid if fid not in (None, "") else i + 1),
                         geometry=geom_text, properties=feat.get("properties") or {},
                         minx=minx, miny=miny, maxx=maxx, maxy=maxy))
    if rows:
        s.execute(Feature.__table__.insert(), rows)
    touch_layer(s, layer, feature_count=len(rows))
    return len(rows)


def feature_collection_bytes(s: Session, layer_id: str,
                             bbox: tuple[float, float, float, float] | None = None,
                             fids: list[str] | None = None) -> bytes:
    """A GeoJSON FeatureCollection as bytes, built from stored JSON without re-parsing geometry.

    fids: only these features (a big layer's grid index names the candidates of a bbox)."""
    q = select(Feature.id, Feature.fid, Feature.geometry, Feature.properties).where(Feature.layer_id == layer_id)
    if bbox is not None:
        minx, miny, maxx, maxy = bbox
        q = q.where(Feature.maxx >= minx, Feature.minx <= maxx, Feature.maxy >= miny, Feature.miny <= maxy)
    if fids is None:
        rows = s.execute(q.order_by(Feature.id)).all()
    else:
        rows = []
        for i in range(0, len(fids), 500):  # bound the statement's parameters
            rows.extend(s.execute(q.where(Feature.fid.in_(fids[i:i + 500]))).all())
        rows.sort(key=lambda r: r[0])
    parts = [
        b'{"type":"Feature","id":' + orjson.dumps(fid) + b',"geometry":' + geom.encode()
        + b',"properties":' + orjson.dumps(props) + b"}"
        for _id, fid, geom, props in rows
    ]
    return b'{"type":"FeatureCollection","features":[' + b",".join(parts) + b"]}"
