"""Administrative boundaries drawn as outlines: the map still says where you are without tiles."""
from __future__ import annotations

from i18n import t
from layers.base import LegendItem, MapSpec, StoredFeaturesKind, features_url, layer_attribution, simplified_collection

OUTLINE_COLOR = "#3d4a5c"


class OutlineKind(StoredFeaturesKind):
    kind = "outline"

    def features(self, s, layer, bbox=None, at=None, zoom=None):
        if zoom is None:
            return super().features(s, layer, bbox)
        return simplified_collection(s, layer.id, bbox, zoom)

    def map_spec(self, layer, lang, zoom=None):
        return MapSpec(type="geojson", url=features_url(layer, zoom if zoom is not None else 18), lod=True,
                       attribution=layer_attribution(layer, lang), props={
            "style": {"variable": "ishikawaMap.outlineStyle"},
            "onEachFeature": {"variable": "ishikawaMap.tooltip"},
            "hideout": {"color": OUTLINE_COLOR, "label": "name"},
            # outlines never take a tap from the points drawn with them, whatever loads first
            "interactive": False,
            "bubblingMouseEvents": True,
        })

    def legend(self, layer, lang):
        return [LegendItem(t("legend.boundary", lang), OUTLINE_COLOR, "line")]
