"""Bytes the /snow page costs: the first load, then each refresh, with 300 plows on the whole network.

    .venv/bin/python bench/snow_tick.py [PLOWS] [REFRESHES]

One process, temporary SQLite, the real Dash app through Flask's test client (the same HTTP
requests a browser makes, gzip asked for as browsers do):
- first load: /snow, /_dash-layout (first road states and the fleet inline), the road network by
  URL; the scripts (Dash, Plotly, Leaflet bundles) are listed
  apart — they are the same for every page and cached by the browser;
- each refresh: 300 plows send a fix every 5 s through the ingest path, then the live state
  (GET /api/snow/live?since=<key>) answers a browser that holds the previous state;
- baseline: what one refresh would cost if it sent the whole network with its states again (the
  status GeoJSON) plus every plow with its 30-minute trail.
Goals: under 50 KB per refresh, first load under 2 MB.
"""
from __future__ import annotations

import gzip
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from settings import Settings  # noqa: E402

GZ = {"Accept-Encoding": "gzip"}
def sizes(resp) -> tuple[int, int]:
    """(bytes on the wire, bytes unpacked)."""
    wire = resp.get_data()
    raw = gzip.decompress(wire) if resp.headers.get("Content-Encoding") == "gzip" else wire
    return len(wire), len(raw)


def main(plows: int = 300, refreshes: int = 6) -> None:
    from app import create_app
    from layers.snow import snapshot as sp, vehicles as sp_vehicles
    from sources.demo_plows import DemoFleet
    from sources.fixes import ingest, network_index
    from store.snow import network

    tmp = Path(tempfile.mkdtemp(prefix="snow-tick-"))
    settings = Settings.from_env({"DATABASE_URL": f"sqlite:///{tmp / 'b.sqlite3'}", "INSTANCE_PATH": str(tmp),
                                  "SECRET_KEY": "bench", "DEMO_FEED": "0"})
    app = create_app(settings)
    db = app.server.extensions["ishikawa.db"]
    boundaries = settings.data_path / "boundaries/ishikawa_municipalities.geojson"
    with db.session() as s:
        index = network_index(s, (db.url, network(s).version))
    fleet = DemoFleet(index, size=plows)
    clock = [time.time()]

    def send(since: float, until: float, step: int) -> int:
        items = [f for p in fleet.plows for f in fleet.fixes(p, since, until, step)]
        ingest(db, items, datetime.fromtimestamp(until, tz=UTC), boundaries)
        return len(items)

    start = clock[0] - 3 * 3600
    t_in = time.perf_counter()
    sent = send(start, clock[0] - 1800, 30) + send(clock[0] - 1800, clock[0], 5)  # 3 h of work, last 30 min dense
    print(f"{plows} plows, {len(index.ids)} segments ({index.seg_len.sum() / 1000:.0f} km); "
          f"{sent:,} fixes ingested in {time.perf_counter() - t_in:.1f} s")

    # the page and the live state read the wall clock: run them on the plows' clock
    import types

    import api.snow as live_api
    import pages.snow as page

    Clock = types.SimpleNamespace(time=lambda: clock[0], monotonic=time.monotonic, sleep=time.sleep)
    real_utcnow = live_api.utcnow
    page.time = Clock
    live_api.utcnow = lambda: datetime.fromtimestamp(clock[0], tz=UTC)
    client = app.server.test_client()
    first = {}
    html = client.get("/snow", headers=GZ)
    first["/snow (HTML)"] = sizes(html)
    first["/_dash-layout (the shell)"] = sizes(client.get("/_dash-layout", headers=GZ))
    first["/_dash-dependencies"] = sizes(client.get("/_dash-dependencies", headers=GZ))
    # the page's layout, as the pages router sends it (first road states and the fleet inline)
    import dash
    from plotly.io.json import to_json_plotly

    with app.server.test_request_context("/snow"):
        pg = next(p for p in dash.page_registry.values() if p["path"] == "/snow")
        layout_json = to_json_plotly(pg["layout"]()).encode()
    first["/snow layout (states + fleet inline)"] = (len(gzip.compress(layout_json, 6)), len(layout_json))
    text = layout_json.decode().replace("\\u002f", "/")
    net_url = re.search(r'/api/snow/network\?v=\d+', text).group(0)
    first["road network (by URL, once)"] = sizes(client.get(net_url, headers=GZ))
    key = re.search(r'"id":"snow-key"', text.replace(" ", "")) and re.search(r'"(L\d{9,})"', text).group(1)
    scripts = 0
    page_html = gzip.decompress(html.get_data()).decode()
    for src in re.findall(r'<script src="([^"]+)"', page_html) + [
            "/_dash-component-suites/dash_leaflet/async-GeoJSON.js", "/_dash-component-suites/dash/dcc/async-slider.js",
]:
        r = client.get(src.split("?")[0] if "plotly" in src else src, headers=GZ)
        if r.status_code == 200:
            scripts += sizes(r)[0]
    print("\nfirst load (bytes on the wire, gzip / unpacked):")
    for name, (wire, raw) in first.items():
        print(f"  {name:<40} {wire:>10,} / {raw:>10,}")
    total_first = sum(w for w, _r in first.values())
    print(f"  {'data total':<40} {total_first:>10,}   goal < 2,000,000: {'yes' if total_first < 2_000_000 else 'NO'}")
    print(f"  {'scripts (shared by all pages, cached)':<40} {scripts:>10,}")

    print("\nrefreshes (every 5 s; each after the plows' next fixes):")
    wires, raws = [], []
    n = 0
    for i in range(refreshes):
        send(clock[0], clock[0] + sp.REFRESH_S, 5)
        clock[0] += sp.REFRESH_S
        n += 1
        r = client.get(f"/api/snow/live?since={key}", headers=GZ)  # what assets/snow.js asks every refresh
        assert r.status_code == 200, r.get_data()[:300]
        wire, raw = sizes(r)
        gzipped = r.headers.get("Content-Encoding") == "gzip"
        delta = orjson.loads(gzip.decompress(r.get_data()) if gzipped else r.get_data())
        key = delta["key"]
        print(f"  refresh {i + 1}: {wire:>8,} B on the wire ({raw:>8,} unpacked): {len(delta['roads'])} road states, "
              f"{len(delta['vehicles'])} plows")
        wires.append(wire)
        raws.append(raw)
    # baseline: the whole network with states + every plow with its trail, every refresh
    status = client.get("/api/snow/status", headers=GZ)
    with app.server.app_context():
        snap = sp.snapshot(db, sp.live_key(clock[0]), None)
    fleet_all = orjson.dumps(sp_vehicles.vehicle_delta({}, snap["vehicles"]))
    base_wire = sizes(status)[0] + len(gzip.compress(fleet_all, 6))
    base_raw = sizes(status)[1] + len(fleet_all)
    avg_w, avg_r = sum(wires) / len(wires), sum(raws) / len(raws)
    print(f"\nper refresh, ours:     {avg_w:>10,.0f} B on the wire ({avg_r:,.0f} unpacked)"
          f"   goal < 50 KB: {'yes' if avg_w < 50_000 else 'NO'}")
    print(f"per refresh, baseline: {base_wire:>10,.0f} B on the wire ({base_raw:,.0f} unpacked)"
          " — network + states + fleet resent")
    print(f"ratio ours / baseline: {avg_w / base_wire:.3f} on the wire, {avg_r / base_raw:.3f} unpacked")
    page.time = time
    live_api.utcnow = real_utcnow


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300, int(sys.argv[2]) if len(sys.argv) > 2 else 6)
