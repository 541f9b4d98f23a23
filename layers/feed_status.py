"""A layer whose feed stopped shows since when, in the layer panel (stale badge with the age)."""
from __future__ import annotations

from i18n import t


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


def stale_badges(s, lang: str, now=None) -> dict[str, str]:
    """feed name -> ' ⚠ 更新停止中（最終取得 12分前）' for every feed that stopped (for the layer panel)."""
    from store.feeds import feed_states

    out = {}
    for name, st in feed_states(s, now).items():
        if st["status"] in ("ok", "starting"):
            continue
        age = age_text(st["age_seconds"], lang) if st["last_ok_at"] else t("status.no_data_yet", lang)
        out[name] = " ⚠ " + t("status.stale_age", lang, age=age)
    return out
