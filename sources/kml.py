"""KML and KMZ: placemarks with ExtendedData (Data/value and SchemaData/SimpleData), folders,
points, lines, polygons, MultiGeometry and gx:Track, as Google My Maps and GDAL write them.

Descriptions are often HTML: they become plain text here (line breaks kept), and like every other
value they are escaped again wherever they are shown. DTDs and entities are refused outright, by
the parser itself (defusedxml): wherever the declaration stands and whatever the encoding.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from sources.archive import read_entries
from sources.upload import ReadResult, UploadError, _unique_ids, check_geometry

BLOCK_TAGS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "table"}


class _TextOnly(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.skip:
            self.skip -= 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_to_text(value: str) -> str:
    """Text of an HTML fragment: tags dropped, scripts and styles dropped, breaks kept."""
    if "<" not in value and "&" not in value:
        return value.strip()
    parser = _TextOnly()
    parser.feed(value)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    return re.sub(r"\s*\n\s*", "\n", text).strip()


def parse_xml(raw: bytes, code: str) -> ET.Element:
    """Parse an uploaded XML file (KML, GPX). The parser refuses any DTD, entity declaration or
    external reference where it meets one (no entity bombs, no file or network reads), in every
    encoding expat reads (UTF-8, UTF-16 with its BOM, …); both refusals name the line."""
    parser = DefusedXMLParser(target=ET.TreeBuilder(), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        parser.feed(raw)
        return parser.close()
    except DefusedXmlException:
        line = parser.parser.CurrentLineNumber
        raise UploadError(422, code, "upload.xml_dtd", [{"line": line}], line=line) from None
    except ET.ParseError as exc:
        raise UploadError(422, code, "upload.bad_xml", [{"line": exc.position[0]}], line=exc.position[0]) from None


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(el, name):
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _text(el, name) -> str:
    c = _child(el, name)
    return (c.text or "").strip() if c is not None else ""


def _coords(text: str | None) -> list[list[float]]:
    out = []
    for tup in (text or "").split():
        parts = tup.split(",")
        if len(parts) < 2:
            raise ValueError(tup)
        out.append([float(parts[0]), float(parts[1])])
    return out


def _geometry(el) -> dict | None:
    name = _local(el.tag)
    if name == "Point":
        c = _coords(_text(el, "coordinates"))
        return {"type": "Point", "coordinates": c[0]} if c else None
    if name == "LineString":
        return {"type": "LineString", "coordinates": _coords(_text(el, "coordinates"))}
    if name == "LinearRing":
        return {"type": "Polygon", "coordinates": [_coords(_text(el, "coordinates"))]}
    if name == "Polygon":
        rings = []
        for boundary in el:
            if _local(boundary.tag) in ("outerBoundaryIs", "innerBoundaryIs"):
                ring = _child(boundary, "LinearRing")
                if ring is not None:
                    coords = _coords(_text(ring, "coordinates"))
                    if _local(boundary.tag) == "outerBoundaryIs":
                        rings.insert(0, coords)
                    else:
                        rings.append(coords)
        return {"type": "Polygon", "coordinates": rings}
    if name == "Track":  # gx:Track
        coords = [[float(v) for v in (c.text or "").split()[:2]] for c in el if _local(c.tag) == "coord"]
        return {"type": "LineString", "coordinates": coords}
    if name == "MultiTrack":
        lines = [g["coordinates"] for g in (_geometry(c) for c in el if _local(c.tag) == "Track") if g]
        return {"type": "MultiLineString", "coordinates": lines}
    if name == "MultiGeometry":
        parts = [g for g in (_geometry(c) for c in el) if g]
        types = {g["type"] for g in parts}
        if len(types) == 1 and next(iter(types)) in ("Point", "LineString", "Polygon"):
            return {"type": "Multi" + next(iter(types)), "coordinates": [g["coordinates"] for g in parts]}
        return {"type": "GeometryCollection", "geometries": parts} if parts else None
    return None


GEOMETRY_TAGS = {"Point", "LineString", "LinearRing", "Polygon", "MultiGeometry", "Track", "MultiTrack"}


def _placemark(pm, folder: str) -> tuple[dict | None, dict]:
    props: dict[str, str] = {}
    name = _text(pm, "name")
    if name:
        props["name"] = name
    desc = _text(pm, "description")
    if desc:
        props["description"] = html_to_text(desc)
    if folder:
        props["folder"] = folder
    ext = _child(pm, "ExtendedData")
    if ext is not None:
        for item in ext.iter():
            tag = _local(item.tag)
            if tag == "Data" and item.get("name"):
                props[item.get("name")] = html_to_text(_text(item, "value"))
            elif tag == "SimpleData" and item.get("name"):
                props[item.get("name")] = html_to_text((item.text or "").strip())
    geom = None
    for c in pm:
        if _local(c.tag) in GEOMETRY_TAGS:
            geom = _geometry(c)
            break
    return geom, props


def read_kml(raw: bytes, fmt: str = "kml") -> ReadResult:
    if fmt == "kmz":
        entries = read_entries(raw, lambda n: n.lower().endswith(".kml"))
        if not entries:
            raise UploadError(422, "bad_kml", "upload.bad_kml")
        # doc.kml is the main document by convention; else the first .kml
        name = next((n for n in entries if n.lower().endswith("doc.kml")), next(iter(entries)))
        raw = entries[name]
    root = parse_xml(raw, "bad_kml")

    result = ReadResult(format=fmt, features=[], columns=[], total=0, encoding="utf-8", crs=4326, crs_from="file")
    columns: dict[str, None] = {}

    def walk(el, folders: list[str]):
        for c in el:
            tag = _local(c.tag)
            if tag in ("Folder", "Document"):
                fname = _text(c, "name")
                walk(c, folders + [fname] if (tag == "Folder" and fname) else folders)
            elif tag == "Placemark":
                result.total += 1
                n = result.total
                try:
                    geom, props = _placemark(c, " / ".join(folders))
                except (ValueError, IndexError):
                    result.add_problem(n, "upload.row_bad_geometry")
                    continue
                reason = check_geometry(geom) if geom else "upload.row_no_geometry"
                if reason:
                    result.add_problem(n, reason, name=props.get("name", ""))
                    continue
                for k in props:
                    columns.setdefault(k, None)
                result.features.append({"type": "Feature", "id": c.get("id") or str(n), "geometry": geom,
                                        "properties": props})

    walk(root, [])
    result.columns = list(columns)
    _unique_ids(result.features)
    return result
