"""Layers staff uploaded: points, lines or polygons in the layer's colour, a popup of the
chosen properties with the chosen labels. Everything in them came from a file: the popup escapes
it (assets/map.js `esc`).

Large point layers (more than BIG_LAYER points) are clustered on the server by zoom: the browser
asks `?zoom=Z&bbox=...` and receives at most one feature per grid cell (with a count), until the
view is close enough for the points themselves — so one view stays bounded whatever the layer's
size (see bench/upload.py for the bytes per view).
"""
from __future__ import annotations

from sqlalchemy import func, select

from i18n import t
from layers.base import (
    LegendItem,
    MapSpec,
    StoredFeaturesKind,
    bbox_boxes,
    feature_dict,
    features_url,
    layer_attribution,
    plain_keys,
)
from store.features import feature_collection_bytes
from store.grids import BIG_LAYER, GRID_ZOOMS, cell_size, points_in_bbox, read_grid  # noqa: E402
from store.models import Feature

CLIENT_CLUSTER = 40  # points; above this the browser clusters (supercluster)
POINTS_FROM_ZOOM = 15  # big layers: points themselves from this zoom (with bbox)
MAX_POINTS_PER_VIEW = 8000
NO_BBOX_ZOOM = 11  # without a bbox, clusters no finer than this zoom


# Columns a popup leaves out until staff choose them with a label of their own: coordinates (the
# map shows where) and the bookkeeping of KML/GPX files. Raw names that have a plain label get it.
POPUP_HIDDEN = {"lat", "lon", "lng", "long", "latitude", "longitude", "緯度", "経度", "x", "y", "x座標", "y座標",
                "folder", "styleurl", "style_url", "visibility", "fid", "ogc_fid", "gml_id", "altitudemode",
                "tessellate", "extrude", "draworder", "icon"}
POPUP_LABELS = {"description": "popup_default.description", "name": "popup.name", "address": "popup.address",
                "phone": "popup.phone", "tel": "popup.phone", "note": "popup.note", "time": "popup_default.time",
                "ele": "popup_default.elevation"}
# distinct default colours for uploaded layers (not the AED red nor the snow-depth blues),
# chosen by the layer id while staff keep the default
PALETTE = ["#e66100", "#5d3a9b", "#1a7f37", "#b8336a", "#8c5a00", "#007c89", "#6b6b00", "#a23b00"]


def popup_for(layer, lang: str) -> dict:
    from store.uploads import TITLE_NAMES

    popup = (layer.options or {}).get("popup") or {}
    fields = []
    for f in popup.get("fields", []):
        key, ja = f[0], f[1] if len(f) > 1 else f[0]
        en = f[2] if len(f) > 2 and f[2] else ja
        renamed = ja != key or en != key  # staff gave it a label: show it as they chose
        if not renamed and str(key).strip().lower() in POPUP_HIDDEN:
            continue
        if not renamed and str(key).strip().lower() in POPUP_LABELS:
            label = t(POPUP_LABELS[str(key).strip().lower()], lang)
        else:
            label = en if lang == "en" else ja
        fields.append([key, label])
    title = popup.get("title") or next((c for c in TITLE_NAMES if c in (layer.options or {}).get("columns", [])),
                                       "name")
    return {"title": title, "fields": fields}


def display_color(layer) -> str:
    """The layer's colour: the one staff chose, else one of PALETTE picked by the layer id."""
    import zlib

    from store.uploads import DEFAULT_COLOR

    color = (layer.options or {}).get("color") or DEFAULT_COLOR
    if color.lower() != DEFAULT_COLOR:
        return color
    return PALETTE[zlib.crc32(str(layer.id).encode()) % len(PALETTE)]


def is_big(layer) -> bool:
    opts = layer.options or {}
    return (layer.feature_count or 0) > BIG_LAYER and opts.get("geometry_types", ["Point"]) == ["Point"]


def _abbrev(count: int) -> str:
    return f"{count / 1000:.0f}k" if count >= 10000 else (f"{count / 1000:.1f}k" if count >= 1000 else str(count))


def _cluster_bytes(items) -> bytes:
    parts = [b'{"type":"Feature","id":"' + cid.encode() + b'","geometry":{"type":"Point","coordinates":['
             + f"{lon:.5f},{lat:.5f}".encode() + b']},"properties":{"cluster":true,"point_count":'
             + str(count).encode() + b',"point_count_abbreviated":"' + _abbrev(count).encode() + b'"}}'
             for cid, lon, lat, count in items]
    return b'{"type":"FeatureCollection","features":[' + b",".join(parts) + b"]}"


def grid_clusters(s, layer, bbox, zoom: int) -> bytes:
    """One feature per occupied grid cell (mean position + count): from the grid computed at write
    time (store/grids.py), or with GROUP BY when there is none for this data version."""
    layer_id = layer.id
    if zoom in GRID_ZOOMS:
        grid = read_grid(s, layer_id, layer.version, zoom, bbox)
        if grid is not None:
            lons, lats, counts = grid
            return _cluster_bytes((f"c{zoom}-{i}", float(x), float(y), int(n))
                                  for i, (x, y, n) in enumerate(zip(lons, lats, counts)))
    size = cell_size(zoom)
    gx = func.floor(Feature.minx / size)
    gy = func.floor(Feature.miny / size)
    q = select(gx, gy, func.count(), func.avg(Feature.minx), func.avg(Feature.miny), func.min(Feature.fid)) \
        .where(Feature.layer_id == layer_id)
    if bbox is not None:
        q = q.where(Feature.minx >= bbox[0], Feature.minx <= bbox[2], Feature.miny >= bbox[1], Feature.miny <= bbox[3])
    q = q.group_by(gx, gy)
    return _cluster_bytes((f"c{fid}", lon, lat, count) for _x, _y, count, lon, lat, fid in s.execute(q))


class UploadedKind(StoredFeaturesKind):
    kind = "uploaded"

    def features(self, s, layer, bbox=None, at=None, zoom=None):
        if is_big(layer) and zoom is not None:
            if bbox is None:  # the whole layer: never finer than NO_BBOX_ZOOM (bounded whatever is asked)
                return grid_clusters(s, layer, None, min(zoom, NO_BBOX_ZOOM))
            if zoom < POINTS_FROM_ZOOM:
                return grid_clusters(s, layer, bbox, zoom)
            fids = points_in_bbox(s, layer.id, layer.version, bbox, MAX_POINTS_PER_VIEW)
            if fids is None:  # no index for this data version: count with SQL
                fids = s.scalar(select(func.count()).select_from(Feature).where(
                    Feature.layer_id == layer.id, Feature.minx >= bbox[0], Feature.minx <= bbox[2],
                    Feature.miny >= bbox[1], Feature.miny <= bbox[3]))
                fids = fids if fids > MAX_POINTS_PER_VIEW else None
            if isinstance(fids, int):
                return grid_clusters(s, layer, bbox, min(zoom, max(GRID_ZOOMS)))
            if fids is not None:
                return feature_collection_bytes(s, layer.id, bbox, fids=fids)
        return feature_collection_bytes(s, layer.id, bbox)

    def query(self, s, layer, bbox=None, datetime=None, limit=10, offset=0, properties=None):
        """Big point layers and a small bbox: the grid index names the candidates (no scan of the
        layer's rows); anything else as every stored layer."""
        if bbox is None or datetime is not None or not is_big(layer) or not plain_keys(properties):
            return super().query(s, layer, bbox, datetime, limit, offset, properties)
        candidates: set[str] = set()
        for box in bbox_boxes(bbox):
            fids = points_in_bbox(s, layer.id, layer.version, box, MAX_POINTS_PER_VIEW)
            if not isinstance(fids, list):  # no index of this version, or too many: SQL alone
                return super().query(s, layer, bbox, datetime, limit, offset, properties)
            candidates.update(fids)
        ordered, ids = sorted(candidates), []
        for i in range(0, len(ordered), 500):  # bound the statement's parameters
            ids += s.scalars(self._where(select(Feature.id), layer, bbox, properties)
                             .where(Feature.fid.in_(ordered[i:i + 500]))).all()
        ids.sort()
        page = ids[offset:offset + limit]
        if not page:
            return [], len(ids)
        rows = s.execute(select(Feature.fid, Feature.geometry, Feature.properties)
                         .where(Feature.id.in_(page)).order_by(Feature.id)).all()
        return [feature_dict(fid, geom, props) for fid, geom, props in rows], len(ids)

    def map_spec(self, layer, lang, zoom=None):
        opts = layer.options or {}
        color = display_color(layer)
        hideout = {"color": color, "shape": opts.get("shape", "circle"), "popup": popup_for(layer, lang),
                   "label": (opts.get("popup") or {}).get("title") or "name"}
        props = {
            "pointToLayer": {"variable": "ishikawaMap.uploadedPoint"},
            "style": {"variable": "ishikawaMap.uploadedStyle"},
            "onEachFeature": {"variable": "ishikawaMap.popup"},
            "hideout": hideout,
        }
        points = opts.get("geometry_types", ["Point"]) == ["Point"]
        if is_big(layer):
            props["clusterToLayer"] = {"variable": "ishikawaMap.cluster"}
            z = zoom if zoom is not None else 10
            return MapSpec(type="geojson", url=f"/api/layers/{layer.id}/features?v={layer.version}&zoom={z}", lod=True,
                           bbox=True,
                           attribution=layer_attribution(layer, lang),
                           props={**props, "pointToLayer": {"variable": "ishikawaMap.uploadedOrCluster"}})
        if points and (layer.feature_count or 0) > CLIENT_CLUSTER:
            props.update({"cluster": True, "zoomToBoundsOnClick": True,
                          "superClusterOptions": {"radius": 50, "maxZoom": 15},
                          "clusterToLayer": {"variable": "ishikawaMap.cluster"}})
        return MapSpec(type="geojson", url=features_url(layer), attribution=layer_attribution(layer, lang),
                       props=props)

    def legend(self, layer, lang):
        opts = layer.options or {}
        types = opts.get("geometry_types", ["Point"])
        # the swatch draws what the map draws: squares for areas, lines, and points as chosen
        shape = "square" if any("Polygon" in g for g in types) else (
            "line" if any("Line" in g for g in types) else
            {"square": "square", "marker": "pin"}.get(opts.get("shape"), "circle"))
        label = t("legend.uploaded", lang, count=layer.feature_count or 0)
        return [LegendItem(label, display_color(layer), shape)]
