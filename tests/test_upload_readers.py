"""Readers of uploaded files: the real files in tests/fixtures/uploads, and shapes built
from their rows (plane-rectangular coordinates, DMS text, KMZ, GPX, Shapefile, GeoPackage, bombs)."""
from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from pyproj import Transformer

from sources.archive import ArchiveError, Limits, read_entries
from sources.coords import parse_coord, resolve_crs
from sources.gpx import read_gpx
from sources.kml import html_to_text, read_kml
from sources.upload import UploadError, read_upload, sniff

FIX = Path(__file__).parent / "fixtures" / "uploads"
CP932 = FIX / "ishikawa_noto_doctorheli_rendezvous_cp932.csv"
BOM = FIX / "ishikawa_noto_doctorheli_rendezvous_utf8bom.csv"
KML = FIX / "ishikawa_noto_doctorheli_rendezvous.kml"
GEOJSON = FIX / "hakui_doctorheli_rendezvous.geojson"
POLYGONS = FIX / "gsi_tsunami_inundation_nanao_20240118_polygons.kml"


def real_rows() -> list[dict]:
    return list(csv.DictReader(io.StringIO(BOM.read_text(encoding="utf-8-sig"))))


def csv_bytes(header: list[str], rows: list[list], encoding="utf-8") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def by_name(result) -> dict[str, list[float]]:
    return {f["properties"]["名称"]: f["geometry"]["coordinates"] for f in result.features}


# --- the real files as they are ---

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


def test_real_kml_with_schema_data_and_folder():
    r = read_upload(KML.read_bytes(), "rendezvous.kml")
    assert r.format == "kml" and len(r.features) == 251 and r.problem_count == 0
    p = r.features[0]["properties"]
    assert p["name"] == "能越道大泊IC除雪車回転場" and p["description"] == "七尾市大泊町"
    assert p["folder"] == "ドクターヘリランデブーポイント" and p["市町"] == "七尾市"
    # same places as the CSV
    csv_points = by_name(read_upload(BOM.read_bytes()))
    kml_points = {f["properties"]["name"]: f["geometry"]["coordinates"] for f in r.features}
    common = set(csv_points) & set(kml_points)
    assert len(common) > 200
    for name in common:
        assert kml_points[name] == pytest.approx(csv_points[name], abs=1e-6)


def test_real_polygon_kml():
    r = read_upload(POLYGONS.read_bytes())
    assert len(r.features) == 33 and r.geometry_types == ["Polygon"]
    minx, miny, maxx, maxy = r.bounds()
    assert 136.6 < minx < maxx < 137.2 and 36.9 < miny < maxy < 37.3  # 能登 (七尾・志賀)


def test_real_geojson():
    r = read_upload(GEOJSON.read_bytes(), "x.geojson")
    assert r.format == "geojson" and len(r.features) == 22 and r.crs == 4326
    assert all(f["properties"]["市町"] == "羽咋市" for f in r.features)


# --- type from content, not from the name ---

def test_type_is_judged_from_content():
    assert sniff(KML.read_bytes()) == "kml"
    assert read_upload(KML.read_bytes(), "looks-like.csv").format == "kml"
    assert read_upload(CP932.read_bytes(), "looks-like.geojson").format == "csv"
    assert read_upload(GEOJSON.read_bytes(), "data.kml").format == "geojson"
    with pytest.raises(UploadError) as exc:
        read_upload(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "map.csv")
    assert exc.value.status == 415
    with pytest.raises(UploadError) as exc:
        read_upload(b"<html><body>hi</body></html>", "x.kml")
    assert exc.value.status == 415
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(UploadError) as exc:
        read_upload(buf.getvalue(), "book.csv")
    assert exc.value.status == 415 and exc.value.message_key == "upload.excel"


# --- CSV shapes staff really send ---

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


def _dms(v: float, style: str) -> str:
    d = int(v)
    m = int((v - d) * 60)
    s = (v - d - m / 60) * 3600
    if style == "symbols":
        return f"{d}°{m}'{s:.3f}\""
    if style == "kanji":
        return f"{d}度{m}分{s:.3f}秒"
    return f"{d}:{m}:{s:.3f}"


@pytest.mark.parametrize("style", ["symbols", "kanji", "colons"])
def test_dms_text(style):
    rows = real_rows()[:4]
    data = [[x["名称"], _dms(float(x["緯度"]), style), _dms(float(x["経度"]), style)] for x in rows]
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


def test_parse_coord():
    assert parse_coord("N36°34'12\"") == pytest.approx(36.57)
    assert parse_coord("北緯36度34分12秒") == pytest.approx(36.57)
    assert parse_coord("136度45分") == pytest.approx(136.75)
    assert parse_coord("-12.5") == -12.5 and parse_coord("３６．５") == 36.5
    assert parse_coord("abc") is None and parse_coord("36度61分") is None and parse_coord("") is None


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


def test_dms_with_typographic_marks_in_a_csv():
    rows = real_rows()[:3]

    def typo(v: float) -> str:
        return _dms(v, "symbols").replace("'", "′").replace('"', "″")

    data = [[x["名称"], typo(float(x["緯度"])), typo(float(x["経度"]))] for x in rows]
    for encoding in ("utf-8", "utf-8-sig", "cp932"):  # Shift_JIS has ′ and ″ too
        r = read_upload(csv_bytes(["名称", "緯度", "経度"], data, encoding))
        assert r.encoding == encoding and r.problem_count == 0 and len(r.features) == 3
        for f, x in zip(r.features, rows):
            assert f["geometry"]["coordinates"] == pytest.approx([float(x["経度"]), float(x["緯度"])], abs=1e-6)
    assert parse_coord("136°45′0″W") == pytest.approx(-136.75) and parse_coord("36°61′0″") is None


def _to(epsg: int, rows):
    tr = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    return [tr.transform(float(x["経度"]), float(x["緯度"])) for x in rows]


def test_plane_rectangular_zone_vii_x_points_north():
    rows = real_rows()[:20]
    pts = _to(6675, rows)  # (easting, northing)
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
    pts = _to(epsg, rows)
    data = [[x["名称"], f"{lat:.9f}", f"{lon:.9f}"] for x, (lon, lat) in zip(rows, pts)]
    r = read_upload(csv_bytes(["名称", "緯度", "経度"], data), crs=f"EPSG:{epsg}")
    for f, x in zip(r.features, rows):
        assert f["geometry"]["coordinates"] == pytest.approx([float(x["経度"]), float(x["緯度"])], abs=2e-6)
    if epsg == 4301:  # Tokyo Datum differs by ~400 m: the numbers really moved
        assert abs(pts[0][1] - float(rows[0]["緯度"])) > 0.002


def test_bad_crs_is_a_400():
    with pytest.raises(UploadError) as exc:
        read_upload(BOM.read_bytes(), crs="EPSG:99999999")
    assert exc.value.status == 400 and exc.value.code == "bad_crs"
    assert resolve_crs("urn:ogc:def:crs:EPSG::6675") == 6675 and resolve_crs("OGC:CRS84") == 4326


def test_geojson_with_crs_member_in_zone_vii():
    rows = real_rows()[:3]
    pts = _to(6675, rows)
    doc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::6675"}},
           "features": [{"type": "Feature", "properties": {"名称": x["名称"]},
                         "geometry": {"type": "Point", "coordinates": [e, n]}} for x, (e, n) in zip(rows, pts)]}
    import orjson

    r = read_upload(orjson.dumps(doc))
    assert r.crs == 6675 and r.crs_from == "file"
    expected = [float(rows[0]["経度"]), float(rows[0]["緯度"])]
    assert r.features[0]["geometry"]["coordinates"] == pytest.approx(expected, abs=1e-6)


# --- KMZ (Google My Maps shape), GPX, Shapefile, GeoPackage ---

def my_maps_kml(rows) -> str:
    marks = "".join(f"""<Placemark><name>{x['名称']}</name>
<description><![CDATA[<b>{x['所在地']}</b><br>医療圏: {x['医療圏']}<script>alert(1)</script>]]></description>
<styleUrl>#icon-1899-0288D1</styleUrl>
<ExtendedData><Data name="市町"><value>{x['市町']}</value></Data></ExtendedData>
<Point><coordinates>{x['経度']},{x['緯度']},0</coordinates></Point></Placemark>""" for x in rows)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>ランデブーポイント</name>
<Style id="icon-1899-0288D1-normal"><IconStyle><Icon><href>https://www.gstatic.com/mapspro/images/stock/503-wht-blank_maps.png</href></Icon></IconStyle></Style>
<Folder><name>能登中部</name>{marks}</Folder></Document></kml>"""


def test_kmz_my_maps_shape():
    rows = real_rows()[:6]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", my_maps_kml(rows))
        zf.writestr("images/icon.png", b"\x89PNG")
    r = read_upload(buf.getvalue(), "mymaps.zip")
    assert r.format == "kmz" and len(r.features) == 6
    p = r.features[0]["properties"]
    assert p["folder"] == "能登中部" and p["市町"] == rows[0]["市町"]
    assert p["description"] == f"{rows[0]['所在地']}\n医療圏: {rows[0]['医療圏']}"  # HTML to text, script dropped
    assert "<" not in p["description"]


def test_kml_with_dtd_is_refused():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b'<kml><Document><name>&b;</name></Document></kml>')
    with pytest.raises(UploadError) as exc:
        read_upload(bomb)
    assert exc.value.message_key == "upload.xml_dtd"


def _kmz(doc: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", doc)
    return buf.getvalue()


ENTITY_DOC = ('<?xml version="1.0" encoding="{enc}"?>\n{pad}<!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa">'
              '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
              '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>&b;</name>'
              '<Point><coordinates>136.6,36.5</coordinates></Point></Placemark></Document></kml>')


def test_dtd_after_a_long_comment_is_refused_by_the_parser():
    """A scan of the first bytes missed a DTD behind 64 KB of comment; the parser meets it anywhere."""
    doc = ENTITY_DOC.format(enc="UTF-8", pad="<!--" + "x" * 70000 + "-->\n").encode()
    for raw, name in ((_kmz(doc), "long.kmz"), (doc, "long.kml")):
        with pytest.raises(UploadError) as exc:
            read_kml(raw, name[-3:])
        assert (exc.value.status, exc.value.code, exc.value.message_key) == (422, "bad_kml", "upload.xml_dtd")
        assert exc.value.fmt["line"] == 3 and exc.value.details == [{"line": 3}]
    with pytest.raises(UploadError) as exc:
        read_upload(_kmz(doc), "long.kmz")
    assert exc.value.message_key == "upload.xml_dtd"


def test_utf16_kml_inside_a_kmz_with_a_dtd_is_refused():
    doc = ("\ufeff" + ENTITY_DOC.format(enc="UTF-16", pad="")).encode("utf-16-le")
    with pytest.raises(UploadError) as exc:
        read_upload(_kmz(doc), "utf16.kmz")
    assert exc.value.message_key == "upload.xml_dtd" and exc.value.fmt["line"] == 2


def test_utf16_kml_inside_a_kmz_without_a_dtd_is_read():
    rows = real_rows()[:3]
    doc = my_maps_kml(rows).replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    r = read_upload(_kmz(doc), "utf16.kmz")
    assert len(r.features) == 3 and r.features[0]["properties"]["name"] == rows[0]["名称"]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_kml_and_gpx_files_are_read_and_their_dtds_refused(codec):
    """Windows tools save "Unicode" text as UTF-16 with a BOM."""
    rows = real_rows()[:3]
    kml = "\ufeff" + my_maps_kml(rows).replace('encoding="UTF-8"', 'encoding="UTF-16"')
    r = read_upload(kml.encode(codec), "unicode.kml")
    assert r.format == "kml" and len(r.features) == 3
    gpx = ('\ufeff<?xml version="1.0" encoding="UTF-16"?><gpx version="1.1"><wpt lat="36.5" lon="136.6">'
           '<name>能登</name></wpt></gpx>')
    r = read_upload(gpx.encode(codec), "unicode.gpx")
    assert r.format == "gpx" and r.features[0]["properties"]["name"] == "能登"
    with pytest.raises(UploadError) as exc:
        read_upload(("\ufeff" + ENTITY_DOC.format(enc="UTF-16", pad="")).encode(codec), "unicode.kml")
    assert exc.value.message_key == "upload.xml_dtd"
    with pytest.raises(UploadError) as exc:  # other UTF-16 text is still not taken
        read_upload("\ufeff名称,緯度,経度\na,36.5,136.6\n".encode(codec), "unicode.csv")
    assert exc.value.status == 415


@pytest.mark.parametrize("doc", [
    # external entity: a local file would be read into the layer
    b'<?xml version="1.0"?><!DOCTYPE gpx SYSTEM "file:///etc/passwd"><gpx><wpt lat="36.5" lon="136.6"/></gpx>',
    b'<?xml version="1.0"?><!--' + b"x" * 66000 + b'-->\n<!DOCTYPE gpx [<!ENTITY e SYSTEM "file:///etc/hostname">]>'
    b'<gpx><wpt lat="36.5" lon="136.6"><name>&e;</name></wpt></gpx>',
])
def test_gpx_with_a_dtd_is_refused(doc):
    with pytest.raises(UploadError) as exc:
        read_gpx(doc)
    assert (exc.value.code, exc.value.message_key) == ("bad_gpx", "upload.xml_dtd")


def test_broken_xml_names_the_line():
    with pytest.raises(UploadError) as exc:
        read_upload(b'<?xml version="1.0"?>\n<kml>\n<Document>\n<Placemark></Document>\n</kml>', "broken.kml")
    assert exc.value.message_key == "upload.bad_xml" and exc.value.fmt["line"] == 4


def test_html_to_text():
    assert html_to_text("a<br>b<script>alert(1)</script><p>c &amp; d</p>") == "a\nb\nc & d"


def test_gpx():
    rows = real_rows()[:4]
    pts = "".join(f'<wpt lat="{x["緯度"]}" lon="{x["経度"]}"><name>{x["名称"]}</name></wpt>' for x in rows)
    trk = "".join(f'<trkpt lat="{x["緯度"]}" lon="{x["経度"]}"/>' for x in rows)
    gpx = f'<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">{pts}<trk><name>巡回</name><trkseg>{trk}</trkseg></trk></gpx>'
    r = read_upload(gpx.encode(), "track.xml")
    assert r.format == "gpx" and len(r.features) == 5
    assert r.features[0]["properties"]["name"] == rows[0]["名称"]
    assert r.features[-1]["geometry"]["type"] == "LineString" and len(r.features[-1]["geometry"]["coordinates"]) == 4


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


# --- archives are bounded ---

def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_bomb_ratio_is_refused():
    bomb = _zip({"doc.kml": b"<kml>" + b" " * (20 * 1024 * 1024) + b"</kml>"})
    assert len(bomb) < 100_000
    with pytest.raises(UploadError) as exc:
        read_upload(bomb, "bomb.kmz")
    assert exc.value.status == 422 and exc.value.message_key == "upload.zip_ratio"


def test_zip_bounds_on_count_and_size():
    many = _zip({f"f{i}.kml": b"<kml/>" for i in range(300)})
    with pytest.raises(UploadError) as exc:
        read_upload(many)
    assert exc.value.message_key == "upload.zip_too_many"
    with pytest.raises(ArchiveError) as exc:
        read_entries(_zip({"a.kml": b"x" * 5000}), lambda n: True, Limits(max_total=1000))
    assert exc.value.message_key == "upload.zip_too_big"


def test_zip_sizes_are_checked_while_reading_not_trusted():
    data = _zip({"doc.kml": b"<kml>" + b" " * 3_000_000 + b"</kml>"})
    # the header claims what it claims; reading stops at the bound all the same
    with pytest.raises(ArchiveError):
        read_entries(data, lambda n: True, Limits(max_ratio=10, max_total=10**9))


def test_zip_names_may_not_leave_the_archive():
    with pytest.raises(UploadError) as exc:
        read_upload(_zip({"../../evil.kml": b"<kml/>"}))
    assert exc.value.message_key == "upload.zip_bad_name"


def test_csv_properties_json_matches_orjson_for_awkward_values():
    import orjson

    from sources.upload import PointRows

    values = ['a","b', 'ends with \\', '"', '","', "", "改行\nあり", "タブ\tと%s", "\x01", "😀", 'x\\","y']
    names = ["名称", 'we"ird', "%d"]
    columns = [values, list(reversed(values)), [str(i) for i in range(len(values))]]
    points = PointRows([str(i) for i in range(len(values))], [136.5] * len(values), [36.5] * len(values),
                       names, columns)
    expected = [orjson.dumps({n: col[i] for n, col in zip(names, columns)}).decode() for i in range(len(values))]
    assert points.properties_json() == expected
    assert [orjson.loads(t) for t in points.properties_json()] == [f["properties"] for f in points]
    assert PointRows(["1"], [136.5], [36.5], [], []).properties_json() == ["{}"]
