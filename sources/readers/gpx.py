"""GPX: waypoints (points), routes (lines) and tracks (lines, one part per segment)."""
from __future__ import annotations

from sources.readers.base import ReadOptions, ReadResult, check_geometry
from sources.readers.xml_text import html_to_text, local, parse_xml, text_of

FORMATS = ("gpx",)


def _pt(el) -> list[float]:
    return [float(el.get("lon")), float(el.get("lat"))]


def read_gpx(raw: bytes) -> ReadResult:
    root = parse_xml(raw, "bad_gpx")
    result = ReadResult(format="gpx", features=[], columns=[], total=0, encoding="utf-8", crs=4326, crs_from="file")
    columns: dict[str, None] = {}
    for el in root:
        kind = local(el.tag)
        if kind not in ("wpt", "rte", "trk"):
            continue
        result.total += 1
        n = result.total
        props = {k: html_to_text(text_of(el, k)) for k in ("name", "desc", "cmt", "type", "ele", "time")
                 if text_of(el, k)}
        props["gpx_type"] = {"wpt": "waypoint", "rte": "route", "trk": "track"}[kind]
        try:
            if kind == "wpt":
                geom = {"type": "Point", "coordinates": _pt(el)}
            elif kind == "rte":
                geom = {"type": "LineString", "coordinates": [_pt(p) for p in el if local(p.tag) == "rtept"]}
            else:
                segs = [[_pt(p) for p in seg if local(p.tag) == "trkpt"] for seg in el if local(seg.tag) == "trkseg"]
                segs = [s for s in segs if len(s) >= 2]
                geom = ({"type": "LineString", "coordinates": segs[0]} if len(segs) == 1
                        else {"type": "MultiLineString", "coordinates": segs})
        except (TypeError, ValueError):
            result.add_problem(n, "upload.row_bad_geometry", name=props.get("name", ""))
            continue
        reason = check_geometry(geom)
        if reason:
            result.add_problem(n, reason, name=props.get("name", ""))
            continue
        for k in props:
            columns.setdefault(k, None)
        result.features.append({"type": "Feature", "id": str(n), "geometry": geom, "properties": props})
    result.columns = list(columns)
    return result


def read(raw: bytes, fmt: str, options: ReadOptions) -> ReadResult:
    return read_gpx(raw)
