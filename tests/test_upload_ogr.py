"""The Shapefile (zipped) and GeoPackage reader (GDAL through pyogrio)."""
from __future__ import annotations

import io
import zipfile

import pytest

from sources.readers import read_upload
from tests.upload_files import real_rows


def _gdf(n=10, crs="EPSG:4326"):
    import geopandas as gpd
    from shapely.geometry import Point

    rows = real_rows()[:n]
    gdf = gpd.GeoDataFrame({"名称": [x["名称"] for x in rows], "市町": [x["市町"] for x in rows]},
                           geometry=[Point(float(x["経度"]), float(x["緯度"])) for x in rows], crs="EPSG:4326")
    return gdf.to_crs(crs), rows


@pytest.mark.parametrize("encoding", ["cp932", "utf-8"])
def test_zipped_shapefile_in_zone_vii(tmp_path, encoding):
    import pyogrio

    gdf, rows = _gdf(10, "EPSG:6675")
    pyogrio.write_dataframe(gdf, tmp_path / "points.shp", encoding=encoding)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in tmp_path.glob("points.*"):
            if p.suffix != ".cpg":  # Japanese office files often come without .cpg
                zf.write(p, f"data/{p.name}")
    r = read_upload(buf.getvalue(), "points.zip")
    assert r.format == "shapefile" and r.crs == 6675 and r.crs_from == "file" and len(r.features) == 10
    assert r.features[0]["properties"]["名称"] == rows[0]["名称"]
    expected = [float(rows[0]["経度"]), float(rows[0]["緯度"])]
    assert r.features[0]["geometry"]["coordinates"] == pytest.approx(expected, abs=1e-6)


def test_geopackage(tmp_path):
    import pyogrio

    gdf, rows = _gdf(7, "EPSG:6668")
    pyogrio.write_dataframe(gdf, tmp_path / "p.gpkg", layer="ランデブー")
    r = read_upload((tmp_path / "p.gpkg").read_bytes(), "p.bin")
    assert r.format == "gpkg" and len(r.features) == 7 and r.crs == 6668
    assert r.features[3]["properties"]["市町"] == rows[3]["市町"]
