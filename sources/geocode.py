"""Address search: GSI's 地名・住所検索 (msearch.gsi.go.jp), only where the server is online.

Through the outbound guard (sources/url_guard.py); answers are kept in the shared cache for a day.
Failure of any kind (offline, closed network, refused, a broken answer) is `GeocodeUnavailable`:
the map says the search is not available here and the other ways to choose a point still work.
"""
from __future__ import annotations

import logging

import orjson

log = logging.getLogger(__name__)

GEOCODE_URL = "https://msearch.gsi.go.jp/address-search/AddressSearch"
MAX_BYTES = 1024 * 1024
MAX_RESULTS = 5
TIMEOUT_S = 5.0


class GeocodeUnavailable(Exception):
    pass


def geocode(text: str, client=None) -> list[dict]:
    """Places matching `text`: [{"name", "lat", "lon"}] (at most MAX_RESULTS), [] when none."""
    from sources.url_guard import guarded_client, read_limited
    from store.cache import cache

    text = " ".join(str(text or "").split())[:100]
    if not text:
        return []
    key = "geocode:" + text
    try:
        hit = cache.get(key)
    except Exception:
        hit = None
    if hit is not None:
        return hit
    own = client is None
    http = client or guarded_client(timeout=TIMEOUT_S, follow_redirects=True, max_redirects=3)
    try:
        with http.stream("GET", GEOCODE_URL, params={"q": text}) as resp:
            if resp.status_code >= 400:
                raise GeocodeUnavailable(f"HTTP {resp.status_code}")
            data = orjson.loads(read_limited(resp, MAX_BYTES))
    except GeocodeUnavailable:
        raise
    except Exception as exc:  # offline, refused, timeout, not JSON
        log.info("address search unavailable: %s", getattr(exc, "detail", exc))
        raise GeocodeUnavailable(str(exc)) from None
    finally:
        if own:
            http.close()
    out = []
    for item in data if isinstance(data, list) else []:
        try:
            lon, lat = (float(v) for v in item["geometry"]["coordinates"][:2])
            name = str(item.get("properties", {}).get("title") or text)[:200]
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            out.append({"name": name, "lat": round(lat, 6), "lon": round(lon, 6)})
        if len(out) >= MAX_RESULTS:
            break
    try:
        cache.set(key, out, timeout=24 * 3600)
    except Exception:
        pass
    return out
