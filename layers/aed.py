"""AED locations: clustered points with a popup of where and when the AED can be used."""
from __future__ import annotations

from i18n import t
from layers.base import LegendItem, MapSpec, StoredFeaturesKind, features_url, layer_attribution, popup_spec

AED_COLOR = "#d7263d"


class AedKind(StoredFeaturesKind):
    kind = "aed"

    def map_spec(self, layer, lang, zoom=None):
        hideout = {
            "color": AED_COLOR,
            "label": "AED",
            "popup": popup_spec("name", [
                ("address", "popup.address"), ("location", "popup.location"),
                ("days", "popup.days"), ("hours", "popup.hours"), ("closed", "popup.closed"),
                ("special", "popup.note"), ("phone", "popup.phone"), ("note", "popup.note"),
            ], lang, badge=t("popup.sample", lang)),
        }
        return MapSpec(type="geojson", url=features_url(layer), attribution=layer_attribution(layer, lang), props={
            "cluster": True,
            "zoomToBoundsOnClick": True,
            # clusters up to the map's last zoom: AEDs at one exact spot (several in one building)
            # stay one cluster there, and a tap spreads them out (spiderfy) so each can be opened
            "superClusterOptions": {"radius": 60, "maxZoom": 18},
            "spiderfyOnMaxZoom": True,
            "pointToLayer": {"variable": "ishikawaMap.aedPoint"},
            "clusterToLayer": {"variable": "ishikawaMap.aedCluster"},
            "onEachFeature": {"variable": "ishikawaMap.popup"},
            "hideout": hideout,
        })

    def legend(self, layer, lang):
        return [LegendItem(t("legend.aed", lang), AED_COLOR, "marker"),
                LegendItem(t("legend.cluster_aed", lang), AED_COLOR, "aed-cluster")]
