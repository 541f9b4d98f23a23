"""The road network of the snow-removal map: loading it, its segments and its view.

Segment attributes (no geometry) are kept per process for each network version, so a refresh or a
status answer reads only the network's version from the database.
"""
from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from store.db import utcnow

log = logging.getLogger(__name__)

NETWORK_FILE = "roads/demo_roads_hakui.geojson"
BUILTIN_SOURCE = "builtin:" + NETWORK_FILE


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def ensure_network(s, data_path: Path) -> bool:
    """Load the shipped demo network at first start (and when its file changed); a network a road
    manager loaded with `load-roads` is never replaced. True when something was loaded."""
    from sources.geojson_file import read_features
    from store.snow import network, replace_network

    path = data_path / NETWORK_FILE
    net = network(s)
    if net is not None and not net.source.startswith("builtin:"):
        return False
    digest = _digest(path)
    if net is not None and net.digest == digest:
        return False
    count = replace_network(s, read_features(path), BUILTIN_SOURCE, digest)
    _bump_layer(s)
    log.info("snow removal: %d road segments loaded from %s", count, NETWORK_FILE)
    if net is not None:  # a new version of the shipped network: the fixes we have give its passes
        from sources.fixes import rematch_in

        s.flush()
        rematch_in(s, str(s.get_bind().url), utcnow() - timedelta(hours=26))
    return True


def load_network_file(db, path: Path, data_path: Path) -> int:
    """Replace the network by a road manager's own file (GeoJSON, GeoPackage…); see README."""
    from sources.fixes import rematch
    from sources.roads import municipality_areas, read_network_file
    from store.snow import replace_network

    feats = read_network_file(Path(path), municipality_areas(data_path / "boundaries/ishikawa_municipalities.geojson"))
    with db.session() as s:
        count = replace_network(s, feats, f"file:{Path(path).name}", _digest(Path(path)))
        _bump_layer(s)
    rematch(db, utcnow() - timedelta(hours=26))  # the last day's passes, on the new network
    return count


def _bump_layer(s) -> None:
    from store.layers import touch_layer
    from store.models import Layer

    layer = s.get(Layer, "snow-removal")
    if layer is not None:
        from store.snow import network

        net = network(s)
        touch_layer(s, layer, feature_count=net.segment_count if net else 0)


@dataclass(frozen=True, slots=True)
class Segment:
    """A road segment without its geometry: what progress, status rows and refreshes need."""

    id: str
    name: str
    route: str
    area: str
    road_class: str
    manager: str
    length_m: float


_TABLES: dict[tuple, list[Segment]] = {}
_VIEWS: dict[tuple, dict] = {}


def network_version(s) -> int:
    from store.snow import network

    net = network(s)
    return net.version if net else 0


def segment_table(s) -> tuple[int, list[Segment]]:
    """(network version, segments in network order), read without geometry once per version."""
    from sqlalchemy import select

    from store.snow import RoadSegment

    version = network_version(s)
    key = (str(s.get_bind().url), version)
    segs = _TABLES.get(key)
    if segs is None:
        cols = (RoadSegment.id, RoadSegment.name, RoadSegment.route, RoadSegment.area, RoadSegment.road_class,
                RoadSegment.manager, RoadSegment.length_m)
        segs = [Segment(*row) for row in s.execute(select(*cols).order_by(RoadSegment.seq))]
        _TABLES.clear()
        _TABLES[key] = segs
    return version, segs


def network_view(db) -> dict:
    """Version (for the URL), centre, bounds and a zoom that fits the network (once per version)."""
    import orjson

    from store.snow import RoadSegment

    with db.session() as s:
        version = network_version(s)
        key = (db.url, version)
        if key in _VIEWS:
            return _VIEWS[key]
        from sqlalchemy import select

        geoms = list(s.scalars(select(RoadSegment.geometry).order_by(RoadSegment.seq)))
    if not geoms:
        return {"version": version, "center": [36.9, 136.8], "bounds": None, "zoom": 10}
    xs, ys = [], []
    for g in geoms[:: max(1, len(geoms) // 200)]:
        for x, y in orjson.loads(g)["coordinates"][::4]:
            xs.append(x)
            ys.append(y)
    bounds = [[min(ys), min(xs)], [max(ys), max(xs)]]
    # the zoom at which the network fits a map of about 800 × 600 pixels
    span_x = max(bounds[1][1] - bounds[0][1], 1e-3)
    span_y = max(bounds[1][0] - bounds[0][0], 1e-3) / math.cos(math.radians(bounds[0][0]))
    zoom = int(min(math.log2(800 * 360 / 256 / span_x), math.log2(600 * 360 / 256 / span_y)))
    view = {"version": version, "center": [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2],
            "bounds": bounds, "zoom": max(5, min(zoom, 16))}
    _VIEWS.clear()
    _VIEWS[key] = view
    return view
