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
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np
import orjson

from sources.archive import ArchiveError, is_zip, list_entries
from sources.coords import JAPAN, area_of_use, in_japan, is_geographic, parse_coord, resolve_crs, to_wgs84
from sources.text import decode_text, nfkc

log = logging.getLogger(__name__)

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
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its BOM ("Unicode" in Windows tools)
        low = head.decode("utf-16", errors="ignore").lstrip("\ufeff \t\r\n").lower()
        if low.startswith("<") and "<kml" in low:
            return "kml"
        if low.startswith("<") and "<gpx" in low:
            return "gpx"  # XML readers take UTF-16 as it is; other UTF-16 text is not read
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
    result.geometry_types = (["Point"] if isinstance(result.features, PointRows) else
                             sorted({f["geometry"]["type"] for f in result.features}))
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
    end = text.find("\n")
    first = text if end < 0 else text[:end]
    buffer = io.StringIO(text)
    del text  # the buffer holds its own copy (4 bytes a character): keep one, drop it after reading
    reader = csv.reader(buffer, delimiter=_delimiter(first))
    header = None
    header_no = 0  # the header's row in the spreadsheet (blank rows above it count)
    for row in reader:
        header_no += 1
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

    # all rows at once, then a column at a time: per-row Python work is what a million rows cost
    width = len(header)
    rows = list(reader)
    buffer.close()
    row_nos = list(range(header_no + 1, header_no + 1 + len(rows)))
    if not all(map(any, rows)) or min(map(len, rows), default=width) < width:
        rows, row_nos = _tidy_rows(rows, row_nos, width)
    raw_lats = list(map(itemgetter(ilat), rows))
    raw_lons = list(map(itemgetter(ilon), rows))
    names = [h for _, h in prop_idx]
    columns = [list(map(itemgetter(i), rows)) for i, _ in prop_idx]
    del rows
    strip = str.strip
    columns = [list(map(strip, col)) for col in columns]
    result.total = len(row_nos)
    norths, easts, placed = _coordinates(raw_lats, raw_lons, row_nos, result)

    epsg, crs_from = user_crs, "user"
    if epsg is None:
        sample_n, sample_e = norths[placed][:1000], easts[placed][:1000]
        # degrees when the numbers are degree-sized (a swapped pair is still degree-sized)
        if bool(np.all((np.abs(sample_n) <= 180) & (np.abs(sample_e) <= 180))):
            epsg, crs_from = 4326, "default"
        else:
            epsg, crs_from = 6675, "guess"  # Ishikawa lies in plane-rectangular zone VII
            result.warnings.append(("upload.crs_guessed", {"crs": "EPSG:6675"}))
    result.crs, result.crs_from = epsg, crs_from

    keep = np.nonzero(placed)[0]
    norths, easts = norths[keep], easts[keep]
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
            lo, la = np.asarray(lo)[:1000], np.asarray(la)[:1000]
            return int(np.sum((area[0] <= lo) & (lo <= area[2]) & (area[1] <= la) & (la <= area[3])))

        lons, lats = transform(first[1], first[0])
        if lat_column is None or lon_column is None or score(lons, lats) < min(len(keep), 1000) / 2:
            lons2, lats2 = transform(second[1], second[0])
            if score(lons2, lats2) > score(lons, lats):
                lons, lats = lons2, lats2
                xy_named = not xy_named
        if xy_named:
            result.warnings.append(("upload.xy_swapped", {}))
    lons, lats = np.asarray(lons, dtype=np.float64), np.asarray(lats, dtype=np.float64)
    w, s_, e, n = JAPAN
    inside = (w <= lons) & (lons <= e) & (s_ <= lats) & (lats <= n)  # also false for NaN / inf
    for k in np.nonzero(~inside)[0].tolist():
        result.add_problem(row_nos[keep[k]], "upload.row_outside", lat=_short(norths[k]), lon=_short(easts[k]))
    good = keep[inside]
    if len(good) == len(row_nos):  # the common case: every row placed
        result.features = PointRows(list(map(str, row_nos)), lons, lats, names, columns,
                                    numbers=np.asarray(row_nos, dtype=np.int64))
    else:
        pick = good.tolist()
        result.features = PointRows([str(row_nos[i]) for i in pick], lons[inside], lats[inside], names,
                                    [[col[i] for i in pick] for col in columns],
                                    numbers=np.asarray(row_nos, dtype=np.int64)[good])
    result.problems.sort(key=lambda p: p.row)
    return result


def _tidy_rows(rows: list[list[str]], row_nos: list[int], width: int):
    """Drop blank rows (they are not counted) and pad short ones."""
    strip = str.strip
    out, nos = [], []
    for row, no in zip(rows, row_nos):
        if not any(map(strip, row)):
            continue
        out.append(row + [""] * (width - len(row)) if len(row) < width else row)
        nos.append(no)
    return out, nos


def _coordinates(raw_lats: list[str], raw_lons: list[str], row_nos: list[int], result: ReadResult):
    """(north values, east values, placed mask) as numpy arrays; rows that cannot be read are
    recorded as problems. Plain decimal numbers are converted in one go; the rest (DMS text,
    blanks, words) one by one."""
    try:
        norths = np.array(raw_lats, dtype=np.float64)
        easts = np.array(raw_lons, dtype=np.float64)
        placed = np.isfinite(norths) & np.isfinite(easts)
        if placed.all():
            return norths, easts, placed
        redo = np.nonzero(~placed)[0].tolist()
    except ValueError:
        norths = np.full(len(raw_lats), np.nan)
        easts = np.full(len(raw_lats), np.nan)
        placed = np.zeros(len(raw_lats), dtype=bool)
        redo = range(len(raw_lats))
    for i in redo:
        raw_lat, raw_lon = raw_lats[i], raw_lons[i]
        try:
            lat, lon = float(raw_lat), float(raw_lon)
            if not (math.isfinite(lat) and math.isfinite(lon)):
                raise ValueError
        except ValueError:
            if not raw_lat.strip() or not raw_lon.strip():
                result.add_problem(row_nos[i], "upload.row_no_coords")
                continue
            lat, lon = parse_coord(raw_lat), parse_coord(raw_lon)
            if lat is None or lon is None:
                result.add_problem(row_nos[i], "upload.row_bad_coords", lat=raw_lat[:40], lon=raw_lon[:40])
                continue
        norths[i], easts[i], placed[i] = lat, lon, True
    return norths, easts, placed


class PointRows(Sequence):
    """The points of a CSV as columns, seen as a sequence of GeoJSON Feature dicts.

    A million-row upload would otherwise build several Python objects per row only to take them
    apart again in the store; `store.uploads.feature_rows` reads the columns directly
    (`properties_json`)."""

    def __init__(self, fids: list[str], lons, lats, names: list[str], columns: list[list[str]], numbers=None):
        self.fids, self.lons, self.lats, self.names, self.columns = fids, lons, lats, names, columns
        self.numbers = numbers  # the fids as an int array (spreadsheet row numbers), when given

    def __len__(self) -> int:
        return len(self.fids)

    def _feature(self, i: int) -> dict:
        return {"type": "Feature", "id": self.fids[i],
                "geometry": {"type": "Point", "coordinates": [float(self.lons[i]), float(self.lats[i])]},
                "properties": {name: col[i] for name, col in zip(self.names, self.columns)}}

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._feature(k) for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._feature(i)

    def __iter__(self):
        return (self._feature(i) for i in range(len(self)))

    def part(self, start: int, stop: int) -> PointRows:
        """Rows start..stop as their own PointRows (the store writes a big file in parts)."""
        return PointRows(self.fids[start:stop], self.lons[start:stop], self.lats[start:stop], self.names,
                         [col[start:stop] for col in self.columns],
                         None if self.numbers is None else self.numbers[start:stop])

    def properties_json(self) -> list[str]:
        """Each row's properties as a JSON object text (what orjson.dumps of the dict gives).

        orjson escapes a whole column in one call; in its output '","' only ever separates two
        strings (a quote inside a value is written \\"), so splitting there gives each value."""
        if not self.names:
            return ["{}"] * len(self)
        escaped = [col if not _NEEDS_ESCAPE.search("".join(col)) else
                   orjson.dumps(col).decode()[2:-2].split('","') if col else [] for col in self.columns]
        if any(len(e) != len(c) for e, c in zip(escaped, self.columns)):  # cannot happen; stay correct if it does
            return [orjson.dumps(f["properties"]).decode() for f in self]
        keys = [orjson.dumps(name).decode() for name in self.names]
        pieces: list = []
        for n, (key, values) in enumerate(zip(keys, escaped)):
            pieces += [("{" if n == 0 else '",') + key + ':"', values]
        return _interleave(pieces + ['"}'], len(self))

    def geometry_json(self, decimals: int) -> tuple[list[str], list[float], list[float]]:
        """Each point as GeoJSON text, rounded to decimals, with the rounded lons and lats."""
        lons = np.round(np.asarray(self.lons, dtype=np.float64), decimals).tolist()
        lats = np.round(np.asarray(self.lats, dtype=np.float64), decimals).tolist()
        # orjson writes each float's shortest form, a million at a time
        xs = orjson.dumps(lons).decode()[1:-1].split(",") if lons else []
        ys = orjson.dumps(lats).decode()[1:-1].split(",") if lats else []
        return _interleave(['{"type":"Point","coordinates":[', xs, ",", ys, "]}"], len(self)), lons, lats


_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\]')  # what JSON strings must escape (orjson escapes no more)


def _interleave(pieces: list, n: int) -> list[str]:
    """n strings, the i-th made of each piece in turn: a str as it is, a list by its i-th item.

    Everything happens in C (slice assignment, one join, one split) rather than one Python
    expression per row. The pieces must not contain a raw newline (JSON text never does)."""
    if n == 0:
        return []
    pieces = pieces[:-1] + [pieces[-1] + "\n"]
    m = len(pieces)
    flat: list = [None] * (n * m)
    for j, piece in enumerate(pieces):
        flat[j::m] = [piece] * n if isinstance(piece, str) else piece
    return "".join(flat).split("\n")[:-1]


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
