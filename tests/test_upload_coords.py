"""Coordinates as office files write them (decimal, DMS with every common mark) and CRS names."""
from __future__ import annotations

import pytest

from sources.readers.coords import parse_coord, resolve_crs


def test_parse_coord():
    assert parse_coord("N36°34'12\"") == pytest.approx(36.57)
    assert parse_coord("北緯36度34分12秒") == pytest.approx(36.57)
    assert parse_coord("136度45分") == pytest.approx(136.75)
    assert parse_coord("-12.5") == -12.5 and parse_coord("３６．５") == 36.5
    assert parse_coord("abc") is None and parse_coord("36度61分") is None and parse_coord("") is None
    assert parse_coord("136°45′0″W") == pytest.approx(-136.75) and parse_coord("36°61′0″") is None


NOTO = 36 + 53 / 60 + 37.0 / 3600  # 36°53′37.0″


@pytest.mark.parametrize("text", [
    "36°53′37.0″",  # typographic primes, as spreadsheets and city pages print them (NFKC: ″ -> ′′)
    "36°53'37.0\"",  # ASCII apostrophe and quote
    "36°53'37.0''",  # two apostrophes for seconds
    "36°53′37.0′′",  # two primes written by hand
    "36°53’37.0”",  # curly quotes from a word processor's autocorrect
    "36度53分37.0秒",
    "36 度 53 分 37.0 秒",
    "36° 53′ 37.0″",
    "36 ° 53 ′ 37.0 ″",
    "３６°５３′３７．０″",  # full-width digits
    "３６度５３分３７．０秒",
    "３６°５３＇３７．０＂",  # full-width apostrophe and quote
    "36º53′37.0″",  # ordinal indicator for the degree sign (NFKC: "o")
    "36˚53′37.0″",  # ring above (NFKC: a space and a combining ring)
    "N36°53′37.0″",
    "36°53′37.0″N",
    "北緯36°53′37.0″",
    "北緯３６度５３分３７．０秒",
])
def test_dms_with_every_common_mark(text):
    assert parse_coord(text) == pytest.approx(NOTO, abs=1e-9)


def test_crs_names():
    assert resolve_crs("urn:ogc:def:crs:EPSG::6675") == 6675 and resolve_crs("OGC:CRS84") == 4326
    assert resolve_crs("EPSG:6675") == resolve_crs("6675") == resolve_crs(6675) == 6675
    assert resolve_crs(None) is None
    with pytest.raises(ValueError):
        resolve_crs("EPSG:99999999")
