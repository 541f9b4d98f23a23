"""The one small interface every layer kind implements.

A kind turns a stored Layer row into
- `features(session, layer, bbox, at)`: GeoJSON FeatureCollection bytes (WGS84), or None for
  kinds that have no vector data of ours (tile overlays);
- `map_spec(layer, lang)`: plain data telling components/map.py how to draw it (no Dash here);
- `legend(layer, lang)`: the legend entries.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from i18n import t
from store.features import feature_collection_bytes
from store.models import Layer

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class LegendItem:
    label: str
    color: str = "#666"
    shape: str = "circle"  # circle / square / line / marker / cluster
    border: str = ""


@dataclass(frozen=True)
class MapSpec:
    type: str  # "geojson" or "tiles"
    url: str = ""  # features URL (geojson) or tile URL template (tiles)
    props: dict = field(default_factory=dict)  # extra props for dl.GeoJSON / dl.TileLayer
    opacity: float | None = None  # overlays with an opacity slider set this
    refresh_s: int | None = None  # live layers: the map reloads them this often
    attribution: str = ""


def features_url(layer: Layer) -> str:
    # the version makes the URL change with the data, so browsers and proxies may cache it
    return f"/api/layers/{layer.id}/features?v={layer.version}"


def layer_name(layer: Layer, lang: str) -> str:
    return (layer.name_en if lang == "en" and layer.name_en else layer.name_ja) or layer.id


def layer_attribution(layer: Layer, lang: str) -> str:
    return (layer.attribution_en if lang == "en" and layer.attribution_en else layer.attribution_ja) or ""


def popup_spec(title: str, fields: list[tuple[str, str]], lang: str, **extra) -> dict:
    """What the generic JS popup shows: a title property and (property, label) rows."""
    return {"title": title, "fields": [[key, t(label, lang)] for key, label in fields], **extra}


class LayerKind:
    kind = "base"
    has_features = True

    def features(self, s: Session, layer: Layer, bbox: BBox | None = None,
                 at: datetime | None = None) -> bytes | None:
        return feature_collection_bytes(s, layer.id, bbox)

    def map_spec(self, layer: Layer, lang: str) -> MapSpec:
        raise NotImplementedError

    def legend(self, layer: Layer, lang: str) -> list[LegendItem]:
        return []
