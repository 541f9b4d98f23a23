"""The snow-melting device layer (消雪装置): one point per device the viewer may see, coloured by
state (稼働中 / 停止 / 故障; grey when the device stopped reporting), with the time the state
changed and the age of the last report in the popup (assets/road_info.js `melterPopup`, which
escapes every text). Read from the melting_devices table; private devices only for their
organisation's staff (`per_viewer`: the features route never shares them between viewers).
"""
from __future__ import annotations

import time

import orjson

from i18n import t
from layers.base import LayerKind, LegendItem, MapSpec, layer_attribution
from store.db import utcnow
from store.melters import FAULT, RUNNING, STOPPED, is_stale, shown_id, visible_devices
from timezones import JST

LAYER_ID = "snow-melters"
COLORS = {RUNNING: "#1f77b4", STOPPED: "#f2b701", FAULT: "#d62728", "stale": "#8a8a8a", "": "#8a8a8a"}


def age_minutes(at, now) -> int | None:
    return None if at is None else max(0, int((now - at).total_seconds() // 60))


def device_properties(dev, now) -> dict:
    stale = is_stale(dev, now)
    return {
        "id": shown_id(dev), "name": dev.name_ja, "name_en": dev.name_en or dev.name_ja, "road": dev.road,
        "state": dev.state or "", "stale": stale, "demo": dev.origin == "demo",
        "private": dev.visibility != "public",
        "since": dev.state_since.isoformat() if dev.state_since else None,
        "since_jst": dev.state_since.astimezone(JST).strftime("%Y-%m-%d %H:%M") if dev.state_since else None,
        "reported_at": dev.reported_at.isoformat() if dev.reported_at else None,
        "reported_jst": dev.reported_at.astimezone(JST).strftime("%Y-%m-%d %H:%M") if dev.reported_at else None,
        "age_min": age_minutes(dev.reported_at, now),
    }


def melter_features(s, viewer=None, bbox=None, now=None) -> list[dict]:
    now = now or utcnow()
    return [{"type": "Feature", "id": shown_id(dev),
             "geometry": {"type": "Point", "coordinates": [round(dev.lon, 6), round(dev.lat, 6)]},
             "properties": device_properties(dev, now)} for dev in visible_devices(s, viewer, bbox)]


def popup_labels(lang: str) -> dict:
    return {"states": {st: t(f"melter.state.{st}", lang) for st in (RUNNING, STOPPED, FAULT)},
            "unknown": t("melter.state.unknown", lang), "stale": t("melter.popup.stale", lang),
            "since": t("melter.popup.since", lang), "reported": t("melter.popup.reported", lang),
            "age": t("melter.popup.age", lang, minutes="{m}"), "road": t("melter.popup.road", lang),
            "demo": t("melter.popup.demo", lang), "private": t("melter.popup.private", lang)}


class MeltersKind(LayerKind):
    kind = "melters"
    per_viewer = True

    def features(self, s, layer, bbox=None, at=None, zoom=None, viewer=None):
        return orjson.dumps({"type": "FeatureCollection", "features": melter_features(s, viewer, bbox)})

    def map_spec(self, layer, lang, zoom=None):
        url = f"/api/layers/{layer.id}/features?v={layer.version}-{int(time.time() // 60)}"
        hideout = {"colors": COLORS, "lang": lang, "melter": popup_labels(lang)}
        props = {"pointToLayer": {"variable": "ishikawaMap.melterPoint"},
                 "onEachFeature": {"variable": "ishikawaMap.melterPopup"},
                 "hideout": hideout}
        return MapSpec(type="geojson", url=url, refresh_s=60, attribution=layer_attribution(layer, lang),
                       props=props)

    def legend(self, layer, lang):
        return [LegendItem(t(f"melter.state.{st}", lang), COLORS[st]) for st in (RUNNING, STOPPED, FAULT)] + \
            [LegendItem(t("melter.popup.stale", lang), COLORS["stale"])]
