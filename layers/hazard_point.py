"""「この地点の災害リスク」: what the hazard overlays show at one point.

The same tiles as the overlays (layers/hazard.py, ハザードマップポータルサイト): the tile at the
finest zoom that covers the point is fetched (through the outbound guard, sources/url_guard.py, and
kept in the shared cache), the pixel under the point is read, and its colour is mapped to the
legend class (the colour scales in layers/hazard.py). A tile the server does not have (404) or a
transparent pixel means "not in the mapped area"; a tile that cannot be fetched means "unknown" —
never "safe".
"""
from __future__ import annotations

import io
import logging
import math

from i18n import t
from layers import hazard

log = logging.getLogger(__name__)

ZOOM = 17  # the tiles' finest native zoom
MAX_TILE_BYTES = 2 * 1024 * 1024
TILE_TIMEOUT_S = 5.0
CACHE_S = 24 * 3600
MATCH_DISTANCE = 40  # RGB distance within which a pixel counts as a legend colour (edges blend)

# colour -> (class key, severity rank). Depth classes as in GSI's legend (the two marked
# "only where provided" appear in some tiles only).
DEPTH_CLASSES = [
    ("#FFFFB3", "legend.depth.lt03", 1), ("#F7F5A9", "legend.depth.lt05", 2),
    ("#F8E1A6", "legend.depth.05_1", 3), ("#FFD8C0", "legend.depth.05_3", 4),
    ("#FFB7B7", "legend.depth.3_5", 5), ("#FF9191", "legend.depth.5_10", 6),
    ("#F285C9", "legend.depth.10_20", 7), ("#DC7ADC", "legend.depth.ge20", 8),
]
DEBRIS_CLASSES = [("#E6C832", "legend.sediment.debris", 1), ("#A50021", "legend.sediment.debris_special", 2)]
SLOPE_CLASSES = [("#FAE600", "legend.sediment.slope", 1), ("#FA2800", "legend.sediment.slope_special", 2)]

# what the point check reports: (key, title key, [(tile id, colour classes)], caveat key)
HAZARDS = [
    ("flood", "layer.hazard_flood", [("01_flood_l2_shinsuishin_data", DEPTH_CLASSES)], "hazard_point.caveat.flood"),
    ("sediment", "layer.hazard_sediment", [("05_dosekiryukeikaikuiki", DEBRIS_CLASSES),
                                           ("05_kyukeishakeikaikuiki", SLOPE_CLASSES)], "hazard_point.caveat.sediment"),
    ("tsunami", "layer.hazard_tsunami", [("04_tsunami_newlegend_data", DEPTH_CLASSES)], "hazard_point.caveat.depth"),
    ("storm_surge", "layer.hazard_storm_surge", [("03_hightide_l2_shinsuishin_data", DEPTH_CLASSES)],
     "hazard_point.caveat.depth"),
]


def tile_pixel(lat: float, lon: float, zoom: int = ZOOM) -> tuple[int, int, int, int]:
    """(tile x, tile y, pixel x, pixel y) of a WGS84 point in the 256 px Web Mercator grid."""
    n = 2 ** zoom
    lat = max(min(lat, 85.05112878), -85.05112878)
    fx = (lon + 180.0) / 360.0 * n
    fy = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n
    tx, ty = min(int(fx), n - 1), min(int(fy), n - 1)
    return tx, ty, min(int((fx - tx) * 256), 255), min(int((fy - ty) * 256), 255)


def _rgb(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def classify(rgba: tuple[int, int, int, int] | None, classes) -> tuple[str, int, str] | None:
    """The legend class of a pixel colour: (label key, rank, legend colour), or None when the
    pixel is transparent or matches no class."""
    if rgba is None or rgba[3] < 32:
        return None
    best = None
    for color, key, rank in classes:
        r, g, b = _rgb(color)
        dist = math.sqrt((rgba[0] - r) ** 2 + (rgba[1] - g) ** 2 + (rgba[2] - b) ** 2)
        if dist <= MATCH_DISTANCE and (best is None or dist < best[0]):
            best = (dist, key, rank, color)
    return None if best is None else best[1:]


def read_pixel(png: bytes, px: int, py: int) -> tuple[int, int, int, int] | None:
    """RGBA of one pixel of a PNG tile (palette and greyscale tiles converted)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        im.load()
        return tuple(im.convert("RGBA").getpixel((px, py)))


class TileUnavailable(Exception):
    """The tile server could not be reached or answered with an error (not a 404)."""


FAILED = b"!"  # cached mark of a tile that could not be fetched (retried after FAILED_CACHE_S)
FAILED_CACHE_S = 120


def download_tile(url: str, client=None) -> bytes | None:
    """A tile's bytes, None when the server has no tile there (404: nothing mapped); through the
    outbound guard. TileUnavailable when it cannot be fetched."""
    from sources.url_guard import guarded_client, read_limited

    own = client is None
    http = client or guarded_client(timeout=TILE_TIMEOUT_S, follow_redirects=True, max_redirects=3)
    try:
        with http.stream("GET", url) as resp:
            if resp.status_code == 404:
                return None
            if resp.status_code >= 400:
                raise TileUnavailable(f"HTTP {resp.status_code}")
            return read_limited(resp, MAX_TILE_BYTES)
    except TileUnavailable:
        raise
    except Exception as exc:  # offline, refused by the guard, timeout, too large
        log.info("hazard tile %s: %s", url, getattr(exc, "detail", exc))
        raise TileUnavailable(str(exc)) from None
    finally:
        if own:
            http.close()


def fetch_tiles(urls: list[str]) -> dict:
    """url -> bytes, None (no tile there) or a TileUnavailable; the shared cache first (a day for
    tiles, two minutes for failures), the rest fetched in parallel."""
    from concurrent.futures import ThreadPoolExecutor

    from store.cache import cache

    out: dict = {}
    for url in urls:
        try:
            hit = cache.get("hazard-tile:" + url)
        except Exception:  # no app context (scripts): no cache
            hit = None
        if hit is not None:
            out[url] = TileUnavailable("cached failure") if hit == FAILED else (hit or None)
    missing = [u for u in urls if u not in out]

    def one(url):
        try:
            return download_tile(url)
        except TileUnavailable as exc:
            return exc

    if missing:
        with ThreadPoolExecutor(max_workers=min(len(missing), 6)) as pool:
            for url, result in zip(missing, pool.map(one, missing)):
                out[url] = result
                failed = isinstance(result, TileUnavailable)
                try:
                    cache.set("hazard-tile:" + url, FAILED if failed else (result or b""),
                              timeout=FAILED_CACHE_S if failed else CACHE_S)
                except Exception:
                    pass
    return out


def hazard_at(lat: float, lon: float, lang: str, fetch=fetch_tiles) -> dict:
    """What each hazard overlay shows at the point:
    {"lat", "lon", "hazards": [{"key", "title", "status": in|none|unknown, "class", "label",
    "color", "caveat"}], "source", "caveat"}."""
    tx, ty, px, py = tile_pixel(lat, lon)

    def url_of(tile_id: str) -> str:
        return hazard.TILE_URL.format(id=tile_id).replace("{z}", str(ZOOM)).replace(
            "{x}", str(tx)).replace("{y}", str(ty))

    tiles_got = fetch([url_of(tile_id) for _k, _t, tiles, _c in HAZARDS for tile_id, _cl in tiles])
    results = []
    for key, title_key, tiles, caveat_key in HAZARDS:
        found, unknown = [], False
        for tile_id, classes in tiles:
            url = url_of(tile_id)
            png = tiles_got.get(url)
            if isinstance(png, TileUnavailable):
                unknown = True
                continue
            if png is None:
                continue
            try:
                hit = classify(read_pixel(png, px, py), classes)
            except Exception as exc:  # not an image
                log.info("hazard tile %s unreadable: %s", url, exc)
                unknown = True
                continue
            if hit is not None:
                found.append(hit)
        if found:
            label_key, _rank, color = max(found, key=lambda h: h[1])
            status, label = "in", t(label_key, lang)
        elif unknown:
            status, label, label_key, color = "unknown", t("hazard_point.unknown", lang), "", ""
        else:
            status, label, label_key, color = "none", t("hazard_point.none", lang), "", ""
        results.append({"key": key, "title": t(title_key, lang), "status": status,
                        "class": label_key.rsplit(".", 1)[-1] if label_key else None,
                        "label": label, "color": color, "caveat": t(caveat_key, lang)})
    return {"lat": round(lat, 6), "lon": round(lon, 6), "hazards": results,
            "source": t("hazard_point.source", lang), "caveat": t("hazard_point.caveat", lang)}


def flood_at_many(points: list[tuple[float, float]], fetch=fetch_tiles) -> list[str]:
    """For each (lat, lon): "in" when the flood overlay colours it, "none", or "unknown" (tiles out
    of reach). The tiles are fetched once each (points close together share them)."""
    tile_id, classes = HAZARDS[0][2][0]
    where = [tile_pixel(lat, lon) for lat, lon in points]
    url_of = {}
    for tx, ty, _px, _py in where:
        url_of[(tx, ty)] = hazard.TILE_URL.format(id=tile_id).replace("{z}", str(ZOOM)).replace(
            "{x}", str(tx)).replace("{y}", str(ty))
    got = fetch(sorted(set(url_of.values())))
    out = []
    for tx, ty, px, py in where:
        png = got.get(url_of[(tx, ty)])
        if isinstance(png, TileUnavailable):
            out.append("unknown")
        elif png is None:
            out.append("none")
        else:
            try:
                out.append("in" if classify(read_pixel(png, px, py), classes) else "none")
            except Exception:
                out.append("unknown")
    return out
