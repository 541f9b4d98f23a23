"""Zipped Shapefiles and GeoPackages through pyogrio (GDAL).

The CRS comes from the .prj / the GeoPackage; a user's choice applies when the file has none (or
overrides it when given). A Shapefile's text encoding comes from its .cpg, else UTF-8 when the
.dbf decodes as UTF-8, else CP932 (Japanese office files).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import orjson

from sources.readers.archive import read_entries
from sources.readers.base import ReadOptions, ReadResult, UploadError, check_geometry, scalar, unique_ids

FORMATS = ("shapefile", "gpkg")

SHP_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def _dbf_encoding(dbf: bytes, cpg: bytes | None) -> str:
    if cpg:
        name = cpg.decode("ascii", "ignore").strip().lower()
        if name:
            return {"932": "cp932", "sjis": "cp932", "shift_jis": "cp932", "shift-jis": "cp932"}.get(name, name)
    # the text of a .dbf: field names (32-byte descriptors from byte 32) and the records
    header_len = int.from_bytes(dbf[8:10], "little") if len(dbf) >= 32 else 0
    names = b"".join(dbf[i:i + 11].split(b"\x00")[0] for i in range(32, max(header_len - 1, 32), 32))
    try:
        names.decode("utf-8")
        dbf[header_len:].decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp932"


def read_ogr(raw: bytes, fmt: str, user_crs: int | None = None) -> ReadResult:
    import pyogrio

    with tempfile.TemporaryDirectory(prefix="ishikawa-upload-") as tmp:
        encoding = None
        layer = None
        warnings: list[tuple[str, dict]] = []
        if fmt == "shapefile":
            entries = read_entries(raw, lambda n: n.lower().endswith(SHP_PARTS) and "__macosx" not in n.lower())
            shps = sorted(n for n in entries if n.lower().endswith(".shp"))
            if not shps:
                raise UploadError(422, "bad_shapefile", "upload.bad_shapefile")
            stem = shps[0][:-4]
            parts = {n[len(stem):].lower(): data for n, data in entries.items() if n[:-4] == stem}
            if ".dbf" not in parts or ".shx" not in parts:
                raise UploadError(422, "bad_shapefile", "upload.bad_shapefile")
            for ext, data in parts.items():
                Path(tmp, "upload" + ext).write_bytes(data)
            path = os.path.join(tmp, "upload.shp")
            encoding = _dbf_encoding(parts[".dbf"], parts.get(".cpg"))
            if len(shps) > 1:
                warnings.append(("upload.first_layer_only", {"name": os.path.basename(shps[0])}))
        else:
            if raw.startswith(b"PK"):
                entries = read_entries(raw, lambda n: n.lower().endswith(".gpkg"))
                raw = next(iter(entries.values()))
            path = os.path.join(tmp, "upload.gpkg")
            Path(path).write_bytes(raw)
            try:
                layers = pyogrio.list_layers(path)
            except Exception:
                raise UploadError(422, "bad_geopackage", "upload.bad_geopackage") from None
            layers = [row for row in layers if row[1]]  # layers with geometry
            if not len(layers):
                raise UploadError(422, "bad_geopackage", "upload.bad_geopackage")
            layer = layers[0][0]
            if len(layers) > 1:
                warnings.append(("upload.first_layer_only", {"name": layer}))
        try:
            gdf = pyogrio.read_dataframe(path, layer=layer, encoding=encoding)
        except Exception:
            raise UploadError(422, f"bad_{fmt}", f"upload.bad_{fmt}") from None

    file_epsg = None
    if gdf.crs is not None:
        file_epsg = gdf.crs.to_epsg() or None
    if user_crs:
        gdf = gdf.set_crs(f"EPSG:{user_crs}", allow_override=True)
        epsg, crs_from = user_crs, "user"
    elif gdf.crs is not None:
        epsg, crs_from = file_epsg, "file"
    else:
        b = gdf.total_bounds
        if len(gdf) and not (abs(b[0]) <= 180 and abs(b[2]) <= 180 and abs(b[1]) <= 90 and abs(b[3]) <= 90):
            raise UploadError(422, "need_crs", "upload.need_crs")
        gdf = gdf.set_crs("EPSG:4326")
        epsg, crs_from = 4326, "default"
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs("EPSG:4326")

    result = ReadResult(format=fmt, features=[], columns=[str(c) for c in gdf.columns if c != "geometry"],
                        total=len(gdf), encoding=encoding or "", crs=epsg, crs_from=crs_from, warnings=warnings)
    import shapely

    geoms = gdf.geometry.values
    texts = shapely.to_geojson(geoms)
    records = gdf.drop(columns="geometry").to_dict("records")
    for n, (text, props) in enumerate(zip(texts, records), start=1):
        if text is None:
            result.add_problem(n, "upload.row_no_geometry")
            continue
        geom = orjson.loads(text)
        reason = check_geometry(geom)
        if reason:
            result.add_problem(n, reason)
            continue
        props = {str(k): _clean(v) for k, v in props.items()}
        result.features.append({"type": "Feature", "id": str(n), "geometry": geom, "properties": props})
    unique_ids(result.features)
    return result


def _clean(value):
    import math

    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return scalar(value)


def read(raw: bytes, fmt: str, options: ReadOptions) -> ReadResult:
    return read_ogr(raw, fmt, options.crs)
