"""The GeoJSON reader: the real file, and an old-style `crs` member in plane-rectangular metres."""
from __future__ import annotations

import orjson
import pytest

from sources.readers import read_upload
from tests.upload_files import GEOJSON, real_rows, to_crs


def test_real_geojson():
    r = read_upload(GEOJSON.read_bytes(), "x.geojson")
    assert r.format == "geojson" and len(r.features) == 22 and r.crs == 4326
    assert all(f["properties"]["市町"] == "羽咋市" for f in r.features)


def test_geojson_with_crs_member_in_zone_vii():
    rows = real_rows()[:3]
    pts = to_crs(6675, rows)
    doc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::6675"}},
           "features": [{"type": "Feature", "properties": {"名称": x["名称"]},
                         "geometry": {"type": "Point", "coordinates": [e, n]}} for x, (e, n) in zip(rows, pts)]}
    r = read_upload(orjson.dumps(doc))
    assert r.crs == 6675 and r.crs_from == "file"
    expected = [float(rows[0]["経度"]), float(rows[0]["緯度"])]
    assert r.features[0]["geometry"]["coordinates"] == pytest.approx(expected, abs=1e-6)
