"""Layers fed by brokers: sensors with their latest value (water level, any numeric attribute),
and plain points (PointOfInterest, vehicles' latest fixes) with their attributes in the popup."""
from __future__ import annotations

from i18n import t
from layers.base import LegendItem, MapSpec, StoredFeaturesKind, features_url, layer_attribution, popup_spec
from layers.snow_depth import SnowDepthKind

SENSOR_COLOR = "#0077b6"
POINT_COLORS = {"points": "#7b2cbf", "vehicles": "#e85d04"}


class SensorPointsKind(SnowDepthKind):
    """Latest value of each sensor, a link to its history (the features are SnowDepthKind's)."""

    kind = "sensor_points"

    def map_spec(self, layer, lang, zoom=None):
        hideout = {
            "color": SENSOR_COLOR,
            "popup": popup_spec("name", [("value", "popup.value"), ("unit", "popup.unit"),
                                         ("observed_jst", "popup.observed")], lang,
                                link={"key": "history_url", "label": t("popup.history", lang)},
                                empty=t("popup.no_data", lang)),
        }
        return MapSpec(type="geojson", url=features_url(layer), refresh_s=30,
                       attribution=layer_attribution(layer, lang), props={
                           "pointToLayer": {"variable": "ishikawaMap.squarePoint"},
                           "onEachFeature": {"variable": "ishikawaMap.popup"},
                           "hideout": hideout,
                       })

    def legend(self, layer, lang):
        return [LegendItem(t("legend.sensor", lang), SENSOR_COLOR, "square")]


class NgsiPointsKind(StoredFeaturesKind):
    kind = "ngsi_points"

    def map_spec(self, layer, lang, zoom=None):
        role = layer.options.get("role", "points")
        fields = ([("speed", "popup.speed"), ("heading", "popup.heading"), ("observed_at", "popup.observed")]
                  if role == "vehicles" else
                  [("entity_type", "popup.type"), ("address", "popup.address"), ("description", "popup.note"),
                   ("observed_at", "popup.observed")])
        return MapSpec(type="geojson", url=features_url(layer), refresh_s=30 if role == "vehicles" else None,
                       attribution=layer_attribution(layer, lang), props={
                           "pointToLayer": {"variable": "ishikawaMap.squarePoint"},
                           "onEachFeature": {"variable": "ishikawaMap.popup"},
                           "hideout": {"color": POINT_COLORS.get(role, POINT_COLORS["points"]),
                                       "popup": popup_spec("name", fields, lang)},
                       })

    def legend(self, layer, lang):
        role = layer.options.get("role", "points")
        return [LegendItem(t(f"legend.ngsi_{role}", lang), POINT_COLORS.get(role, "#7b2cbf"), "square")]
