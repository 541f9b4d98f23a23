"""The CSV reader: the real files, and the shapes staff really send (coordinate columns by name or
chosen, DMS text, full-width digits, plane-rectangular metres, old datums, unplaceable rows)."""
from __future__ import annotations

import pytest

from sources.readers import UploadError, read_upload
from sources.readers.points import PointRows
from tests.upload_files import BOM, CP932, csv_bytes, dms, real_rows, to_crs


@pytest.mark.parametrize("path,encoding", [(CP932, "cp932"), (BOM, "utf-8-sig")])
def test_real_csv_files(path, encoding):
    r = read_upload(path.read_bytes(), path.name)
    assert r.format == "csv" and r.encoding == encoding
    assert (r.lat_column, r.lon_column) == ("緯度", "経度")
    assert len(r.features) == 251 and r.problem_count == 0 and r.total == 251
    assert r.columns == ["市町", "医療圏", "名称", "所在地"]
    first = r.features[0]
    assert first["properties"]["名称"] == "能越道大泊IC除雪車回転場"
    assert first["geometry"]["coordinates"] == pytest.approx([137.0476358, 36.97128273], abs=1e-6)
    assert first["id"] == "2"  # spreadsheet row (header = row 1)


def test_cp932_and_bom_files_read_the_same():
    a, b = read_upload(CP932.read_bytes()), read_upload(BOM.read_bytes())
    assert [f["properties"] for f in a.features] == [f["properties"] for f in b.features]


def test_unplaceable_rows_are_listed_with_row_number_and_reason():
    rows = real_rows()[:5]
    data = [[r["名称"], r["緯度"], r["経度"]] for r in rows]
    data[1][1] = ""  # row 3: empty latitude
    data[2][2] = "不明"  # row 4: not a number
    data[3][1], data[3][2] = data[3][2], data[3][1]  # row 5: swapped -> outside Japan
    r = read_upload(csv_bytes(["名称", "緯度", "経度"], data))
    assert len(r.features) == 2 and r.problem_count == 3 and r.total == 5
    assert [(p.row, p.key) for p in r.problems] == [
        (3, "upload.row_no_coords"), (4, "upload.row_bad_coords"), (5, "upload.row_outside")]
    assert "不明" in r.problems[1].text("ja") and "outside Japan" in r.problems[2].text("en")


@pytest.mark.parametrize("lat_name,lon_name", [("lat", "lon"), ("Latitude", "Longitude"), ("y", "x"),
                                               ("緯度(世界測地系)", "経度(世界測地系)"), ("LAT", "LNG")])
def test_coordinate_columns_found_by_name(lat_name, lon_name):
    rows = real_rows()[:3]
    r = read_upload(csv_bytes(["名称", lon_name, lat_name], [[x["名称"], x["経度"], x["緯度"]] for x in rows]))
    assert (r.lat_column, r.lon_column) == (lat_name, lon_name)
    assert r.features[0]["geometry"]["coordinates"] == pytest.approx([float(rows[0]["経度"]), float(rows[0]["緯度"])])


def test_coordinate_columns_can_be_chosen():
    rows = real_rows()[:3]
    data = csv_bytes(["名称", "北", "東"], [[x["名称"], x["緯度"], x["経度"]] for x in rows])
    with pytest.raises(UploadError) as exc:
        read_upload(data)
    assert exc.value.status == 422 and exc.value.code == "no_coordinate_columns"
    assert exc.value.details == [{"columns": ["名称", "北", "東"]}]
    r = read_upload(data, lat_column="北", lon_column="東")
    assert len(r.features) == 3
    with pytest.raises(UploadError) as exc:
        read_upload(data, lat_column="nope", lon_column="東")
    assert exc.value.code == "column_not_found"


@pytest.mark.parametrize("style", ["symbols", "kanji", "colons"])
def test_dms_text(style):
    rows = real_rows()[:4]
    data = [[x["名称"], dms(float(x["緯度"]), style), dms(float(x["経度"]), style)] for x in rows]
    r = read_upload(csv_bytes(["名称", "緯度", "経度"], data))
    assert r.problem_count == 0
    for f, x in zip(r.features, rows):
        assert f["geometry"]["coordinates"] == pytest.approx([float(x["経度"]), float(x["緯度"])], abs=1e-6)


def test_full_width_digits_and_shift_jis():
    to_wide = str.maketrans("0123456789.", "０１２３４５６７８９．")
    rows = real_rows()[:3]
    data = [[x["名称"], x["緯度"].translate(to_wide), x["経度"].translate(to_wide)] for x in rows]
    r = read_upload(csv_bytes(["名称", "緯度", "経度"], data, "cp932"))
    assert r.encoding == "cp932" and r.problem_count == 0
    assert r.features[0]["geometry"]["coordinates"] == pytest.approx([float(rows[0]["経度"]), float(rows[0]["緯度"])])


def test_dms_with_typographic_marks_in_a_csv():
    rows = real_rows()[:3]

    def typo(v: float) -> str:
        return dms(v, "symbols").replace("'", "′").replace('"', "″")

    data = [[x["名称"], typo(float(x["緯度"])), typo(float(x["経度"]))] for x in rows]
    for encoding in ("utf-8", "utf-8-sig", "cp932"):  # Shift_JIS has ′ and ″ too
        r = read_upload(csv_bytes(["名称", "緯度", "経度"], data, encoding))
        assert r.encoding == encoding and r.problem_count == 0 and len(r.features) == 3
        for f, x in zip(r.features, rows):
            assert f["geometry"]["coordinates"] == pytest.approx([float(x["経度"]), float(x["緯度"])], abs=1e-6)


def test_plane_rectangular_zone_vii_x_points_north():
    rows = real_rows()[:20]
    pts = to_crs(6675, rows)  # (easting, northing)
    # Japanese survey convention: X座標 = northing, Y座標 = easting
    data = [[x["名称"], f"{n:.3f}", f"{e:.3f}"] for x, (e, n) in zip(rows, pts)]
    r = read_upload(csv_bytes(["名称", "X座標", "Y座標"], data), crs="EPSG:6675")
    assert r.crs == 6675 and r.crs_from == "user" and r.problem_count == 0
    assert ("upload.xy_swapped", {}) in r.warnings  # X/Y names mean north/east here
    for f, x in zip(r.features, rows):
        assert f["geometry"]["coordinates"] == pytest.approx([float(x["経度"]), float(x["緯度"])], abs=1e-6)
    # the same numbers without a chosen CRS: zone VII is assumed, and said so
    r2 = read_upload(csv_bytes(["名称", "X座標", "Y座標"], data))
    assert r2.crs == 6675 and r2.warnings[0][0] == "upload.crs_guessed"
    assert r2.features[0]["geometry"]["coordinates"] == pytest.approx(r.features[0]["geometry"]["coordinates"])
    # chosen columns: lat_column is the north-south one
    r3 = read_upload(csv_bytes(["名称", "北", "東"], data), crs="6675", lat_column="北", lon_column="東")
    assert r3.features[0]["geometry"]["coordinates"] == pytest.approx(r.features[0]["geometry"]["coordinates"])
    assert not r3.warnings


@pytest.mark.parametrize("epsg", [4301, 4612, 6668])
def test_geographic_datums(epsg):
    rows = real_rows()[:5]
    pts = to_crs(epsg, rows)
    data = [[x["名称"], f"{lat:.9f}", f"{lon:.9f}"] for x, (lon, lat) in zip(rows, pts)]
    r = read_upload(csv_bytes(["名称", "緯度", "経度"], data), crs=f"EPSG:{epsg}")
    for f, x in zip(r.features, rows):
        assert f["geometry"]["coordinates"] == pytest.approx([float(x["経度"]), float(x["緯度"])], abs=2e-6)
    if epsg == 4301:  # Tokyo Datum differs by ~400 m: the numbers really moved
        assert abs(pts[0][1] - float(rows[0]["緯度"])) > 0.002


def test_csv_properties_json_matches_orjson_for_awkward_values():
    import orjson

    values = ['a","b', 'ends with \\', '"', '","', "", "改行\nあり", "タブ\tと%s", "\x01", "😀", 'x\\","y']
    names = ["名称", 'we"ird', "%d"]
    columns = [values, list(reversed(values)), [str(i) for i in range(len(values))]]
    points = PointRows([str(i) for i in range(len(values))], [136.5] * len(values), [36.5] * len(values),
                       names, columns)
    expected = [orjson.dumps({n: col[i] for n, col in zip(names, columns)}).decode() for i in range(len(values))]
    assert points.properties_json() == expected
    assert [orjson.loads(t) for t in points.properties_json()] == [f["properties"] for f in points]
    assert PointRows(["1"], [136.5], [36.5], [], []).properties_json() == ["{}"]
