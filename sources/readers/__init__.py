"""Readers of the files staff upload: CSV, GeoJSON, KML/KMZ, GPX, zipped Shapefile, GeoPackage.

`read_upload(raw, filename, crs=None, lat_column=None, lon_column=None) -> ReadResult`

- The format comes from the bytes (`sniff`), and the registry `READERS` names the reader of each
  format. A reader is a module with `FORMATS` and `read(raw, fmt, options)` (`base.Reader`);
  `register(reader)` adds one. Each returns GeoJSON Features in WGS84 lon/lat, with the rows it
  could not place listed as problems (`base.ReadResult`); a file it cannot use at all raises
  `base.UploadError`.
- CRS: the file's own where it says (GeoJSON `crs`, .prj, GeoPackage), else the user's choice
  (`crs`), else WGS84 for degree-like numbers. Plane-rectangular zones: X points north — see
  `sources/readers/coords.py`.
- Zips (KMZ, Shapefile, zipped GeoPackage) are opened within bounds (`archive.py`); XML (KML, GPX)
  is parsed with DTDs and entities refused (`xml_text.py`).
"""
from __future__ import annotations

import logging

from sources.readers import csv_table, geojson, gpx, kml, ogr
from sources.readers.archive import ArchiveError
from sources.readers.base import Problem, Reader, ReadOptions, ReadResult, UploadError
from sources.readers.coords import resolve_crs
from sources.readers.points import PointRows
from sources.readers.sniff import sniff

__all__ = ["READERS", "PointRows", "Problem", "ReadOptions", "ReadResult", "Reader", "UploadError", "read_upload",
           "register", "sniff"]

log = logging.getLogger(__name__)

READERS: dict[str, Reader] = {}


def register(reader: Reader) -> None:
    """Make `reader` the one that reads each of its FORMATS."""
    for fmt in reader.FORMATS:
        READERS[fmt] = reader


for _reader in (csv_table, geojson, kml, gpx, ogr):
    register(_reader)


def read_upload(raw: bytes, filename: str = "", crs: str | int | None = None, lat_column: str | None = None,
                lon_column: str | None = None) -> ReadResult:
    try:
        user_crs = resolve_crs(crs)
    except ValueError:
        raise UploadError(400, "bad_crs", "upload.bad_crs", [{"crs": str(crs)}], crs=str(crs)) from None
    if not raw:
        raise UploadError(422, "empty_file", "upload.empty")
    fmt = sniff(raw)
    reader = READERS.get(fmt)
    if reader is None:
        raise UploadError(415, "unsupported_type", "upload.unsupported")
    try:
        result = reader.read(raw, fmt, ReadOptions(crs=user_crs, lat_column=lat_column, lon_column=lon_column))
    except ArchiveError as exc:
        raise UploadError(422, "bad_archive", exc.message_key, **exc.fmt) from None
    if not result.features and not result.problem_count:
        raise UploadError(422, "no_features", "upload.no_features")
    result.geometry_types = (["Point"] if isinstance(result.features, PointRows) else
                             sorted({f["geometry"]["type"] for f in result.features}))
    log.info("upload %s read as %s: %d features, %d problems (crs %s from %s)", filename or "-", fmt,
             len(result.features), result.problem_count, result.crs, result.crs_from)
    return result
