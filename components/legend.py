"""Legend entries as HTML: swatches drawn with CSS, labels as text."""
from __future__ import annotations

from typing import TYPE_CHECKING

from dash import dcc, html

from i18n import t

if TYPE_CHECKING:  # types only
    from layers.base import LegendItem
    from layers.visible import PanelLayer


# the text inside a swatch, as the map draws that marker
MARK_TEXT = {"marker": "AED", "camera": "\U0001F4F7", "cluster": "12", "aed-cluster": "12", "number": "32"}


def mark_item(label: str, classes: str, color: str | None = None, text: str | None = None) -> html.Li:
    """One legend entry: a single <li> whose swatch CSS draws before its text (`classes` are the
    swatch's: `swatch-circle`, `plow-state-swatch`, …). One element instead of three: the map
    pages hold a few dozen of these, and every element Dash draws costs a phone's CPU on load."""
    extra = {"data-mark": text} if text else {}
    return html.Li(label, className=f"mark {classes}", style={"--swatch": color} if color else None, **extra)


def item_li(item: LegendItem) -> html.Li:
    return mark_item(item.label, f"swatch-{item.shape}", item.color, MARK_TEXT.get(item.shape))


def legend_block(title: str, items: list[LegendItem], extra=None, layer_id: str = "") -> html.Div:
    return html.Div(className="legend-block", **({"data-layer": layer_id} if layer_id else {}), children=[
        html.Div(title, className="legend-title"),
        html.Ul([item_li(i) for i in items], className="legend-items"),
        *([extra] if extra is not None else []),
    ])


def legend_children(layers: list[PanelLayer], checked: set[str], lang: str, opacity: dict[str, float],
                    prefix: str = "home") -> list:
    blocks = []
    for pl in layers:
        if pl.id not in checked or not pl.legend:
            continue
        extra = None
        if pl.spec.opacity is not None:
            extra = html.Label(className="opacity", children=[
                html.Span(t("panel.opacity", lang)),
                dcc.Slider(id={"type": f"{prefix}-opacity", "layer": pl.id}, min=0, max=1, step=0.1,
                           value=opacity.get(pl.id, pl.spec.opacity), marks=None,
                           tooltip={"placement": "bottom", "always_visible": False}),
            ])
        blocks.append(legend_block(pl.name, pl.legend, extra, layer_id=pl.id))
    if any(pl.exclusive == "depth" and pl.id in checked for pl in layers):
        blocks.append(html.P(t("panel.hazard_note", lang), className="legend-note"))
    return blocks
