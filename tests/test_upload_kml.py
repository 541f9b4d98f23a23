"""The KML/KMZ reader: the real files, Google My Maps' KMZ shape, HTML descriptions as text, and
XML that is refused (DTDs and entities wherever they stand, in UTF-8 and UTF-16; broken XML)."""
from __future__ import annotations

import io
import zipfile

import pytest

from sources.readers import UploadError, read_upload
from sources.readers.kml import read_kml
from sources.readers.xml_text import html_to_text
from tests.upload_files import BOM, ENTITY_DOC, KML, POLYGONS, by_name, kmz, my_maps_kml, real_rows


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


def test_dtd_after_a_long_comment_is_refused_by_the_parser():
    """A scan of the first bytes missed a DTD behind 64 KB of comment; the parser meets it anywhere."""
    doc = ENTITY_DOC.format(enc="UTF-8", pad="<!--" + "x" * 70000 + "-->\n").encode()
    for raw, name in ((kmz(doc), "long.kmz"), (doc, "long.kml")):
        with pytest.raises(UploadError) as exc:
            read_kml(raw, name[-3:])
        assert (exc.value.status, exc.value.code, exc.value.message_key) == (422, "bad_kml", "upload.xml_dtd")
        assert exc.value.fmt["line"] == 3 and exc.value.details == [{"line": 3}]
    with pytest.raises(UploadError) as exc:
        read_upload(kmz(doc), "long.kmz")
    assert exc.value.message_key == "upload.xml_dtd"


def test_utf16_kml_inside_a_kmz_with_a_dtd_is_refused():
    doc = ("\ufeff" + ENTITY_DOC.format(enc="UTF-16", pad="")).encode("utf-16-le")
    with pytest.raises(UploadError) as exc:
        read_upload(kmz(doc), "utf16.kmz")
    assert exc.value.message_key == "upload.xml_dtd" and exc.value.fmt["line"] == 2


def test_utf16_kml_inside_a_kmz_without_a_dtd_is_read():
    rows = real_rows()[:3]
    doc = my_maps_kml(rows).replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    r = read_upload(kmz(doc), "utf16.kmz")
    assert len(r.features) == 3 and r.features[0]["properties"]["name"] == rows[0]["名称"]


def test_broken_xml_names_the_line():
    with pytest.raises(UploadError) as exc:
        read_upload(b'<?xml version="1.0"?>\n<kml>\n<Document>\n<Placemark></Document>\n</kml>', "broken.kml")
    assert exc.value.message_key == "upload.bad_xml" and exc.value.fmt["line"] == 4


def test_html_to_text():
    assert html_to_text("a<br>b<script>alert(1)</script><p>c &amp; d</p>") == "a\nb\nc & d"
