"""CSV: UTF-8, UTF-8 with BOM or CP932; comma, tab or semicolon; the coordinate columns found by
name (緯度/経度, lat/lon, latitude/longitude, y/x, X座標/Y座標 …) or chosen by staff; decimal degrees,
DMS text or plane-rectangular metres (X points north — see `sources/readers/coords.py`).

Rows are read a column at a time (a million rows cost what their per-row Python work costs) and
come out as `PointRows`, which the store writes without building a dict per row.
"""
from __future__ import annotations

import csv
import io
import math
from operator import itemgetter

import numpy as np

from sources.readers.base import ReadOptions, ReadResult, UploadError
from sources.readers.coords import JAPAN, area_of_use, is_geographic, parse_coord, to_wgs84
from sources.readers.points import PointRows
from sources.text import decode_text, nfkc

FORMATS = ("csv",)

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



def _short(v: float) -> str:
    return f"{v:.6f}".rstrip("0").rstrip(".")


def read(raw: bytes, fmt: str, options: ReadOptions) -> ReadResult:
    return read_csv(raw, options.crs, options.lat_column, options.lon_column)
