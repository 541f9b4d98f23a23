"""GSI ハザードマップポータル overlays: tiles from the portal, legends and attribution ours."""
from __future__ import annotations

from i18n import t
from layers.base import LayerKind, LegendItem, MapSpec

TILE_URL = "https://disaportaldata.gsi.go.jp/raster/{id}/{{z}}/{{x}}/{{y}}.png"
ATTRIBUTION = ('<a href="https://disaportal.gsi.go.jp/hazardmap/copyright/opendata.html" '
               'target="_blank" rel="noopener">{label}</a>')

# 浸水深: one colour scale shared by flood, tsunami and storm surge (so they are exclusive)
DEPTH_LEGEND = [
    ("legend.depth.lt05", "#F7F5A9"), ("legend.depth.05_3", "#FFD8C0"), ("legend.depth.3_5", "#FFB7B7"),
    ("legend.depth.5_10", "#FF9191"), ("legend.depth.10_20", "#F285C9"), ("legend.depth.ge20", "#DC7ADC"),
]
SEDIMENT_LEGEND = [
    ("legend.sediment.debris", "#E6C832"), ("legend.sediment.debris_special", "#A50021"),
    ("legend.sediment.slope", "#FAE600"), ("legend.sediment.slope_special", "#FA2800"),
]
LEGENDS = {"depth": DEPTH_LEGEND, "sediment": SEDIMENT_LEGEND}


class HazardTilesKind(LayerKind):
    kind = "hazard_tiles"
    has_features = False

    def features(self, s, layer, bbox=None, at=None, zoom=None):
        return None

    def tile_urls(self, layer) -> list[str]:
        return [TILE_URL.format(id=tile_id) for tile_id in layer.options.get("tile_ids", [])]

    def map_spec(self, layer, lang, zoom=None):
        return MapSpec(type="tiles", opacity=float(layer.options.get("opacity", 0.7)),
                       attribution=ATTRIBUTION.format(label=t("attribution.hazard", lang)),
                       props={"urls": self.tile_urls(layer), "minZoom": 2, "maxNativeZoom": 17,
                              "maxZoom": 18})

    def legend(self, layer, lang):
        return [LegendItem(t(key, lang), color, "square")
                for key, color in LEGENDS.get(layer.options.get("legend", ""), [])]

    def exclusive_group(self, layer) -> str | None:
        """Overlays sharing a colour scale are shown one at a time."""
        return "depth" if layer.options.get("legend") == "depth" else None


