"""The real upload files of tests/fixtures/uploads and shapes built from their rows, for the
tests of each upload reader (tests/test_upload_*.py)."""
from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from pyproj import Transformer

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


def dms(v: float, style: str) -> str:
    d = int(v)
    m = int((v - d) * 60)
    s = (v - d - m / 60) * 3600
    if style == "symbols":
        return f"{d}°{m}'{s:.3f}\""
    if style == "kanji":
        return f"{d}度{m}分{s:.3f}秒"
    return f"{d}:{m}:{s:.3f}"


def to_crs(epsg: int, rows):
    tr = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    return [tr.transform(float(x["経度"]), float(x["緯度"])) for x in rows]


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


def kmz(doc: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", doc)
    return buf.getvalue()


ENTITY_DOC = ('<?xml version="1.0" encoding="{enc}"?>\n{pad}<!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa">'
              '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
              '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>&b;</name>'
              '<Point><coordinates>136.6,36.5</coordinates></Point></Placemark></Document></kml>')


def zip_of(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()
