"""The layers a visitor may see, with what the map and the panel need to show them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from i18n import t
from layers.base import LegendItem, MapSpec, layer_name
from layers.builtin import GROUP_LABELS, GROUPS
from layers.registry import kind_of
from layers.snow_depth import JST
from store.feeds import feed_states
from store.layers import public_layers


@dataclass
class PanelLayer:
    id: str
    group: str
    name: str
    kind: str
    default_visible: bool
    exclusive: str | None  # layers sharing a non-empty value are shown one at a time
    spec: MapSpec
    legend: list[LegendItem]
    feed: str | None = None  # the feed that keeps this layer current, if any


def visible_layers(s: Session, lang: str, zoom: int | None = None) -> list[PanelLayer]:
    """Public layers only for now; staff visibility arrives with log-in (issue 4)."""
    out = []
    for layer in public_layers(s):
        kind = kind_of(layer)
        out.append(PanelLayer(
            id=layer.id, group=layer.group, name=layer_name(layer, lang), kind=layer.kind,
            default_visible=layer.default_visible,
            exclusive=getattr(kind, "exclusive_group", lambda _l: None)(layer),
            spec=kind.map_spec(layer, lang, zoom), legend=kind.legend(layer, lang),
            feed=(layer.options or {}).get("feed")))
    return out


def stale_notices(s: Session, layers: list[PanelLayer], checked: set[str], lang: str,
                  now: datetime | None = None) -> list[str]:
    """One line per shown layer whose feed stopped: the map must not pass old data off as current."""
    states = feed_states(s, now)
    notices = []
    for pl in layers:
        state = states.get(pl.feed or "")
        if pl.id not in checked or state is None or state["status"] in ("ok", "starting"):
            continue
        last = datetime.fromisoformat(state["last_ok_at"]).astimezone(JST).strftime("%m/%d %H:%M") \
            if state["last_ok_at"] else t("status.never", lang)
        notices.append(t("status.layer_stale", lang, layer=pl.name, last=last))
    return notices


def group_order(layers: list[PanelLayer]) -> list[str]:
    extra = sorted({pl.group for pl in layers} - set(GROUPS))
    return [g for g in GROUPS if any(pl.group == g for pl in layers)] + extra


def group_label(group: str, lang: str) -> str:
    return t(GROUP_LABELS[group], lang) if group in GROUP_LABELS else group
