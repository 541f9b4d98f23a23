"""Items of an uploaded layer edited one at a time: values and position of a point, removal, a new
point (the next free number as its id). Big layers' clusters are refreshed by the caller."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import features as features_store, layers as layers_store
from store.edit_error import EditError
from store.models import Feature, Layer

if TYPE_CHECKING:  # store.models imports this module while store.users may be half-loaded
    pass


def _feature(s: Session, layer: Layer, fid: str) -> Feature:
    feat = s.scalar(select(Feature).where(Feature.layer_id == layer.id, Feature.fid == str(fid)))
    if feat is None:
        raise EditError("layers.no_item", fid=fid)
    return feat


JAPAN = (122.0, 20.0, 154.0, 46.0)


def _check_lonlat(lon, lat) -> tuple[float, float]:
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        raise EditError("layers.bad_point") from None
    if not (math.isfinite(lon) and math.isfinite(lat)
            and JAPAN[0] <= lon <= JAPAN[2] and JAPAN[1] <= lat <= JAPAN[3]):
        raise EditError("layers.bad_point")
    return lon, lat


def update_feature(s: Session, layer: Layer, fid: str, properties: dict | None = None,
                   lon=None, lat=None) -> Feature:
    feat = _feature(s, layer, fid)
    if properties is not None:
        feat.properties = {str(k): (v if v is None or isinstance(v, (int, float, bool)) else str(v))
                           for k, v in properties.items()}
    if lon is not None or lat is not None:
        if not feat.geometry.startswith('{"type":"Point"'):
            raise EditError("layers.not_a_point")
        lon, lat = _check_lonlat(lon, lat)
        row = features_store.point_row(layer.id, feat.fid, lon, lat, {})
        feat.geometry, feat.minx, feat.miny, feat.maxx, feat.maxy = (row["geometry"], row["minx"], row["miny"],
                                                                     row["maxx"], row["maxy"])
    layers_store.touch_layer(s, layer)
    return feat


def delete_feature(s: Session, layer: Layer, fid: str) -> None:
    s.delete(_feature(s, layer, fid))
    s.flush()
    layers_store.touch_layer(s, layer, feature_count=max((layer.feature_count or 1) - 1, 0))


def add_point(s: Session, layer: Layer, lon, lat, properties: dict | None = None) -> Feature:
    lon, lat = _check_lonlat(lon, lat)
    fids = [f for f in s.scalars(select(Feature.fid).where(Feature.layer_id == layer.id))]
    nums = [int(f) for f in fids if f.isdigit()]
    fid = str(max(nums, default=len(fids)) + 1)
    while fid in set(fids):
        fid = str(int(fid) + 1)
    props = {c: "" for c in (layer.options or {}).get("columns", [])}
    props.update({str(k): str(v) for k, v in (properties or {}).items()})
    row = features_store.point_row(layer.id, fid, lon, lat, props)
    feat = Feature(**row)
    s.add(feat)
    s.flush()
    layers_store.touch_layer(s, layer, feature_count=(layer.feature_count or 0) + 1)
    return feat
