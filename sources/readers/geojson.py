"""GeoJSON: a FeatureCollection, a Feature, a bare geometry or a list of features; a `crs` member
(old GeoJSON) is honoured, a staff choice overrides it."""
from __future__ import annotations

import json

import orjson

from sources.readers.base import (
    GEOMETRY_TYPES,
    ReadOptions,
    ReadResult,
    UploadError,
    check_geometry,
    scalar,
    transform_geometry,
    unique_ids,
)
from sources.readers.coords import resolve_crs
from sources.text import decode_text

FORMATS = ("geojson",)


def _geojson_crs(doc: dict) -> int | None:
    crs = doc.get("crs")
    if isinstance(crs, dict):
        name = (crs.get("properties") or {}).get("name")
        try:
            return resolve_crs(name)
        except ValueError:
            return None
    return None



def features_from_geojson_doc(doc, result: ReadResult, epsg: int | None) -> None:
    if isinstance(doc, list):
        feats = doc
    elif isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        feats = doc.get("features") or []
    elif isinstance(doc, dict) and doc.get("type") == "Feature":
        feats = [doc]
    elif isinstance(doc, dict) and doc.get("type") in GEOMETRY_TYPES:
        feats = [{"type": "Feature", "geometry": doc, "properties": {}}]
    else:
        raise UploadError(422, "bad_geojson", "upload.bad_geojson")
    columns: dict[str, None] = {}
    out = result.features
    for n, feat in enumerate(feats, start=1):
        result.total += 1
        if not isinstance(feat, dict):
            result.add_problem(n, "upload.row_no_geometry")
            continue
        geom = feat.get("geometry")
        if epsg not in (None, 4326) and isinstance(geom, dict):
            try:
                geom = transform_geometry(geom, epsg)
            except Exception:
                result.add_problem(n, "upload.row_bad_geometry")
                continue
        reason = check_geometry(geom)
        if reason:
            result.add_problem(n, reason)
            continue
        props = feat.get("properties") or {}
        if not isinstance(props, dict):
            props = {}
        props = {str(k): scalar(v) for k, v in props.items()}
        for k in props:
            if k not in columns:
                columns[k] = None
        fid = feat.get("id")
        out.append({"type": "Feature", "id": str(fid) if fid not in (None, "") else str(n),
                    "geometry": geom, "properties": props})
    result.columns = list(columns)


def read_geojson(raw: bytes, user_crs: int | None = None) -> ReadResult:
    try:
        doc = orjson.loads(raw.lstrip(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError:
        try:
            doc = json.loads(decode_text(raw)[0])
        except ValueError:
            raise UploadError(422, "bad_geojson", "upload.bad_json") from None
    file_crs = _geojson_crs(doc) if isinstance(doc, dict) else None
    epsg = user_crs or file_crs or 4326
    crs_from = "user" if user_crs else ("file" if file_crs else "default")
    result = ReadResult(format="geojson", features=[], columns=[], total=0, encoding="utf-8", crs=epsg,
                        crs_from=crs_from)
    features_from_geojson_doc(doc, result, epsg)
    unique_ids(result.features)
    return result




def read(raw: bytes, fmt: str, options: ReadOptions) -> ReadResult:
    return read_geojson(raw, options.crs)
