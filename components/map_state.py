"""The public map's state as it travels in the URL: centre, zoom, layers, base map, language.

Plain functions (no Dash), so tests call them directly; the browser side mirrors `to_query`
in assets/map.js (ishikawaMap.stateQuery).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from i18n import normalize_lang

DEFAULT_CENTER = (36.75, 136.75)  # lat, lon: the whole prefecture from 加賀 to 能登
DEFAULT_ZOOM = 9
BASEMAPS = ("std", "pale", "photo", "osm")
DEFAULT_BASE = "std"


@dataclass
class MapState:
    lat: float = DEFAULT_CENTER[0]
    lon: float = DEFAULT_CENTER[1]
    zoom: int = DEFAULT_ZOOM
    layers: list[str] | None = None  # None: the default layers
    base: str = DEFAULT_BASE
    lang: str = "ja"
    opacity: dict[str, float] = field(default_factory=dict)


def _num(value, default, lo, hi, cast=float):
    """A number from the URL within [lo, hi], else the default (inf, 1e309, nan, text: default)."""
    try:
        v = float(str(value)[:40])
        if not lo <= v <= hi:  # also false for nan; inf never reaches int()
            return default
        return cast(v)
    except (TypeError, ValueError, OverflowError):
        return default


def parse_state(query: dict, known_layers: set[str]) -> MapState:
    """Read the state from query parameters; anything unknown or broken falls back to defaults."""
    st = MapState()
    st.lat = _num(query.get("lat"), st.lat, -90, 90)
    st.lon = _num(query.get("lon"), st.lon, -180, 180)
    st.zoom = _num(query.get("z"), st.zoom, 2, 18, int)
    base = str(query.get("base") or "")
    st.base = base if base in BASEMAPS else DEFAULT_BASE
    st.lang = normalize_lang(query.get("lang"))
    if "layers" in query:
        raw = str(query.get("layers") or "")
        st.layers = [x for x in raw.split(",") if x in known_layers]
    for item in str(query.get("op") or "").split(","):
        key, _, val = item.partition(":")
        if key in known_layers:
            st.opacity[key] = _num(val, 0.7, 0, 1)
    return st


def to_query(st: MapState) -> str:
    params = {"lat": f"{st.lat:.5f}", "lon": f"{st.lon:.5f}", "z": str(st.zoom),
              "layers": ",".join(st.layers or []), "base": st.base, "lang": st.lang}
    if st.opacity:
        params["op"] = ",".join(f"{k}:{v:g}" for k, v in sorted(st.opacity.items()))
    return "?" + urlencode(params, safe=",:")


def exclusive_selection(previous: list[str], current: list[str], exclusive: set[str]) -> list[str]:
    """Keep at most one of `exclusive` checked: the one just added wins."""
    chosen = [x for x in current if x in exclusive]
    if len(chosen) <= 1:
        return current
    added = [x for x in chosen if x not in previous]
    keep = added[-1] if added else chosen[-1]
    return [x for x in current if x not in exclusive or x == keep]


def frame_for_bbox(bbox: tuple[float, float, float, float] | None, width_px: int = 600,
                   height_px: int = 600) -> tuple[float, float, int]:
    """(lat, lon, zoom) that shows this bounding box (minx, miny, maxx, maxy) in a map of about
    this size (small enough for a phone, so the whole area is seen on every screen); None: the
    whole prefecture. Used for an organisation's portal (/o/<code>)."""
    import math

    if not bbox:
        return DEFAULT_CENTER[0], DEFAULT_CENTER[1], DEFAULT_ZOOM
    minx, miny, maxx, maxy = bbox
    lat = (miny + maxy) / 2
    dx = max(maxx - minx, 1e-4)
    dy = max(maxy - miny, 1e-4) / max(math.cos(math.radians(lat)), 0.1)
    zoom = int(math.floor(min(math.log2(width_px / 256 * 360 / dx), math.log2(height_px / 256 * 360 / dy))))
    return lat, (minx + maxx) / 2, min(max(zoom, 7), 15)
def unavailable_layers(query: dict, known_layers: set[str]) -> list[str]:
    """Layer ids a link names that this viewer cannot see (private, removed or never existed),
    in link order, each at most 60 characters (they are shown back as text)."""
    raw = str(query.get("layers") or "")[:2000]
    out = []
    for x in raw.split(","):
        x = x.strip()
        if x and x not in known_layers and x[:60] not in out:
            out.append(x[:60])
    return out
