"""Turning layer MapSpecs into dash-leaflet components."""
from __future__ import annotations

import html as html_lib
from typing import TYPE_CHECKING

import dash_leaflet as dl

from components.basemaps import BASEMAPS, basemap_attribution

if TYPE_CHECKING:  # types only: components take data in and give components out
    from layers.base import MapSpec
    from layers.visible import PanelLayer


def base_tile(key: str, lang: str, prefix: str = "home") -> dl.TileLayer:
    spec = BASEMAPS[key]
    return dl.TileLayer(id=f"{prefix}-base-{key}", url=spec["url"], attribution=basemap_attribution(key, lang),
                        maxNativeZoom=spec["maxNativeZoom"], maxZoom=18, minZoom=2)


def overlay_tiles(layer_id: str, spec: MapSpec, opacity: float | None, prefix: str = "home") -> list[dl.TileLayer]:
    props = dict(spec.props)
    urls = props.pop("urls", [])
    return [dl.TileLayer(id={"type": f"{prefix}-tile", "layer": layer_id, "n": i}, url=url,
                         opacity=spec.opacity if opacity is None else opacity,
                         attribution=spec.attribution, zIndex=300 + i, **props)
            for i, url in enumerate(urls)]


def vector_layer(layer_id: str, spec: MapSpec, prefix: str = "home") -> dl.GeoJSON:
    # attribution text from the store is plain text: escape it, Leaflet renders it as HTML
    return dl.GeoJSON(id={"type": f"{prefix}-geojson", "layer": layer_id}, url=spec.url,
                      attribution=html_lib.escape(spec.attribution), **spec.props)


def map_children(layers: list[PanelLayer], checked: set[str], base: str, lang: str,
                 opacity: dict[str, float], prefix: str = "home") -> tuple[list, list, list]:
    """(base tiles, tile overlays, vector layers) for the chosen state; ids start with `prefix`
    (the page's: "home" for /, "portal" for /o/<code>)."""
    overlays, vectors = [], []
    for pl in layers:
        if pl.id not in checked:
            continue
        if pl.spec.type == "tiles":
            overlays.extend(overlay_tiles(pl.id, pl.spec, opacity.get(pl.id), prefix))
        else:
            vectors.append(vector_layer(pl.id, pl.spec, prefix))
    return [base_tile(base, lang, prefix)], overlays, vectors
