"""Snow-depth sensors: points coloured by depth class, popup with the latest value in JST."""
from __future__ import annotations

from datetime import datetime

import orjson

from i18n import t
from layers.base import LayerKind, LegendItem, MapSpec, features_url, layer_attribution, popup_spec
from store.sensors import sensors_of_layer
from timezones import JST

# upper bounds (cm, exclusive) of the depth classes 0..5; the last class is open-ended
CLASS_BOUNDS = [0.5, 10, 30, 50, 100]
CLASS_COLORS = ["#d9f0ff", "#9ecae1", "#4292c6", "#2171b5", "#6a51a3", "#3f007d"]
NO_DATA_COLOR = "#9e9e9e"


def depth_class(value: float | None) -> int:
    """0 = no snow … 5 = 100 cm or more; -1 = no data."""
    if value is None:
        return -1
    for i, bound in enumerate(CLASS_BOUNDS):
        if value < bound:
            return i
    return len(CLASS_BOUNDS)


def to_jst(dt: datetime | None) -> str:
    return dt.astimezone(JST).strftime("%Y-%m-%d %H:%M") if dt else ""


class SnowDepthKind(LayerKind):
    kind = "snow_depth"

    def features(self, s, layer, bbox=None, at=None, zoom=None):
        feats = []
        for sensor in sensors_of_layer(s, layer.id):
            if bbox and not (bbox[0] <= sensor.lon <= bbox[2] and bbox[1] <= sensor.lat <= bbox[3]):
                continue
            feats.append({
                "type": "Feature", "id": sensor.id,
                "geometry": {"type": "Point", "coordinates": [round(sensor.lon, 6), round(sensor.lat, 6)]},
                "properties": {
                    "sensor_id": sensor.id, "name": sensor.name_ja, "name_en": sensor.name_en,
                    "address": sensor.address, "attribute": sensor.attribute, "unit": sensor.unit,
                    "value": sensor.last_value,
                    "observed_at": sensor.last_observed_at.isoformat() if sensor.last_observed_at else None,
                    "observed_jst": to_jst(sensor.last_observed_at),
                    "depth_class": depth_class(sensor.last_value),
                    "history_url": f"/sensors?sensor={sensor.id}",
                },
            })
        return orjson.dumps({"type": "FeatureCollection", "features": feats})

    def map_spec(self, layer, lang, zoom=None):
        hideout = {
            "colors": CLASS_COLORS, "noData": NO_DATA_COLOR,
            "popup": popup_spec("name_en" if lang == "en" else "name",
                                [("value", "popup.snow_depth"), ("observed_jst", "popup.observed")], lang,
                                unit={"value": t("unit.cm", lang)},
                                link={"key": "history_url", "label": t("popup.history", lang)},
                                empty=t("popup.no_data", lang),
                                badge=t("popup.demo", lang) if layer.options.get("demo") else ""),
        }
        return MapSpec(type="geojson", url=features_url(layer), refresh_s=30,
                       attribution=layer_attribution(layer, lang), props={
                           "pointToLayer": {"variable": "ishikawaMap.snowPoint"},
                           "onEachFeature": {"variable": "ishikawaMap.popup"},
                           "hideout": hideout,
                       })

    def legend(self, layer, lang):
        items = [LegendItem(t(f"legend.snow.{i}", lang), c, "circle") for i, c in enumerate(CLASS_COLORS)]
        return items + [LegendItem(t("legend.snow.none", lang), NO_DATA_COLOR, "circle"),
                        LegendItem(t("legend.snow.number", lang), "#ffffff", "number")]
