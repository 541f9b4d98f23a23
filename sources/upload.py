"""Reading the files staff upload: CSV, GeoJSON, KML/KMZ, GPX, zipped Shapefile, GeoPackage.

`read_upload(raw, filename, crs=None, lat_column=None, lon_column=None) -> ReadResult`

- The type comes from the bytes, never from the name (`sniff`); the name only shows in messages.
- Everything comes out as GeoJSON Features in WGS84 lon/lat (6 decimals are kept by the store).
- Rows/features that cannot be placed are *not* fatal: they are listed in `result.problems` with
  their row number (CSV: the spreadsheet row, header = row 1; other formats: the feature's
  position, from 1) and a reason (an i18n key + values, so it reads in either language).
- A file that cannot be read at all raises `UploadError(status, code, message_key, details)`:
  415 for a type we do not take, 422 for a file we understand but cannot use, 400 for bad options.
- CRS: the file's own where it says (GeoJSON `crs`, .prj, GeoPackage), else the user's choice
  (`crs`), else WGS84 for degree-like numbers. Plane-rectangular zones: X points north — see
  `sources/coords.py`.
"""
from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass, field

import orjson

from sources.archive import ArchiveError, is_zip, list_entries
from sources.coords import JAPAN, area_of_use, in_japan, is_geographic, parse_coord, resolve_crs, to_wgs84
from sources.text import decode_text, nfkc

log = logging.getLogger(__name__)

_INF = float("inf")
FORMATS = ("csv", "geojson", "kml", "kmz", "gpx", "shapefile", "gpkg")
PREVIEW_ROWS = 20
MAX_PROBLEMS_LISTED = 1000  # all are counted; this many are kept with their reasons


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
        from i18n import t

        return t(self.key, lang, **self.fmt)

    def as_dict(self, lang: str = "ja") -> dict:
        return {"row": self.row, "reason": self.key.split(".")[-1], "message": self.text(lang)}


@dataclass
class ReadResult:
    format: str
    features: list[dict]
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
        import shapely

        if not self.features:
            return None
        pts = [f["geometry"]["coordinates"] for f in self.features[:5000] if f["geometry"]["type"] == "Point"]
        if len(pts) == min(len(self.features), 5000):
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            return min(xs), min(ys), max(xs), max(ys)
        geoms = shapely.from_geojson([orjson.dumps(f["geometry"]) for f in self.features[:5000]])
        return tuple(float(v) for v in shapely.total_bounds(geoms))


# --- type from content ---

def sniff(raw: bytes) -> str:
    head = raw[:4096]
    if is_zip(raw):
        try:
            names = [i.filename.lower() for i in list_entries(raw)]
        except ArchiveError as exc:
            raise UploadError(422, "bad_archive", exc.message_key, **exc.fmt) from None
        if any(n.endswith(".kml") for n in names):
            return "kmz"
        if any(n.endswith(".shp") for n in names):
            return "shapefile"
        if any(n.endswith(".gpkg") for n in names):
            return "gpkg"
        if "[content_types].xml" in names:
            raise UploadError(415, "unsupported_type", "upload.excel")
        raise UploadError(415, "unsupported_type", "upload.zip_unknown")
    if raw.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if raw.startswith(b"\xd0\xcf\x11\xe0"):  # old Excel .xls
        raise UploadError(415, "unsupported_type", "upload.excel")
    if raw.startswith((b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b")) or b"\x00" in head:
        raise UploadError(415, "unsupported_type", "upload.unsupported")
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        low = text[:4096].lower()
        if b"<kml" in low:
            return "kml"
        if b"<gpx" in low:
            return "gpx"
        raise UploadError(415, "unsupported_type", "upload.unsupported")
    if text.startswith((b"{", b"[")):
        return "geojson"
    if not text.strip():
        raise UploadError(422, "empty_file", "upload.empty")
    return "csv"


def read_upload(raw: bytes, filename: str = "", crs: str | int | None = None, lat_column: str | None = None,
                lon_column: str | None = None) -> ReadResult:
    try:
        user_crs = resolve_crs(crs)
    except ValueError:
        raise UploadError(400, "bad_crs", "upload.bad_crs", [{"crs": str(crs)}], crs=str(crs)) from None
    if not raw:
        raise UploadError(422, "empty_file", "upload.empty")
    fmt = sniff(raw)
    try:
        if fmt == "csv":
            result = read_csv(raw, user_crs, lat_column, lon_column)
        elif fmt == "geojson":
            result = read_geojson(raw, user_crs)
        elif fmt in ("kml", "kmz"):
            from sources.kml import read_kml

            result = read_kml(raw, fmt)
        elif fmt == "gpx":
            from sources.gpx import read_gpx

            result = read_gpx(raw)
        else:
            from sources.ogr import read_ogr

            result = read_ogr(raw, fmt, user_crs)
    except ArchiveError as exc:
        raise UploadError(422, "bad_archive", exc.message_key, **exc.fmt) from None
    if not result.features and not result.problem_count:
        raise UploadError(422, "no_features", "upload.no_features")
    result.geometry_types = sorted({f["geometry"]["type"] for f in result.features})
    log.info("upload %s read as %s: %d features, %d problems (crs %s from %s)", filename or "-", fmt,
             len(result.features), result.problem_count, result.crs, result.crs_from)
    return result


# --- CSV ---

LAT_NAMES = ["緯度", "latitude", "lat", "北緯", "y", "y座標", "northing", "ido"]
XY_NAMES = {"x": {"x", "x座標"}, "y": {"y", "y座標"}}
LON_NAMES = ["経度", "longitude", "lon", "lng", "long", "東経", "x", "x座標", "easting", "keido"]


def _key(name: str) -> str:
    k = nfkc(name).lower().replace(" ", "").replace("_", "")
    for sep in ("(", "[", "（"):
        k = k.split(sep)[0] if not k.startswith(sep) else k
    return k


def _find_column(header: list[str], names: list[str], contains: str) -> str | None:
    keys = [_key(h) for h in header]
    for cand in names:
        if cand in keys:
            return header[keys.index(cand)]
    for h, k in zip(header, keys):
        if contains in k:
            return h
    return None


def _pick_column(header: list[str], wanted: str) -> str:
    if wanted in header:
        return wanted
    by_key = {_key(h): h for h in header}
    if _key(wanted) in by_key:
        return by_key[_key(wanted)]
    raise UploadError(422, "column_not_found", "upload.column_not_found", [{"column": wanted, "columns": header}],
                      column=wanted)


def _unique_header(row: list[str]) -> list[str]:
    out, seen = [], {}
    for i, name in enumerate(row, start=1):
        name = nfkc(name).strip() or f"column{i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        out.append(name)
    return out


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_csv(raw: bytes, user_crs: int | None = None, lat_column: str | None = None,
             lon_column: str | None = None) -> ReadResult:
    try:
        text, encoding = decode_text(raw)
    except ValueError:
        raise UploadError(422, "bad_encoding", "upload.bad_encoding") from None
    text = text.replace("\x00", "")
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(first))
    header = None
    for row in reader:
        if any(c.strip() for c in row):
            header = _unique_header(row)
            break
    if header is None:
        raise UploadError(422, "empty_file", "upload.empty")
    lat_col = _pick_column(header, lat_column) if lat_column else _find_column(header, LAT_NAMES, "緯度")
    lon_col = _pick_column(header, lon_column) if lon_column else _find_column(header, LON_NAMES, "経度")
    if lat_col is None or lon_col is None or lat_col == lon_col:
        raise UploadError(422, "no_coordinate_columns", "upload.no_coordinate_columns",
                          [{"columns": header}], columns="、".join(header[:20]))
    ilat, ilon = header.index(lat_col), header.index(lon_col)
    prop_idx = [(i, h) for i, h in enumerate(header) if i not in (ilat, ilon)]
    result = ReadResult(format="csv", features=[], columns=[h for _, h in prop_idx], total=0, encoding=encoding,
                        lat_column=lat_col, lon_column=lon_col, coord_columns=header)

    rows: list[tuple[int, float, float, dict]] = []
    row_no = 1
    width = len(header)
    names = [h for _, h in prop_idx]
    idx = [i for i, _ in prop_idx]
    strip = str.strip
    for row in reader:
        row_no += 1
        if not any(row) or not any(map(strip, row)):
            continue
        result.total += 1
        if len(row) < width:
            row = row + [""] * (width - len(row))
        raw_lat, raw_lon = row[ilat], row[ilon]
        try:  # the common case: plain decimal numbers
            lat, lon = float(raw_lat), float(raw_lon)
            if lat != lat or lon != lon or abs(lat) == _INF or abs(lon) == _INF:
                raise ValueError
        except ValueError:
            if not raw_lat.strip() or not raw_lon.strip():
                result.add_problem(row_no, "upload.row_no_coords")
                continue
            lat, lon = parse_coord(raw_lat), parse_coord(raw_lon)
            if lat is None or lon is None:
                result.add_problem(row_no, "upload.row_bad_coords", lat=raw_lat[:40], lon=raw_lon[:40])
                continue
        rows.append((row_no, lat, lon, dict(zip(names, map(strip, [row[i] for i in idx])))))

    epsg, crs_from = user_crs, "user"
    if epsg is None:
        sample = rows[:1000]
        # degrees when the numbers are degree-sized (a swapped pair is still degree-sized)
        if all(abs(lat) <= 180 and abs(lon) <= 180 for _, lat, lon, _ in sample):
            epsg, crs_from = 4326, "default"
        else:
            epsg, crs_from = 6675, "guess"  # Ishikawa lies in plane-rectangular zone VII
            result.warnings.append(("upload.crs_guessed", {"crs": "EPSG:6675"}))
    result.crs, result.crs_from = epsg, crs_from

    if rows:
        # the "lat" column holds north-south values: latitude, or northing of a projected CRS
        norths = [r[1] for r in rows]
        easts = [r[2] for r in rows]
        transform = to_wgs84(epsg)
        if epsg in (4326, 6668, 4612, 4301) or is_geographic(epsg):
            lons, lats = transform(easts, norths)
        else:
            # Japanese plane-rectangular convention: X = northing, Y = easting. Columns named x/y
            # are read that way first; the other order wins only when it puts more points inside
            # the zone (GIS tools write x = easting).
            xy_named = _key(lat_col) in XY_NAMES["y"] and _key(lon_col) in XY_NAMES["x"]
            first, second = ((easts, norths), (norths, easts)) if xy_named else ((norths, easts), (easts, norths))
            # first = (northing values, easting values)
            area = area_of_use(epsg)

            def score(lo, la):
                return sum(area[0] <= x <= area[2] and area[1] <= y <= area[3] for x, y in zip(lo[:1000], la[:1000]))

            lons, lats = transform(first[1], first[0])
            if lat_column is None or lon_column is None or score(lons, lats) < min(len(rows), 1000) / 2:
                lons2, lats2 = transform(second[1], second[0])
                if score(lons2, lats2) > score(lons, lats):
                    lons, lats = lons2, lats2
                    xy_named = not xy_named
            if xy_named:
                result.warnings.append(("upload.xy_swapped", {}))
        append = result.features.append
        w, s_, e, n = JAPAN
        for (row_no, raw_n, raw_e, props), lon, lat in zip(rows, lons, lats):
            if not (w <= lon <= e and s_ <= lat <= n):  # also false for NaN / inf
                result.add_problem(row_no, "upload.row_outside", lat=_short(raw_n), lon=_short(raw_e))
                continue
            append({"type": "Feature", "id": str(row_no), "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": props})
    result.problems.sort(key=lambda p: p.row)
    return result


def _short(v: float) -> str:
    return f"{v:.6f}".rstrip("0").rstrip(".")


# --- GeoJSON ---

def _scalar(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return json.dumps(value, ensure_ascii=False)


def _geojson_crs(doc: dict) -> int | None:
    crs = doc.get("crs")
    if isinstance(crs, dict):
        name = (crs.get("properties") or {}).get("name")
        try:
            return resolve_crs(name)
        except ValueError:
            return None
    return None


GEOMETRY_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
                  "GeometryCollection"}


def check_geometry(geom) -> str | None:
    """None when geom is a usable GeoJSON geometry in lon/lat, else an i18n reason key."""
    from shapely.geometry import shape

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


def _transform_geometry(geom: dict, epsg: int) -> dict:
    import numpy as np
    import shapely
    from shapely.geometry import mapping, shape

    transform = to_wgs84(epsg)

    def fn(coords):
        xs, ys = transform(coords[:, 0], coords[:, 1])
        return np.column_stack([xs, ys])

    return mapping(shapely.transform(shape(geom), fn))


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
                geom = _transform_geometry(geom, epsg)
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
        props = {str(k): _scalar(v) for k, v in props.items()}
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
    _unique_ids(result.features)
    return result


def _unique_ids(features: list[dict]) -> None:
    """Feature ids must be unique within a layer: number them when the file repeats ids."""
    if len({f["id"] for f in features}) != len(features):
        for i, f in enumerate(features, start=1):
            f["id"] = str(i)
