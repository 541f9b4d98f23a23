"""The snow-removal map layer kind (public layer 除雪状況): road colours only, no vehicle details.

The browser colours the roads from /api/snow/status (only changes after the first call). The
functions behind it, the /snow page and the API live in the `layers.snow` package.
"""
from __future__ import annotations

from layers.base import LayerKind, MapSpec, layer_attribution
from layers.snow.alerts import road_alert_segments
from layers.snow.network import ensure_network
from layers.snow.style import legend_items, style_hideout

# the jobs (jobs/builtin.py) and tests reach the network loader and the road provider through the layer kind
__all__ = ["SnowplowKind", "ensure_network", "road_alert_segments"]


class SnowplowKind(LayerKind):
    """Road segments; the browser colours them from /api/snow/status (only changes after the first)."""

    kind = "snowplow"

    def features(self, s, layer, bbox=None, at=None, zoom=None):
        from store.snow import segments_collection_bytes

        return segments_collection_bytes(s)

    def map_spec(self, layer, lang, zoom=None):
        hideout = style_hideout(lang)
        hideout["poll"] = {"url": "/api/snow/status?geometry=false", "every": 30}
        return MapSpec(type="geojson", url=f"/api/layers/{layer.id}/features?v={layer.version}",
                       attribution=layer_attribution(layer, lang), props={
                           "style": {"variable": "ishikawaMap.snowRoadStyle"},
                           "onEachFeature": {"variable": "ishikawaMap.snowRoadLive"},
                           "hideout": hideout,
                       })

    def legend(self, layer, lang):
        return legend_items(lang)
