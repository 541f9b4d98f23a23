"""A layer fed by a broker shows when its data stopped coming (stale badge with the age)."""
from __future__ import annotations

from i18n import t
from store.models import Layer


def age_text(seconds: float | None, lang: str) -> str:
    if seconds is None:
        return t("status.no_data_yet", lang)
    s = int(seconds)
    if s < 120:
        return t("age.s", lang, n=s)
    if s < 7200:
        return t("age.m", lang, n=s // 60)
    if s < 2 * 86400:
        return t("age.h", lang, n=s // 3600)
    return t("age.d", lang, n=s // 86400)


def stale_badge(layer: Layer, states: dict[str, dict], lang: str) -> str:
    """'' while the layer's feed is fine (or it has none); else e.g. '更新停止中（最終取得 12分前）'."""
    feed = (layer.options or {}).get("feed")
    st = states.get(feed) if feed else None
    if not st or st["status"] == "ok":
        return ""
    if st["last_ok_at"] is None:
        return t("status.stale_age", lang, age=age_text(None, lang)) if st["status"] == "error" else ""
    return t("status.stale_age", lang, age=age_text(st["age_seconds"], lang))
