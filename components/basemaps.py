"""Base maps: 地理院タイル 標準 / 淡色 / 写真 and OpenStreetMap, each with its attribution."""
from __future__ import annotations

from i18n import t

GSI_ATTR = '<a href="https://maps.gsi.go.jp/development/ichiran.html" target="_blank" rel="noopener">{label}</a>'
OSM_ATTR = ('&copy; <a href="https://www.openstreetmap.org/copyright" target="_blank" rel="noopener">'
            'OpenStreetMap</a> contributors')

BASEMAPS = {
    "std": {"url": "https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png", "maxNativeZoom": 18, "gsi": True},
    "pale": {"url": "https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png", "maxNativeZoom": 18, "gsi": True},
    "photo": {"url": "https://cyberjapandata.gsi.go.jp/xyz/seamlessphoto/{z}/{x}/{y}.jpg", "maxNativeZoom": 18,
              "gsi": True},
    "osm": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "maxNativeZoom": 19, "gsi": False},
}


def basemap_options(lang: str) -> list[dict]:
    return [{"label": t(f"basemap.{key}", lang), "value": key} for key in BASEMAPS]


def basemap_attribution(key: str, lang: str) -> str:
    return GSI_ATTR.format(label=t("attribution.gsi", lang)) if BASEMAPS[key]["gsi"] else OSM_ATTR
