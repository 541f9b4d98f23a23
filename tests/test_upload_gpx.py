"""The GPX reader: waypoints and tracks, and GPX with a DTD refused."""
from __future__ import annotations

import pytest

from sources.readers import UploadError, read_upload
from sources.readers.gpx import read_gpx
from tests.upload_files import real_rows


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


def test_gpx():
    rows = real_rows()[:4]
    pts = "".join(f'<wpt lat="{x["緯度"]}" lon="{x["経度"]}"><name>{x["名称"]}</name></wpt>' for x in rows)
    trk = "".join(f'<trkpt lat="{x["緯度"]}" lon="{x["経度"]}"/>' for x in rows)
    gpx = f'<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">{pts}<trk><name>巡回</name><trkseg>{trk}</trkseg></trk></gpx>'
    r = read_upload(gpx.encode(), "track.xml")
    assert r.format == "gpx" and len(r.features) == 5
    assert r.features[0]["properties"]["name"] == rows[0]["名称"]
    assert r.features[-1]["geometry"]["type"] == "LineString" and len(r.features[-1]["geometry"]["coordinates"]) == 4
