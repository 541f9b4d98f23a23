"""Road colours by time since a plow cleared them, the legend, and what the style function needs.

Road states go to the browser as {segment id: [minutes since epoch, work code]}; the browser's
style function (assets/snow.js) turns them into colours with the current (or replayed) time.
"""
from __future__ import annotations

import time as _time

from i18n import t
from layers.base import LegendItem

BANDS_H = [1, 3, 6, 12, 24]  # upper bounds (hours) of the age classes; older: not cleared
# a viridis-like sequence, dark (just cleared) to light (long ago): each step differs in lightness as
# well as hue, so it reads with every kind of colour-vision deficiency; "not cleared" is Okabe–Ito
# vermillion and drawn thinner
BAND_COLORS = ["#440154", "#3b528b", "#21918c", "#58b550", "#e6d11c"]
NOT_CLEARED_COLOR = "#d55e00"
TRAIL_COLORS = {"plowing": "#e7298a", "spreading": "#7b3294", "travel": "#555"}  # as assets/snow.js draws them
PLOW_COLORS = {"plowing": "#111111", "spreading": "#7b3294", "travel": "#666666", "idle": "#b08900",
               "offline": "#bbbbbb"}  # as the arrows are drawn (assets/style.css)


def legend_items(lang: str, win: float | None = None) -> list[LegendItem]:
    """The road colours; with a window of `win` hours (the /snow progress window) only the classes
    within it, and "not cleared in the last win hours" for the rest, as the map draws them."""
    labels = ["legend.plow.lt1", "legend.plow.1_3", "legend.plow.3_6", "legend.plow.6_12", "legend.plow.12_24"]
    items = [LegendItem(t(k, lang), c, "road") for k, c, bound in zip(labels, BAND_COLORS, BANDS_H)
             if win is None or bound <= win]
    none = (t("legend.plow.none", lang) if win is None or win >= BANDS_H[-1]
            else t("snow.legend.none_in", lang, hours=f"{win:g}"))
    return items + [LegendItem(none, NOT_CLEARED_COLOR, "road"),
                    LegendItem(t("legend.plow.spreading", lang), "#555", "dash")]


def style_hideout(lang: str, states: dict | None = None, at: float | None = None, win: float | None = None) -> dict:
    """What the road style function needs; win: hours of the chosen window (older clearings are drawn
    as not cleared), None: the full 24 hours."""
    return {"bands": BANDS_H, "colors": BAND_COLORS, "none": NOT_CLEARED_COLOR, "win": win,
            "s": states or {}, "t": at if at is not None else _time.time(),
            "labels": {"name": t("snow.segment", lang), "route": t("snow.route", lang), "area": t("snow.area", lang),
                       "cleared": t("snow.cleared_at", lang), "never": t("snow.not_cleared_24h", lang),
                       "plowing": t("snow.work.plowing", lang), "spreading": t("snow.work.spreading", lang)}}
