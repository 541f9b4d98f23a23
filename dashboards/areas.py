"""The prefecture's 19 municipalities (shipped outlines): names for area variables, which one a
point lies in, and each one's bounding box (an SQL prefilter before the exact polygon test)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import shapely
from shapely.geometry import shape

BOUNDARIES = Path(__file__).resolve().parents[1] / "data" / "boundaries" / "ishikawa_municipalities.geojson"


@lru_cache(maxsize=1)
def _areas() -> dict[str, shapely.Geometry]:
    with open(BOUNDARIES, encoding="utf-8") as f:
        data = json.load(f)
    out = {}
    for feat in data["features"]:
        geom = shape(feat["geometry"])
        shapely.prepare(geom)
        out[feat["properties"]["name"]] = geom
    return out


def area_names() -> list[str]:
    return list(_areas())


def is_area(name: str) -> bool:
    return name in _areas()


def area_bbox(name: str) -> tuple[float, float, float, float]:
    return tuple(_areas()[name].bounds)  # type: ignore[return-value]


def contains(name: str, lon: float, lat: float) -> bool:
    return bool(_areas()[name].contains(shapely.Point(lon, lat)))


def area_of(lon: float, lat: float) -> str:
    point = shapely.Point(lon, lat)
    for name, geom in _areas().items():
        if geom.contains(point):
            return name
    return ""
