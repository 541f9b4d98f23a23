"""The layers a visitor may see, with what the map and the panel need to show them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from i18n import t
from layers.base import LegendItem, MapSpec, kind_of, layer_name
from layers.builtin import GROUP_LABELS, GROUPS
from store.feeds import feed_states
from store.layers import visible_layer_rows
from store.models import PRIVATE
from timezones import JST


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
    group_name: str = ""  # the menu group's label in this language
    private: bool = False  # shown only to staff allowed to see it


def visible_layers(s: Session, lang: str, zoom: int | None = None, staff=None) -> list[PanelLayer]:
    """Public layers, plus the private ones `staff` (a store.users.Staff, None = anonymous) may see."""
    from store.menu_groups import group_labels

    labels = group_labels(s)
    out = []
    for layer in visible_layer_rows(s, staff):
        kind = kind_of(layer)
        private = layer.visibility == PRIVATE
        name = layer_name(layer, lang) + (t("layers.private_suffix", lang) if private else "")
        group_name = (labels[layer.group][1 if lang == "en" else 0] if layer.group in labels
                      else group_label(layer.group, lang))
        out.append(PanelLayer(
            id=layer.id, group=layer.group, name=name, kind=layer.kind,
            default_visible=layer.default_visible,
            exclusive=getattr(kind, "exclusive_group", lambda _l: None)(layer),
            spec=kind.map_spec(layer, lang, zoom), legend=kind.legend(layer, lang),
            feed=(layer.options or {}).get("feed"), group_name=group_name, private=private))
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


def group_label(group: str, lang: str, layers: list[PanelLayer] | None = None) -> str:
    if group in GROUP_LABELS:
        return t(GROUP_LABELS[group], lang)
    return next((pl.group_name for pl in layers or [] if pl.group == group and pl.group_name), group)
