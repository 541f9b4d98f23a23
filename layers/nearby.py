"""The nearest AEDs and shelters to a point: distance and direction, nearest first.

Public data only: the public layers of the AED and shelter kinds. Each layer's points go into a
shapely STRtree once per data version (kept in this process); a query asks the tree for the points
in a box around the point, widening the box until the k nearest by great-circle distance are
certainly inside it.
"""
from __future__ import annotations

import math
import threading

import numpy as np
import orjson
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from i18n import t
from layers.base import layer_name
from refusal import Refused
from store.layers import public_layers
from store.models import Feature

KINDS = ("aed", "shelters")
NAME_PROPS = {"aed": ("name",), "shelters": ("施設・場所名", "name")}
ADDRESS_PROPS = {"aed": ("address",), "shelters": ("住所", "address")}
DETAIL_PROPS = {"aed": ("location",), "shelters": ()}  # where in the building (several AEDs in one)
MAX_LIMIT = 20
EARTH_M = 6_371_008.8
M_PER_DEG = math.pi * EARTH_M / 180
# eight compass points, clockwise from north (i18n keys)
DIRECTIONS = ("n", "ne", "e", "se", "s", "sw", "w", "nw")

_LOCK = threading.Lock()
_TREES: dict[tuple, tuple] = {}  # (database, layer id, version) -> (tree, points, rows)


def parse_point(lat, lon) -> tuple[float, float]:
    """(lat, lon) from request text; Refused(400) when not numbers in range."""
    try:
        la, lo = float(str(lat)[:40]), float(str(lon)[:40])
    except (TypeError, ValueError):
        raise Refused(400, "bad_point", "nearby.bad_point") from None
    if not (-90 <= la <= 90 and -180 <= lo <= 180):  # also false for nan
        raise Refused(400, "bad_point", "nearby.bad_point")
    return la, lo


def parse_limit(value, default: int = 5) -> int:
    if value in (None, ""):
        return default
    try:
        n = int(str(value)[:6])
    except ValueError:
        raise Refused(400, "bad_limit", "nearby.bad_limit", max=MAX_LIMIT) from None
    if not 1 <= n <= MAX_LIMIT:
        raise Refused(400, "bad_limit", "nearby.bad_limit", max=MAX_LIMIT)
    return n


def distance_m(lat1: float, lon1: float, lat2, lon2):
    """Great-circle distance in metres (haversine); lat2/lon2 may be numpy arrays."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from point 1 to point 2, degrees clockwise from north (0–360)."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(x, y)) + 360.0) % 360.0


def direction_key(bearing: float) -> str:
    return "nearby.dir." + DIRECTIONS[int((bearing + 22.5) // 45) % 8]


def distance_text(m: float, lang: str) -> str:
    if m < 1000:
        return t("nearby.metres", lang, n=int(round(m / 10.0) * 10) if m >= 100 else int(round(m)))
    return t("nearby.km", lang, n=f"{m / 1000:.1f}")


def _first(props: dict, keys) -> str:
    return next((str(props[k]) for k in keys if props.get(k) not in (None, "")), "")


def _tree(s: Session, layer) -> tuple:
    key = (str(s.get_bind().url), layer.id, layer.version, layer.updated_at)
    with _LOCK:
        hit = _TREES.get(key)
    if hit is not None:
        return hit
    rows = []
    for fid, geom, props in s.execute(select(Feature.fid, Feature.geometry, Feature.properties)
                                      .where(Feature.layer_id == layer.id).order_by(Feature.id)):
        g = orjson.loads(geom)
        if g.get("type") != "Point":
            continue
        lon, lat = g["coordinates"][:2]
        rows.append((fid, float(lat), float(lon), props or {}))
    points = shapely.points([(r[2], r[1]) for r in rows]) if rows else np.array([], dtype=object)
    entry = (shapely.STRtree(points), np.array([r[1] for r in rows]), np.array([r[2] for r in rows]), rows)
    with _LOCK:
        if len(_TREES) > 64:
            _TREES.clear()
        _TREES[key] = entry
    return entry


def _nearest_in(s: Session, layer, lat: float, lon: float, k: int) -> list[tuple[float, tuple]]:
    tree, lats, lons, rows = _tree(s, layer)
    if not rows:
        return []
    k = min(k, len(rows))
    r = 0.01  # degrees of latitude (~1.1 km); the box widens until the k nearest are surely in it
    while True:
        box = shapely.box(lon - r / max(math.cos(math.radians(lat)), 0.05), lat - r,
                          lon + r / max(math.cos(math.radians(lat)), 0.05), lat + r)
        idx = tree.query(box)
        covered = r * M_PER_DEG  # every point within this distance lies inside the box
        if len(idx) >= k:
            d = distance_m(lat, lon, lats[idx], lons[idx])
            order = np.argsort(d, kind="stable")[:k]
            if d[order[-1]] <= covered or r >= 180:
                return [(float(d[i]), rows[idx[i]]) for i in order]
        if r >= 180:
            d = distance_m(lat, lon, lats, lons)
            order = np.argsort(d, kind="stable")[:k]
            return [(float(d[i]), rows[i]) for i in order]
        r *= 4


def nearest(s: Session, lat: float, lon: float, kind: str, limit: int, lang: str,
            avoid_flood: bool = False) -> list[dict]:
    """The `limit` nearest points of the public layers of `kind` ("aed" or "shelters").
    avoid_flood: leave out the places the flood overlay colours (looked at among the 3×limit
    nearest; a place whose tile cannot be fetched stays, marked "unknown")."""
    if kind not in KINDS:
        raise Refused(400, "bad_kind", "nearby.bad_kind", allowed=", ".join(KINDS))
    wanted = min(limit * 3, 3 * MAX_LIMIT) if avoid_flood else limit
    found = []
    for layer in public_layers(s):
        if layer.kind != kind:
            continue
        for d, (fid, plat, plon, props) in _nearest_in(s, layer, lat, lon, wanted):
            found.append((d, layer, fid, plat, plon, props))
    found.sort(key=lambda x: (x[0], x[2]))
    found = found[:wanted]
    flood = [None] * len(found)
    if avoid_flood and found:
        from layers.hazard_point import flood_at_many

        flood = flood_at_many([(f[3], f[4]) for f in found])
        kept = [(f, st) for f, st in zip(found, flood) if st != "in"]
        found, flood = [f for f, _ in kept], [st for _, st in kept]
    out = []
    for (d, layer, fid, plat, plon, props), flood_status in zip(found[:limit], flood):
        b = bearing_deg(lat, lon, plat, plon)
        out.append({
            "layer": layer.id, "layer_name": layer_name(layer, lang), "kind": kind, "id": fid,
            "name": _first(props, NAME_PROPS[kind]) or fid, "address": _first(props, ADDRESS_PROPS[kind]),
            "detail": _first(props, DETAIL_PROPS[kind]),
            "lat": round(plat, 6), "lon": round(plon, 6), "distance_m": round(d, 1),
            "distance_text": distance_text(d, lang), "bearing_deg": round(b, 1),
            "direction": t(direction_key(b), lang),
            **({"flood": flood_status} if flood_status is not None else {}),
        })
    return out
