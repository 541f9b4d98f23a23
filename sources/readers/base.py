"""What every upload reader shares: the result, its problems, the one error, the geometry check.

- Everything a reader returns is GeoJSON Features in WGS84 lon/lat (6 decimals are kept by the store).
- Rows/features that cannot be placed are *not* fatal: they are listed in `result.problems` with
  their row number (CSV: the spreadsheet row, header = row 1; other formats: the feature's
  position, from 1) and a reason (an i18n key + values, so it reads in either language).
- A file that cannot be read at all raises `UploadError(status, code, message_key, details)`:
  415 for a type we do not take, 422 for a file we understand but cannot use, 400 for bad options.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import orjson
import shapely
from shapely.geometry import mapping, shape

from i18n import t
from sources.readers.coords import in_japan, to_wgs84

MAX_PROBLEMS_LISTED = 1000  # all are counted; this many are kept with their reasons


@dataclass(frozen=True)
class ReadOptions:
    """What staff may say about a file: its CRS (an EPSG code, already checked) and, for a CSV,
    which columns hold the coordinates."""

    crs: int | None = None
    lat_column: str | None = None
    lon_column: str | None = None


class Reader(Protocol):
    """One upload format (or a family of them): a module with these two names is a reader.

    `FORMATS`: the format names it reads, as `sniff` names them; `read(raw, fmt, options)`: the
    file's features, or `UploadError` when the file cannot be used at all."""

    FORMATS: tuple[str, ...]

    def read(self, raw: bytes, fmt: str, options: ReadOptions) -> ReadResult: ...


class UploadError(Exception):
    def __init__(self, status: int, code: str, message_key: str, details: list | None = None, **fmt):
        super().__init__(message_key)
        self.status, self.code, self.message_key, self.details, self.fmt = status, code, message_key, details or [], fmt


@dataclass(frozen=True)
class Problem:
    row: int
    key: str  # i18n key of the reason
    fmt: dict = field(default_factory=dict)

    def text(self, lang: str = "ja") -> str:
        return t(self.key, lang, **self.fmt)

    def as_dict(self, lang: str = "ja") -> dict:
        return {"row": self.row, "reason": self.key.split(".")[-1], "message": self.text(lang)}


@dataclass
class ReadResult:
    format: str
    features: list[dict]  # or PointRows (CSV): a sequence of the same dicts
    columns: list[str]  # property names in file order
    total: int  # rows/features in the file (placed + problems)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    encoding: str = ""
    crs: int | None = 4326  # EPSG the coordinates were read in
    crs_from: str = "default"  # "file", "user" or "default"
    lat_column: str | None = None
    lon_column: str | None = None
    coord_columns: list[str] = field(default_factory=list)  # columns the user may pick from (CSV)
    warnings: list[tuple[str, dict]] = field(default_factory=list)
    geometry_types: list[str] = field(default_factory=list)

    def add_problem(self, row: int, key: str, **fmt) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS_LISTED:
            self.problems.append(Problem(row, key, fmt))

    def bounds(self) -> tuple[float, float, float, float] | None:
        if not self.features:
            return None
        pts = [f["geometry"]["coordinates"] for f in self.features[:5000] if f["geometry"]["type"] == "Point"]
        if len(pts) == min(len(self.features), 5000):
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            return min(xs), min(ys), max(xs), max(ys)
        geoms = shapely.from_geojson([orjson.dumps(f["geometry"]) for f in self.features[:5000]])
        return tuple(float(v) for v in shapely.total_bounds(geoms))


def _scalar(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return json.dumps(value, ensure_ascii=False)


def scalar(value):
    """A property value as the store keeps it: scalars as they are, lists and objects as JSON text."""
    return _scalar(value)


GEOMETRY_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
                  "GeometryCollection"}


def check_geometry(geom) -> str | None:
    """None when geom is a usable GeoJSON geometry in lon/lat, else an i18n reason key."""
    if not isinstance(geom, dict) or geom.get("type") not in GEOMETRY_TYPES:
        return "upload.row_no_geometry"
    if geom["type"] == "Point":
        c = geom.get("coordinates")
        if not (isinstance(c, (list, tuple)) and len(c) >= 2 and all(isinstance(v, (int, float)) for v in c[:2])):
            return "upload.row_bad_geometry"
        return None if in_japan(c[0], c[1]) else "upload.row_outside_geom"
    try:
        g = shape(geom)
    except Exception:
        return "upload.row_bad_geometry"
    if g.is_empty:
        return "upload.row_bad_geometry"
    minx, miny, maxx, maxy = g.bounds
    if not (in_japan(minx, miny) and in_japan(maxx, maxy)):
        return "upload.row_outside_geom"
    return None


def transform_geometry(geom: dict, epsg: int) -> dict:
    transform = to_wgs84(epsg)

    def fn(coords):
        xs, ys = transform(coords[:, 0], coords[:, 1])
        return np.column_stack([xs, ys])

    return mapping(shapely.transform(shape(geom), fn))


def unique_ids(features: list[dict]) -> None:
    """Feature ids must be unique within a layer: number them when the file repeats ids."""
    if len({f["id"] for f in features}) != len(features):
        for i, f in enumerate(features, start=1):
            f["id"] = str(i)
