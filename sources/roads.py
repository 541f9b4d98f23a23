"""Road networks for snow removal: read lines, split them into segments, name their area.

A segment is a piece of road between junctions, cut into pieces of at most MAX_SEGMENT_M, with
`id`, `name`, `road_class` (national / prefectural / municipal / expressway / other), `manager`
(managing body), `route` (the unit progress is counted by) and `area` (municipality).

Used by scripts/prepare_data.py (the shipped demo network) and by the `load-roads` command
(a road manager's own GeoJSON / GeoPackage). Geometry work is done in a local metric projection
(equirectangular around the data's latitude: < 0.1 % error over a prefecture for the few-metre
distances map matching needs).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, mapping
from shapely.ops import substring

MAX_SEGMENT_M = 400.0
ROAD_CLASSES = ("expressway", "national", "prefectural", "municipal", "other")
# column names a road manager's file may use for each attribute (first found wins)
COLUMN_ALIASES = {
    "id": ["id", "segment_id", "fid_", "ID"],
    "name": ["name", "名称", "路線名", "road_name", "N10_004"],
    "road_class": ["road_class", "class", "道路種別", "種別", "A37_100002"],
    "manager": ["manager", "管理者", "道路管理者", "managing_body"],
    "route": ["route", "除雪路線", "工区", "route_name"],
    "area": ["area", "地区", "市町", "municipality"],
}
CLASS_WORDS = [("expressway", ["自動車道", "高速", "expressway", "motorway"]),
               ("national", ["国道", "national", "trunk"]),
               ("prefectural", ["県道", "都道府県道", "主要地方道", "prefectural"]),
               ("municipal", ["市道", "町道", "村道", "市区町村道", "municipal"])]


@dataclass(frozen=True)
class LocalProjection:
    """lon/lat degrees <-> metres on a plane tangent at (lon0, lat0)."""

    lon0: float
    lat0: float

    @property
    def kx(self) -> float:
        return 111_320.0 * math.cos(math.radians(self.lat0))

    ky = 110_574.0

    def fwd(self, lon, lat):
        x = (np.asarray(lon, dtype=float) - self.lon0) * self.kx
        return x, (np.asarray(lat, dtype=float) - self.lat0) * self.ky

    def inv(self, x, y):
        return np.asarray(x, dtype=float) / self.kx + self.lon0, np.asarray(y, dtype=float) / self.ky + self.lat0

    def geom_fwd(self, geom):
        return shapely.transform(geom, lambda c: np.column_stack(self.fwd(c[:, 0], c[:, 1])))

    def geom_inv(self, geom):
        return shapely.transform(geom, lambda c: np.column_stack(self.inv(c[:, 0], c[:, 1])))


ISHIKAWA = LocalProjection(136.75, 36.85)


def classify(text: str | None) -> str:
    """A road class from free text (道路種別, a route name…)."""
    text = str(text or "")
    for cls, words in CLASS_WORDS:
        if any(w in text for w in words):
            return cls
    return text if text in ROAD_CLASSES else "other"


def _lines(geom) -> list[LineString]:
    if geom is None or geom.is_empty:
        return []
    if isinstance(geom, LineString):
        return [geom]
    if isinstance(geom, MultiLineString):
        return list(geom.geoms)
    if hasattr(geom, "geoms"):
        return [g for part in geom.geoms for g in _lines(part)]
    return []


def split_lines(lines: list[dict], proj: LocalProjection = ISHIKAWA, max_len: float = MAX_SEGMENT_M,
                snap_m: float = 2.0) -> list[dict]:
    """lines: [{"geometry": shapely lon/lat line, **attrs}] -> segments (same attrs + geometry + length_m).

    Lines with the same attributes are noded where they meet, merged between junctions and cut into
    equal pieces no longer than max_len metres.
    """
    groups: dict[tuple, list] = {}
    for item in lines:
        attrs = tuple(sorted((k, v) for k, v in item.items() if k != "geometry"))
        for part in _lines(item["geometry"]):
            groups.setdefault(attrs, []).append(proj.geom_fwd(part))
    # junctions: every place where any two lines meet, whatever their attributes
    all_lines = [g for gs in groups.values() for g in gs]
    if not all_lines:
        return []
    noded = shapely.node(shapely.set_precision(shapely.multilinestrings(all_lines), snap_m))
    parts = shapely.get_parts(noded)
    ends = np.vstack([shapely.get_coordinates(shapely.get_point(parts, 0)),
                      shapely.get_coordinates(shapely.get_point(parts, -1))])
    junction_pts = shapely.points(np.unique(np.round(ends, 3), axis=0))
    out = []
    for attrs, gs in groups.items():
        merged = shapely.set_precision(shapely.multilinestrings(gs), snap_m)
        # cut this group's lines at every junction of the whole network, then merge runs of pieces
        pieces = shapely.node(merged)
        chains = _lines(shapely.line_merge(pieces))
        tree = shapely.STRtree(junction_pts)
        for chain in chains:
            cuts = _cut_at_junctions(chain, tree, junction_pts, snap_m)
            for part in cuts:
                length = part.length
                if length < 1.0:
                    continue
                n = max(1, math.ceil(length / max_len))
                for k in range(n):
                    piece = substring(part, length * k / n, length * (k + 1) / n) if n > 1 else part
                    if piece.length < 0.5 or piece.geom_type != "LineString":
                        continue
                    out.append({**dict(attrs), "geometry": proj.geom_inv(piece), "length_m": round(piece.length, 1)})
    return out


def _cut_at_junctions(chain: LineString, tree, junction_pts, snap_m: float) -> list[LineString]:
    """Split a merged chain at the interior junctions lying on it (line_merge may have joined across)."""
    hits = tree.query(chain, predicate="dwithin", distance=snap_m)
    if len(hits) == 0:
        return [chain]
    dists = sorted({round(float(chain.project(junction_pts[i])), 2) for i in hits})
    dists = [d for d in dists if 1.0 < d < chain.length - 1.0]
    if not dists:
        return [chain]
    bounds = [0.0, *dists, chain.length]
    return [substring(chain, a, b) for a, b in zip(bounds, bounds[1:]) if b - a >= 0.5]


def assign_areas(segments: list[dict], areas: list[tuple[str, object]], proj: LocalProjection = ISHIKAWA) -> None:
    """Set `area` (when empty) to the municipality holding the segment's midpoint (nearest if none)."""
    if not areas:
        return
    names = [n for n, _g in areas]
    polys = [g for _n, g in areas]
    tree = shapely.STRtree(polys)
    todo = [s for s in segments if not s.get("area")]
    if not todo:
        return
    mids = shapely.line_interpolate_point([s["geometry"] for s in todo], 0.5, normalized=True)
    inside = tree.query(mids, predicate="within")
    found = {int(i): names[int(j)] for i, j in zip(inside[0], inside[1])}
    near = tree.query_nearest(mids, all_matches=False)
    for k, seg in enumerate(todo):
        seg["area"] = found.get(k) or names[int(near[1][list(near[0]).index(k)])]


def number_segments(segments: list[dict], prefix: str = "s") -> None:
    """Stable ids for segments without one, in a deterministic order (route, then position)."""
    def key(s):
        c = s["geometry"].coords[0]
        return (str(s.get("route", "")), round(c[0], 6), round(c[1], 6))

    width = max(5, len(str(len(segments))))
    used = {str(s["id"]) for s in segments if s.get("id")}
    n = 0
    for seg in sorted((s for s in segments if not s.get("id")), key=key):
        n += 1
        while f"{prefix}{n:0{width}d}" in used:
            n += 1
        seg["id"] = f"{prefix}{n:0{width}d}"


def to_feature(seg: dict) -> dict:
    geom = mapping(seg["geometry"])
    coords = [[round(x, 6), round(y, 6)] for x, y, *_ in geom["coordinates"]]
    props = {k: seg.get(k, "") for k in ("name", "road_class", "manager", "route", "area")}
    props["length_m"] = seg.get("length_m") or 0.0
    return {"type": "Feature", "id": str(seg["id"]), "geometry": {"type": "LineString", "coordinates": coords},
            "properties": props}


def _pick(columns, key: str) -> str | None:
    return next((c for c in COLUMN_ALIASES[key] if c in columns), None)


def read_network_file(path: Path, areas: list[tuple[str, object]] | None = None,
                      default_manager: str = "") -> list[dict]:
    """A road manager's own network (GeoJSON, GeoPackage, anything GDAL reads) as segment Features.

    Recognised columns (see COLUMN_ALIASES): id, name, road_class, manager, route, area. A file
    whose lines carry their own `id` is taken as already segmented (ids kept, lines not cut);
    otherwise lines are noded, merged and cut into segments. Any CRS is reprojected to WGS84.
    """
    import geopandas as gpd

    gdf = gpd.read_file(path)
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    gdf = gdf[gdf.geometry.geom_type.isin(["LineString", "MultiLineString"])]
    if gdf.empty:
        raise ValueError("no line geometries in the file")
    cols = {k: _pick(gdf.columns, k) for k in COLUMN_ALIASES}
    items = []
    for _idx, row in gdf.iterrows():
        name = str(row[cols["name"]]) if cols["name"] and row[cols["name"]] is not None else ""
        cls_text = row[cols["road_class"]] if cols["road_class"] else name
        item = {
            "geometry": row.geometry,
            "name": name,
            "road_class": classify(cls_text) if cls_text else "other",
            "manager": str(row[cols["manager"]] or "") if cols["manager"] else default_manager,
            "route": str(row[cols["route"]] or "") if cols["route"] else name,
            "area": str(row[cols["area"]] or "") if cols["area"] else "",
        }
        if cols["id"]:
            item["id"] = str(row[cols["id"]])
        items.append(item)
    if cols["id"]:
        segments = []
        for item in items:
            for k, part in enumerate(_lines(item["geometry"])):
                seg = dict(item, geometry=part, id=item["id"] if k == 0 else f"{item['id']}-{k}")
                seg["length_m"] = round(float(ISHIKAWA.geom_fwd(part).length), 1)
                segments.append(seg)
        if len({s["id"] for s in segments}) != len(segments):
            raise ValueError("segment ids are not unique")
    else:
        segments = split_lines(items)
    for seg in segments:
        seg["route"] = seg.get("route") or seg.get("name") or ""
    assign_areas(segments, areas or [])
    number_segments(segments)
    return [to_feature(s) for s in segments]


def municipality_areas(boundaries_path: Path) -> list[tuple[str, object]]:
    """(name, polygon) of the shipped municipal boundaries (郡 prefix dropped: 羽咋郡志賀町 -> 志賀町)."""
    from shapely.geometry import shape

    from sources.geojson_file import read_features

    out = []
    for f in read_features(boundaries_path):
        name = str(f["properties"].get("name", ""))
        if "郡" in name:
            name = name.split("郡", 1)[1]
        out.append((name, shape(f["geometry"])))
    return out
