"""Coordinates as Japanese office files write them, and the CRSs they use.

- `parse_coord(text)`: decimal degrees or degrees-minutes-seconds text (`36°34'12.3"`, `36°34′12.3″` with
  the typographic primes spreadsheets and city pages print, `36°34’12.3”` with curly quotes,
  `36度34分12.3秒`, `N36 34 12.3`, `北緯36度34分`, `36:34:12`), with or without spaces, full-width digits
  and marks accepted; None when not a number.
- `CRS_CHOICES`: the CRSs offered to staff (WGS84, JGD2011, JGD2000, Tokyo Datum and the 19
  plane-rectangular zones of each datum); `resolve_crs(text)` accepts "EPSG:6675", "6675",
  URNs and OGC CRS84, and raises ValueError for anything pyproj does not know.
- Japanese plane-rectangular zones have their X axis pointing NORTH (X = northing, Y = easting):
  readers must pass (easting, northing) = (Y, X) to `to_wgs84`.
- `to_wgs84(epsg)`: a vectorisable function (xs, ys) -> (lons, lats) with always_xy order.
"""
from __future__ import annotations

import re
from functools import lru_cache

from sources.text import nfkc

# Japan with a margin: anything outside is a typo, swapped columns or a wrong CRS
JAPAN = (122.0, 20.0, 154.0, 46.0)

ZONES = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV",
         "XVI", "XVII", "XVIII", "XIX"]
# first EPSG code of zone I for each datum (zones are consecutive)
ZONE_BASE = {"JGD2011": 6669, "JGD2000": 2443, "Tokyo": 30161}

CRS_CHOICES: list[tuple[int, str]] = [
    (4326, "WGS84 (EPSG:4326)"),
    (6668, "JGD2011 (EPSG:6668)"),
    (4612, "JGD2000 (EPSG:4612)"),
    (4301, "Tokyo Datum / 日本測地系 (EPSG:4301)"),
] + [
    (base + i, f"{datum} 平面直角座標系 {zone}系 (EPSG:{base + i})")
    for datum, base in ZONE_BASE.items() for i, zone in enumerate(ZONES)
]


def is_geographic(epsg: int | None) -> bool:
    return epsg in (None, 4326, 6668, 4612, 4301, 4019, 4258) or (epsg is not None and _pyproj_geographic(epsg))


@lru_cache(maxsize=64)
def _pyproj_geographic(epsg: int) -> bool:
    from pyproj import CRS

    return CRS.from_epsg(epsg).is_geographic


def resolve_crs(text: str | int | None) -> int | None:
    """An EPSG code from what a user or a file says; None for "not given"."""
    if text is None:
        return None
    if isinstance(text, int):
        value = str(text)
    else:
        value = nfkc(str(text))
    if not value:
        return None
    low = value.lower()
    if "crs84" in low or low in ("wgs84", "wgs 84"):
        return 4326
    m = re.search(r"(?:epsg\D{0,4})?(\d{4,5})\s*$", value, re.I)
    if not m:
        raise ValueError(value)
    code = int(m.group(1))
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        CRS.from_epsg(code)
    except CRSError:
        raise ValueError(value) from None
    return code


@lru_cache(maxsize=64)
def _transformer(epsg: int):
    from pyproj import Transformer

    return Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True)


def to_wgs84(epsg: int | None):
    """(xs, ys) -> (lons, lats); identity for WGS84 (and None). Projected input: (easting, northing)."""
    if epsg in (None, 4326):
        return lambda xs, ys: (xs, ys)
    tr = _transformer(epsg)
    return lambda xs, ys: tr.transform(xs, ys)


@lru_cache(maxsize=64)
def area_of_use(epsg: int) -> tuple[float, float, float, float]:
    """Where a CRS is meant to be used (lon/lat bounds), with a small margin; Japan when unknown."""
    from pyproj import CRS

    area = CRS.from_epsg(epsg).area_of_use
    if area is None:
        return JAPAN
    w, s, e, n = area.bounds
    return w - 0.2, s - 0.2, e + 0.2, n + 0.2


def in_japan(lon: float, lat: float) -> bool:
    return JAPAN[0] <= lon <= JAPAN[2] and JAPAN[1] <= lat <= JAPAN[3]


_DMS = re.compile(
    r"^\s*(?P<h1>[NSEW北南東西]|北緯|南緯|東経|西経)?\s*"
    r"(?P<d>\d+(?:\.\d+)?)\s*(?:°|度|:|\s|d)\s*"
    r"(?:(?P<m>\d+(?:\.\d+)?)\s*(?:'|′|分|:|\s|m)?\s*)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)\s*(?:\"|″|''|秒|s)?\s*)?"
    r"(?P<h2>[NSEW北南東西])?\s*$", re.I)


# The marks people write for degrees, minutes and seconds, to the ASCII ones the pattern reads. Done
# before NFKC, which would turn ″ into two primes, º into "o" and ˚ or ´ into a space and a combining
# mark; ″ may still arrive as two primes (or two apostrophes) written by hand, handled after it.
_MARKS = str.maketrans({
    "º": "°", "˚": "°", "∘": "°", "゜": "°",  # ordinal indicator, ring above, ring operator, handakuten
    "′": "'", "’": "'", "‘": "'", "´": "'", "`": "'", "＇": "'", "ʹ": "'", "‵": "'",
    "″": '"', "”": '"', "“": '"', "＂": '"', "ʺ": '"', "〃": '"', "‶": '"',
})


def _dms_text(value: str) -> str:
    text = nfkc(value.translate(_MARKS)).translate(_MARKS)
    return text.replace("''", '"').replace(",", "").replace("−", "-").replace("ー", "-")


def parse_coord(value: str | float | int | None) -> float | None:
    """A coordinate in decimal degrees (or the plain number for projected values)."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        v = float(value)
        return v if v == v and abs(v) != float("inf") else None
    text = _dms_text(value)
    if not text:
        return None
    try:
        v = float(text)
        return v if v == v and abs(v) != float("inf") else None
    except ValueError:
        pass
    sign = 1.0
    if text.startswith("-"):
        sign, text = -1.0, text[1:]
    m = _DMS.match(text)
    if not m or (m.group("m") is None and m.group("s") is None and not re.search(r"[°度]", text)):
        return None
    deg = float(m.group("d"))
    minutes = float(m.group("m") or 0)
    seconds = float(m.group("s") or 0)
    if minutes >= 60 or seconds >= 60:
        return None
    hemi = (m.group("h1") or m.group("h2") or "").upper()
    if hemi in ("S", "W", "南", "西", "南緯", "西経"):
        sign = -sign
    return sign * (deg + minutes / 60.0 + seconds / 3600.0)
