"""What the controls of a map page (`/`, a city's portal `/o/<code>`) send back to its callbacks,
read defensively — anyone can post a crafted callback, so nothing here may raise — and which layer
URLs a refresh changes."""
from __future__ import annotations

from dash import no_update

from layers.base import bbox_param


def zoom_level(zoom) -> int | None:
    """The map's zoom as a whole number 0–24; None for anything else (inf, 1e309, nan, text)."""
    try:
        return min(max(int(round(float(zoom))), 0), 24)
    except (TypeError, ValueError, OverflowError):
        return None


def checked_layers(values) -> set[str]:
    """The layer ids ticked in the panel's check lists (one list per menu group)."""
    return {x for group in values or [] for x in (group or []) if isinstance(x, str)}


def opacities(values, ids) -> dict[str, float]:
    """Layer id -> opacity (0–1) from the opacity sliders' values and pattern ids."""
    out = {}
    for v, i in zip(values or [], ids or []):
        try:
            out[str((i or {}).get("layer"))] = min(max(float(v), 0.0), 1.0)
        except (TypeError, ValueError, AttributeError):
            continue
    return out


def refreshed_urls(specs: dict, ids: list[str], urls: list | None, bounds, zoom: int | None) -> list:
    """For each shown vector layer (`ids`, its current `urls`): its new URL, or no_update. A layer
    gets a new URL only when its data version or level of detail changed (or, for layers read by
    bbox, when the view left the area asked for). `specs`: layer id -> MapSpec of what the visitor
    may see now."""
    view = bbox_param(bounds, zoom)
    out = []
    for layer_id, url in zip(ids, urls or [None] * len(ids)):
        spec = specs.get(layer_id)
        wanted = spec.url + (f"&bbox={view}" if spec.bbox and view else "") if spec is not None else None
        changed = spec is not None and (spec.refresh_s or spec.lod) and wanted != url
        out.append(wanted if changed else no_update)
    return out
