"""The road restriction layer (通行規制): the restrictions in force now that the viewer may see —
lines along the road, or points — coloured by type (通行止め, 片側交互通行, チェーン規制, 冬期閉鎖,
車線規制, その他), with type, road, section, reason and period (JST) in the popup
(assets/road_info.js `restrictionStyle` / `restrictionPopup`, which escape every text). Private
restrictions only for their organisation's staff (`per_viewer`).
"""
from __future__ import annotations

import time

import orjson

from i18n import t
from layers.base import LayerKind, LegendItem, MapSpec, layer_attribution
from store.db import utcnow
from store.restrictions import KINDS, is_in_force, visible_restrictions
from timezones import JST

LAYER_ID = "road-restrictions"
COLORS = {"closure": "#d62728", "alternating": "#ff7f0e", "chain": "#6a3d9a", "winter_closure": "#333333",
          "lane": "#e6b800", "other": "#7f7f7f"}


# /snow shows, beside those in force at the moment shown, those starting within SNOW_UPCOMING_H and
# those ended within SNOW_ENDED_H (assets/snow.js sorts them; the legend says so)
SNOW_UPCOMING_H = 7 * 24
SNOW_ENDED_H = 24


def jst(dt) -> str | None:
    return dt.astimezone(JST).strftime("%Y-%m-%d %H:%M") if dt else None


def restriction_properties(r, now) -> dict:
    # the source's own words for the type, when they say more than our type's name
    kind_text = "" if r.kind_text == t(f"restriction.kind.{r.kind}", "ja") else r.kind_text
    return {"id": r.id, "kind": r.kind, "kind_text": kind_text, "road": r.road, "section": r.section,
            "reason": r.reason, "start": r.starts_at.isoformat() if r.starts_at else None,
            "end": r.ends_at.isoformat() if r.ends_at else None, "start_jst": jst(r.starts_at),
            "end_jst": jst(r.ends_at), "in_force": is_in_force(r, now), "source": r.source,
            "demo": r.origin == "demo", "private": r.visibility != "public"}


def restriction_features(s, viewer=None, bbox=None, at=None, in_force_only=True, now=None) -> list[dict]:
    now = now or utcnow()
    rows = visible_restrictions(s, viewer, bbox, (at or now) if in_force_only else None)
    return [{"type": "Feature", "id": r.id, "geometry": r.geometry_dict(),
             "properties": restriction_properties(r, now)} for r in rows]


def popup_labels(lang: str) -> dict:
    return {"kinds": {k: t(f"restriction.kind.{k}", lang) for k in KINDS},
            "road": t("restriction.popup.road", lang), "section": t("restriction.popup.section", lang),
            "reason": t("restriction.popup.reason", lang), "period": t("restriction.popup.period", lang),
            "open": t("restriction.popup.open", lang), "source": t("restriction.popup.source", lang),
            "demo": t("restriction.popup.demo", lang), "private": t("restriction.popup.private", lang),
            "ended": t("restriction.popup.not_in_force", lang),
            "states": {k: t(f"restriction.state.{k}", lang) for k in ("upcoming", "ended")}}


def state_legend(lang: str) -> list[tuple[str, str]]:
    """/snow's three kinds of restriction: (state, label)."""
    return [("in_force", t("restriction.legend.in_force", lang)),
            ("upcoming", t("restriction.legend.upcoming", lang, days=SNOW_UPCOMING_H // 24)),
            ("ended", t("restriction.legend.ended", lang, hours=SNOW_ENDED_H))]


class RestrictionsKind(LayerKind):
    kind = "restrictions"
    per_viewer = True

    def features(self, s, layer, bbox=None, at=None, zoom=None, viewer=None):
        return orjson.dumps({"type": "FeatureCollection",
                             "features": restriction_features(s, viewer, bbox, at)})

    def map_spec(self, layer, lang, zoom=None):
        # a new URL every minute: restrictions that start or end drop in and out
        url = f"/api/layers/{layer.id}/features?v={layer.version}-{int(time.time() // 60)}"
        hideout = {"colors": COLORS, "lang": lang, "restriction": popup_labels(lang)}
        props = {"style": {"variable": "ishikawaMap.restrictionStyle"},
                 "pointToLayer": {"variable": "ishikawaMap.restrictionPoint"},
                 "onEachFeature": {"variable": "ishikawaMap.restrictionPopup"},
                 "hideout": hideout}
        return MapSpec(type="geojson", url=url, refresh_s=60, attribution=layer_attribution(layer, lang),
                       props=props)

    def legend(self, layer, lang):
        return [LegendItem(t(f"restriction.kind.{k}", lang), COLORS[k], "line")
                for k in ("closure", "alternating", "chain", "winter_closure")]
