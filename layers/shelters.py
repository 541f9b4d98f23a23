"""Designated shelters (GSI data): plain points with their hazard suitability in the popup."""
from __future__ import annotations

from i18n import t
from layers.base import LegendItem, MapSpec, StoredFeaturesKind, features_url, layer_attribution, popup_spec

SHELTER_COLOR = "#2b7a3d"


class ShelterKind(StoredFeaturesKind):
    kind = "shelters"

    def map_spec(self, layer, lang, zoom=None):
        return MapSpec(type="geojson", url=features_url(layer), attribution=layer_attribution(layer, lang), props={
            "pointToLayer": {"variable": "ishikawaMap.squarePoint"},
            "onEachFeature": {"variable": "ishikawaMap.shelterPopup"},
            "hideout": {"color": SHELTER_COLOR, "lang": lang, "hazardTitle": t("hazard_point.shelter", lang),
                        "popup": popup_spec("施設・場所名", [("住所", "popup.address"),
                                                            ("受入対象者", "popup.shelter_for"),
                                                            ("備考", "popup.note")], lang)},
        })

    def legend(self, layer, lang):
        return [LegendItem(t("legend.shelter", lang), SHELTER_COLOR, "square")]
