"""What the first public view costs the browser, against the same GeoJSON inlined in the layout.

    .venv/bin/python bench/map_payload.py

Measures, with gzip as the browser asks for it (Flask test client, one process, temporary SQLite):
- ours: the page, /_dash-layout, /_dash-dependencies, every script and style sheet the page
  loads, the async dash-leaflet chunks, and the features of the default layers by URL;
- baseline: the same, but with each default layer's FeatureCollection inlined into the layout
  (`dl.GeoJSON(data=...)`) instead of fetched by URL;
for three moments: the first visit (empty browser cache), a repeat visit (the browser keeps
what it was allowed to cache: versioned feature URLs are immutable, the layout never is), and
switching the language (a new layout). Prints bytes, time and the ratio ours / baseline.
"""
from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from settings import Settings  # noqa: E402

GZ = {"Accept-Encoding": "gzip"}


def fetch(client, url: str) -> tuple[int, float]:
    t0 = time.perf_counter()
    r = client.get(url, headers=GZ)
    r.get_data()
    assert r.status_code == 200, (url, r.status_code)
    return len(r.get_data()), time.perf_counter() - t0


def static_urls(client, html: str) -> list[str]:
    urls = re.findall(r'<script src="([^"]+)"', html) + re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    urls += ["/_dash-component-suites/dash_leaflet/async-GeoJSON.js",
             "/_dash-component-suites/dash_leaflet/async-LocateControl.js"]
    return urls


def geojson_props(node):
    """The props of every dash-leaflet GeoJSON component in a layout, depth first."""
    if isinstance(node, dict):
        if node.get("type") == "GeoJSON" and node.get("namespace") == "dash_leaflet":
            yield node["props"]
        for v in node.values():
            yield from geojson_props(v)
    elif isinstance(node, list):
        for v in node:
            yield from geojson_props(v)


def feature_urls(layout: dict) -> list[str]:
    return [props["url"] for props in geojson_props(layout)]


def inline(layout: dict, client) -> dict:
    """The baseline layout: every GeoJSON gets its data inline, no url."""
    for props in list(geojson_props(layout)):
        # inline data cannot follow the zoom: it has to carry full detail
        url = re.sub(r"&zoom=\d+", "", props.pop("url"))
        props["data"] = orjson.loads(client.get(url).get_data())
    return layout


def gzip_len(data: bytes) -> int:
    import gzip

    return len(gzip.compress(data, compresslevel=6))


def measure(client, lang: str, cached: set[str]) -> dict:
    out = {"ours": 0, "base": 0, "ours_t": 0.0, "base_t": 0.0}
    t0 = time.perf_counter()
    html = client.get(f"/?lang={lang}", headers=GZ)
    page_bytes = len(html.get_data())
    html_text = client.get(f"/?lang={lang}").get_data(as_text=True)
    statics = [u for u in static_urls(client, html_text) if u not in cached]
    static_bytes = 0
    for u in statics:
        n, _ = fetch(client, u)
        static_bytes += n
        cached.add(u)  # Dash fingerprints its bundles: cacheable across visits
    dep_bytes, _ = fetch(client, "/_dash-dependencies")
    shell_bytes, _ = fetch(client, "/_dash-layout")
    common = page_bytes + static_bytes + dep_bytes + shell_bytes
    shared_t = time.perf_counter() - t0

    # ours: layout (without data) + features by URL, unless the browser cached that version
    t1 = time.perf_counter()
    ours_layout = gzip_len(orjson.dumps(page_layout(client, lang)))
    feats = 0
    for url in feature_urls(page_layout(client, lang)):
        if url in cached:
            continue
        n, _ = fetch(client, url)
        feats += n
        cached.add(url)
    out["ours"] = common + ours_layout + feats
    out["ours_t"] = shared_t + time.perf_counter() - t1
    out["ours_parts"] = {"page+bundles+deps": common, "layout": ours_layout, "features": feats}

    t2 = time.perf_counter()
    base_layout = gzip_len(orjson.dumps(inline(page_layout(client, lang), client)))
    out["base"] = common + base_layout
    out["base_t"] = shared_t + time.perf_counter() - t2
    out["base_parts"] = {"page+bundles+deps": common, "layout (data inline)": base_layout}
    return out


def page_layout(client, lang: str) -> dict:
    """The public page's layout as JSON, as the pages router sends it for `/?lang=`."""
    import dash
    from plotly.io.json import to_json_plotly

    with client.application.test_request_context(f"/?lang={lang}"):
        page = next(p for p in dash.page_registry.values() if p["path"] == "/")
        return orjson.loads(to_json_plotly(page["layout"](lang=lang)))


def main() -> None:
    from app import create_app
    from sources import demo_snow
    from store.db import utcnow

    tmp = Path(tempfile.mkdtemp())
    settings = Settings.from_env({"DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}", "INSTANCE_PATH": str(tmp),
                                  "SECRET_KEY": "bench"})
    app = create_app(settings)
    demo_snow.tick(app.server.extensions["ishikawa.db"], settings.data_path, utcnow())
    client = app.server.test_client()

    cached: set[str] = set()
    first = measure(client, "ja", cached)
    repeat = measure(client, "ja", cached)
    switch = measure(client, "en", cached)

    def row(name, m):
        ratio = m["ours"] / m["base"]
        print(f"{name:<28} ours {m['ours']:>10,} B {m['ours_t'] * 1000:7.1f} ms | baseline {m['base']:>10,} B "
              f"{m['base_t'] * 1000:7.1f} ms | ratio {ratio:.2f}")

    print("map payload (gzip) — ours: layers by URL; baseline: same GeoJSON inlined into the layout")
    row("first visit", first)
    row("repeat visit (cache warm)", repeat)
    row("language switch", switch)
    print("first visit parts, ours:", first["ours_parts"])
    print("first visit parts, baseline:", first["base_parts"])
    data_ours = first["ours_parts"]["layout"] + first["ours_parts"]["features"]
    data_base = first["base_parts"]["layout (data inline)"]
    print(f"layout + layer data only, first visit: ours {data_ours:,} B vs baseline {data_base:,} B "
          f"(ratio {data_ours / data_base:.2f})")
    total = first["ours"]
    print(f"first view transferred in all: {total / 1e6:.2f} MB (goal < 1.5 MB): {'OK' if total < 1.5e6 else 'OVER'}")


if __name__ == "__main__":
    main()
