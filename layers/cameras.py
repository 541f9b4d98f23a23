"""The camera layer: one marker per camera the viewer may see (public cameras, plus their own
organisation's private ones for staff), read from the cameras table — not from stored features.
The popup shows the latest thumbnail by URL (never inlined), its time in JST, a 停止中 badge
when no good snapshot came for three intervals (assets/map.js `cameraPopupHtml`, which escapes every
text) and a slider and strip over the last 24 hours of snapshots (assets/map_cameras.js).

Features differ by viewer, so `per_viewer` tells the features route never to share them between
viewers; callers that pass no viewer (catalogue, OGC API, CSV) get the public cameras only.
"""
from __future__ import annotations

import time

import orjson

from i18n import t
from layers.base import LayerKind, LegendItem, MapSpec, layer_attribution
from store.cameras import is_stale, latest_images, visible_cameras
from store.db import utcnow
from timezones import JST

COLOR = "#0b6e99"
STALE_COLOR = "#8a8a8a"


def camera_features(s, viewer=None, bbox=None, now=None) -> list[dict]:
    now = now or utcnow()
    cams = visible_cameras(s, viewer, bbox)
    latest = latest_images(s, [c.id for c in cams])
    out = []
    for cam in cams:
        img = latest.get(cam.id)
        props = {
            "id": cam.id, "name": cam.name_ja, "name_en": cam.name_en or cam.name_ja,
            "stale": is_stale(cam, now), "demo": bool(cam.demo),
            "private": cam.visibility != "public",
            "taken_at": img.taken_at.isoformat() if img else None,
            "taken_jst": img.taken_at.astimezone(JST).strftime("%Y-%m-%d %H:%M") if img else None,
            "thumb_url": f"/api/cameras/{cam.id}/thumb.jpg?i={img.id}" if img else None,
            "image_url": f"/api/cameras/{cam.id}/latest.jpg?i={img.id}" if img else None,
        }
        out.append({"type": "Feature", "id": cam.id,
                    "geometry": {"type": "Point", "coordinates": [round(cam.lon, 6), round(cam.lat, 6)]},
                    "properties": props})
    return out


class CamerasKind(LayerKind):
    kind = "cameras"
    per_viewer = True

    def features(self, s, layer, bbox=None, at=None, zoom=None, viewer=None):
        return orjson.dumps({"type": "FeatureCollection", "features": camera_features(s, viewer, bbox)})

    def map_spec(self, layer, lang, zoom=None):
        # a new URL every minute: the map reloads the markers (and so the latest thumbnails)
        url = f"/api/layers/{layer.id}/features?v={layer.version}-{int(time.time() // 60)}"
        hideout = {"color": COLOR, "staleColor": STALE_COLOR, "lang": lang,
                   "camera": {"taken": t("camera.popup.taken_at", lang, time="{time}"),
                              "stale": t("camera.popup.stale", lang),
                              "none": t("camera.popup.no_image", lang),
                              "demo": t("camera.popup.demo", lang),
                              "alt": t("camera.popup.alt", lang, name="{name}"),
                              "strip": t("camera.strip.title", lang), "slider": t("camera.strip.slider", lang),
                              "loading": t("camera.strip.loading", lang), "empty": t("camera.strip.empty", lang)}}
        props = {"pointToLayer": {"variable": "ishikawaMap.cameraPoint"},
                 "onEachFeature": {"variable": "ishikawaMap.cameraPopupWithStrip"},
                 "hideout": hideout}
        return MapSpec(type="geojson", url=url, refresh_s=60, attribution=layer_attribution(layer, lang),
                       props=props)

    def legend(self, layer, lang):
        return [LegendItem(t("camera.legend", lang), COLOR, "camera"),
                LegendItem(t("camera.legend_stale", lang), STALE_COLOR, "camera")]
