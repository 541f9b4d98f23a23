"""Snow-depth sensors: points coloured by depth class, popup with the latest value in JST and the
nearest camera within CAMERA_NEAREST_M (its latest thumbnail and a link to the full image), so a
road manager sees the road while reading the number. A public layer names public cameras only; a
private layer, which only its organisation's staff see, also that organisation's private ones."""
from __future__ import annotations

from datetime import datetime

import orjson

from i18n import t
from layers.base import LayerKind, LegendItem, MapSpec, features_url, layer_attribution, popup_spec
from store.sensors import public_address, sensors_of_layer, shown_id
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


def nearest_m() -> float:
    """CAMERA_NEAREST_M of the running app (the default when there is none)."""
    from flask import current_app, has_app_context

    settings = current_app.extensions.get("ishikawa.settings") if has_app_context() else None
    return float(getattr(settings, "camera_nearest_m", 3000.0))


def nearest_cameras(s, sensors: list, max_m: float, organisation_id: int | None) -> dict:
    """sensor id -> {"camera", "name", "name_en", "distance_m"} for the nearest camera within max_m
    metres of each sensor: public cameras, plus that organisation's private ones when given."""
    import math

    from sqlalchemy import or_, select

    from store.cameras import PUBLIC, Camera

    if not sensors or not max_m or max_m <= 0:
        return {}
    q = select(Camera)
    q = q.where(Camera.visibility == PUBLIC if organisation_id is None
                else or_(Camera.visibility == PUBLIC, Camera.organisation_id == organisation_id))
    cams = list(s.scalars(q))
    out = {}
    for sensor in sensors:
        best = None
        for cam in cams:
            dlat = math.radians(cam.lat - sensor.lat)
            dlon = math.radians(cam.lon - sensor.lon) * math.cos(math.radians((cam.lat + sensor.lat) / 2))
            dist = 6_371_000 * math.hypot(dlat, dlon)
            if dist <= max_m and (best is None or (dist, cam.id) < best[:2]):
                best = (dist, cam.id, cam)
        if best is not None:
            cam = best[2]
            out[sensor.id] = {"camera": cam.id, "name": cam.name_ja, "name_en": cam.name_en or cam.name_ja,
                              "distance_m": round(best[0])}
    return out


def to_jst(dt: datetime | None) -> str:
    return dt.astimezone(JST).strftime("%Y-%m-%d %H:%M") if dt else ""


class SnowDepthKind(LayerKind):
    kind = "snow_depth"

    def features(self, s, layer, bbox=None, at=None, zoom=None):
        feats = []
        sensors = [x for x in sensors_of_layer(s, layer.id)
                   if not bbox or (bbox[0] <= x.lon <= bbox[2] and bbox[1] <= x.lat <= bbox[3])]
        # features are shared by everyone who may see the layer: a public layer names public cameras only
        cams = nearest_cameras(s, sensors, nearest_m(),
                               None if layer.visibility == "public" else layer.organisation_id)
        for sensor in sensors:
            cam = cams.get(sensor.id)
            feats.append({
                "type": "Feature", "id": shown_id(sensor),
                "geometry": {"type": "Point", "coordinates": [round(sensor.lon, 6), round(sensor.lat, 6)]},
                "properties": {
                    "sensor_id": shown_id(sensor), "name": sensor.name_ja, "name_en": sensor.name_en,
                    "address": sensor.address, "attribute": sensor.attribute, "unit": sensor.unit,
                    "value": sensor.last_value,
                    "observed_at": sensor.last_observed_at.isoformat() if sensor.last_observed_at else None,
                    "observed_jst": to_jst(sensor.last_observed_at),
                    "depth_class": depth_class(sensor.last_value),
                    "history_url": f"/sensors?sensor={public_address(s, sensor)}",
                    **({"camera_id": cam["camera"], "camera_name": cam["name"], "camera_name_en": cam["name_en"],
                        "camera_m": cam["distance_m"], "camera_thumb": f"/api/cameras/{cam['camera']}/thumb.jpg",
                        "camera_url": f"/api/cameras/{cam['camera']}/latest.jpg"} if cam else {}),
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
            "camera": {"title": t("snowdepth.camera.nearest", lang, name="{name}", m="{m}"),
                       "alt": t("camera.popup.alt", lang, name="{name}")},
            "lang": lang,
        }
        return MapSpec(type="geojson", url=features_url(layer), refresh_s=30,
                       attribution=layer_attribution(layer, lang), props={
                           "pointToLayer": {"variable": "ishikawaMap.snowPoint"},
                           "onEachFeature": {"variable": "ishikawaMap.snowDepthPopup"},
                           "hideout": hideout,
                       })

    def legend(self, layer, lang):
        items = [LegendItem(t(f"legend.snow.{i}", lang), c, "circle") for i, c in enumerate(CLASS_COLORS)]
        return items + [LegendItem(t("legend.snow.none", lang), NO_DATA_COLOR, "circle"),
                        LegendItem(t("legend.snow.number", lang), "#ffffff", "number")]
