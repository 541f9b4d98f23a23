"""The readers' registry: the format is judged from the bytes, never from the name, and each format
has its reader; options that apply to every reader (the CRS) are checked once."""
from __future__ import annotations

import io
import zipfile

import pytest

from sources import readers
from sources.readers import READERS, ReadOptions, ReadResult, UploadError, read_upload, register, sniff
from tests.upload_files import BOM, CP932, ENTITY_DOC, GEOJSON, KML, my_maps_kml, real_rows


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


def test_bad_crs_is_a_400():
    with pytest.raises(UploadError) as exc:
        read_upload(BOM.read_bytes(), crs="EPSG:99999999")
    assert exc.value.status == 400 and exc.value.code == "bad_crs"


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


def test_every_format_sniff_names_has_its_reader():
    assert set(READERS) == {"csv", "geojson", "kml", "kmz", "gpx", "shapefile", "gpkg"}
    for fmt, reader in READERS.items():
        assert fmt in reader.FORMATS and callable(reader.read)


def test_a_registered_reader_reads_its_format(monkeypatch):
    class Marks:
        FORMATS = ("csv",)

        @staticmethod
        def read(raw: bytes, fmt: str, options: ReadOptions) -> ReadResult:
            return ReadResult(format=fmt, features=[{"type": "Feature", "id": "1", "properties": {},
                                                     "geometry": {"type": "Point", "coordinates": [136.6, 36.5]}}],
                              columns=[], total=1, crs=options.crs)

    monkeypatch.setattr(readers, "READERS", dict(READERS))
    register(Marks)
    r = read_upload(b"a,b\n1,2\n", crs="EPSG:6668")
    assert r.crs == 6668 and r.geometry_types == ["Point"] and len(r.features) == 1
