"""KML and KMZ: placemarks with ExtendedData (Data/value and SchemaData/SimpleData), folders,
points, lines, polygons, MultiGeometry and gx:Track, as Google My Maps and GDAL write them.

Descriptions are often HTML: they become plain text here (line breaks kept), and like every other
value they are escaped again wherever they are shown. DTDs and entities are refused outright, by
the parser itself (defusedxml): wherever the declaration stands and whatever the encoding.
"""
from __future__ import annotations

from sources.readers.archive import read_entries
from sources.readers.base import ReadOptions, ReadResult, UploadError, check_geometry, unique_ids
from sources.readers.xml_text import child, html_to_text, local, parse_xml, text_of

FORMATS = ("kml", "kmz")

def _coords(text: str | None) -> list[list[float]]:
    out = []
    for tup in (text or "").split():
        parts = tup.split(",")
        if len(parts) < 2:
            raise ValueError(tup)
        out.append([float(parts[0]), float(parts[1])])
    return out


def _geometry(el) -> dict | None:
    name = local(el.tag)
    if name == "Point":
        c = _coords(text_of(el, "coordinates"))
        return {"type": "Point", "coordinates": c[0]} if c else None
    if name == "LineString":
        return {"type": "LineString", "coordinates": _coords(text_of(el, "coordinates"))}
    if name == "LinearRing":
        return {"type": "Polygon", "coordinates": [_coords(text_of(el, "coordinates"))]}
    if name == "Polygon":
        rings = []
        for boundary in el:
            if local(boundary.tag) in ("outerBoundaryIs", "innerBoundaryIs"):
                ring = child(boundary, "LinearRing")
                if ring is not None:
                    coords = _coords(text_of(ring, "coordinates"))
                    if local(boundary.tag) == "outerBoundaryIs":
                        rings.insert(0, coords)
                    else:
                        rings.append(coords)
        return {"type": "Polygon", "coordinates": rings}
    if name == "Track":  # gx:Track
        coords = [[float(v) for v in (c.text or "").split()[:2]] for c in el if local(c.tag) == "coord"]
        return {"type": "LineString", "coordinates": coords}
    if name == "MultiTrack":
        lines = [g["coordinates"] for g in (_geometry(c) for c in el if local(c.tag) == "Track") if g]
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
    name = text_of(pm, "name")
    if name:
        props["name"] = name
    desc = text_of(pm, "description")
    if desc:
        props["description"] = html_to_text(desc)
    if folder:
        props["folder"] = folder
    ext = child(pm, "ExtendedData")
    if ext is not None:
        for item in ext.iter():
            tag = local(item.tag)
            if tag == "Data" and item.get("name"):
                props[item.get("name")] = html_to_text(text_of(item, "value"))
            elif tag == "SimpleData" and item.get("name"):
                props[item.get("name")] = html_to_text((item.text or "").strip())
    geom = None
    for c in pm:
        if local(c.tag) in GEOMETRY_TAGS:
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
            tag = local(c.tag)
            if tag in ("Folder", "Document"):
                fname = text_of(c, "name")
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
    unique_ids(result.features)
    return result


def read(raw: bytes, fmt: str, options: ReadOptions) -> ReadResult:
    return read_kml(raw, fmt)
