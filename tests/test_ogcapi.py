"""OGC API – Features: the documents, paging and filters, and GDAL's OAPIF driver reading the running app."""
from __future__ import annotations

import threading

import orjson
import pytest
from werkzeug.serving import make_server

from store.features import replace_features
from store.layers import upsert_layer
from store.models import PRIVATE, Layer
from tests.browser_helpers import free_port


@pytest.fixture(scope="module")
def live_url(dash_app):
    """The session's app served over real HTTP (werkzeug in a thread on a free port)."""
    port = free_port()
    server = make_server("127.0.0.1", port, dash_app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture
def private_layer(app_db):
    with app_db.session() as s:
        layer = upsert_layer(s, "ogc-secret", kind="aed", name_ja="非公開", name_en="Private", group="iryou",
                             visibility=PRIVATE, options={})
        replace_features(s, layer, [{"type": "Feature", "id": "x", "properties": {"name": "秘密"},
                                     "geometry": {"type": "Point", "coordinates": [136.6, 36.5]}}])
    yield "ogc-secret"
    with app_db.session() as s:
        s.delete(s.get(Layer, "ogc-secret"))


def get_json(client, url, **kw):
    r = client.get(url, **kw)
    assert r.status_code == 200, (url, r.status_code, r.data[:300])
    return orjson.loads(r.data), r


def test_landing_and_conformance(client):
    doc, r = get_json(client, "/ogcapi")
    assert r.mimetype == "application/json"
    rels = {(ln["rel"], ln["type"]) for ln in doc["links"]}
    assert {("self", "application/json"), ("conformance", "application/json"), ("data", "application/json"),
            ("alternate", "text/html")} <= rels
    api_href = next(ln["href"] for ln in doc["links"] if ln["rel"] == "service-desc")
    api = orjson.loads(client.get(api_href.replace("http://localhost", "")).data)
    assert api["openapi"].startswith("3.0") and "/collections/{collectionId}/items" in api["paths"]
    conf, _ = get_json(client, "/ogcapi/conformance")
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conf["conformsTo"]


def test_collections_are_the_public_vector_layers(client, private_layer):
    doc, _ = get_json(client, "/ogcapi/collections")
    ids = {c["id"] for c in doc["collections"]}
    assert {"aed", "shelters", "boundaries", "snow-depth"} <= ids
    assert "ogc-secret" not in ids and "hazard-flood" not in ids  # private; tiles only
    aed = next(c for c in doc["collections"] if c["id"] == "aed")
    minx, miny, maxx, maxy = aed["extent"]["spatial"]["bbox"][0]
    assert 136.3 < minx < maxx < 137.0 and 36.0 < miny < maxy < 36.7
    assert any(ln["rel"] == "items" and ln["type"] == "application/geo+json" for ln in aed["links"])
    snow, _ = get_json(client, "/ogcapi/collections/snow-depth")
    assert snow["extent"]["temporal"]["interval"][0][0]  # sensors have observation times
    for url in ["/ogcapi/collections/ogc-secret", "/ogcapi/collections/ogc-secret/items",
                "/ogcapi/collections/ogc-secret/items/x", "/ogcapi/collections/nope",
                "/ogcapi/collections/hazard-flood"]:
        assert client.get(url).status_code == 404


def test_items_paging_bbox_and_single_item(client):
    full = orjson.loads(client.get("/api/layers/aed/features").data)["features"]
    first, r = get_json(client, "/ogcapi/collections/aed/items?limit=100")
    assert r.mimetype == "application/geo+json"
    assert first["numberMatched"] == len(full) == 211 and first["numberReturned"] == 100
    nxt = next(ln["href"] for ln in first["links"] if ln["rel"] == "next")
    assert "offset=100" in nxt and "limit=100" in nxt
    ids = [f["id"] for f in first["features"]]
    offset = 100
    while nxt:
        page, _ = get_json(client, nxt.replace("http://localhost", ""))
        ids += [f["id"] for f in page["features"]]
        nxt = next((ln["href"] for ln in page["links"] if ln["rel"] == "next"), None)
        offset += 100
    assert ids == [f["id"] for f in full]
    box, _ = get_json(client, "/ogcapi/collections/aed/items?bbox=136.55,36.50,136.60,36.54&limit=1000")
    assert 0 < box["numberMatched"] < 211
    assert all(136.55 <= f["geometry"]["coordinates"][0] <= 136.60 for f in box["features"])
    one, _ = get_json(client, f"/ogcapi/collections/aed/items/{full[5]['id']}")
    assert one["geometry"] == full[5]["geometry"] and one["properties"] == full[5]["properties"]
    assert client.get("/ogcapi/collections/aed/items/nope").status_code == 404
    for bad in ["limit=0", "limit=x", "offset=-1", "bbox=1,2,3", "datetime=yesterday"]:
        assert client.get(f"/ogcapi/collections/aed/items?{bad}").status_code == 400, bad


def test_datetime_filter_on_sensor_times(client):
    all_, _ = get_json(client, "/ogcapi/collections/snow-depth/items")
    times = sorted(f["properties"]["observed_at"] for f in all_["features"])
    assert times
    latest = times[-1]
    hit, _ = get_json(client, f"/ogcapi/collections/snow-depth/items?datetime={latest.replace('+00:00', 'Z')}/..")
    assert hit["numberMatched"] == sum(1 for x in times if x >= latest)
    none, _ = get_json(client, "/ogcapi/collections/snow-depth/items?datetime=../2000-01-01T00:00:00Z")
    assert none["numberMatched"] == 0


def test_html_pages_are_translated_and_escaped(client, app_db):
    r = client.get("/ogcapi", headers={"Accept": "text/html,application/xhtml+xml"})
    assert r.mimetype == "text/html" and "OGC API" in r.get_data(as_text=True)
    en = client.get("/ogcapi/collections?f=html&lang=en").get_data(as_text=True)
    assert "AED locations" in en and "Collections" in en
    ja = client.get("/ogcapi/collections/aed/items?f=html&limit=5").get_data(as_text=True)
    assert "211 件中 5 件を表示" in ja and "次のページ" in ja
    with app_db.session() as s:
        layer = upsert_layer(s, "ogc-xss", kind="aed", name_ja="<script>x</script>", name_en="x", group="iryou",
                             options={})
        replace_features(s, layer, [{"type": "Feature", "id": "1",
                                     "properties": {"name": "<img src=x onerror=alert(1)>"},
                                     "geometry": {"type": "Point", "coordinates": [136.6, 36.5]}}])
    try:
        page = client.get("/ogcapi/collections/ogc-xss/items?f=html").get_data(as_text=True)
        assert "<img src=x" not in page and "&lt;img src=x" in page and "<script>x" not in page
    finally:
        with app_db.session() as s:
            s.delete(s.get(Layer, "ogc-xss"))


GDAL_READ = """
import json, sys
import pyogrio
url, layer = sys.argv[1], sys.argv[2]
layers = [str(name) for name, _geom in pyogrio.list_layers(url)]
df = pyogrio.read_dataframe(url, layer=layer, PAGE_SIZE=50)
rows = [{"id": str(r["id"]) if "id" in df.columns else None, "x": r.geometry.representative_point().x,
         "y": r.geometry.representative_point().y, "type": r.geometry.geom_type,
         "name": r["name"] if "name" in df.columns else None} for _, r in df.iterrows()]
print(json.dumps({"layers": layers, "columns": list(df.columns), "rows": rows}))
"""


def gdal_read(url: str, layer: str) -> dict:
    """pyogrio in a child process: GDAL holds the GIL while it waits for HTTP, so it cannot share a
    process with the server it reads from."""
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", GDAL_READ, url, layer], capture_output=True, text=True,
                         timeout=120, env={"GDAL_HTTP_TIMEOUT": "30", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def test_gdal_oapif_reads_the_running_app(live_url, client):
    """A real client: GDAL's OAPIF driver through pyogrio, paging with next links (PAGE_SIZE=50)."""
    pytest.importorskip("pyogrio")
    got = gdal_read(f"OAPIF:{live_url}/ogcapi", "aed")
    assert {"aed", "shelters", "snow-depth", "boundaries"} <= set(got["layers"])
    assert "hazard-flood" not in got["layers"]
    source = orjson.loads(client.get("/api/layers/aed/features").data)["features"]
    assert len(got["rows"]) == len(source) == 211
    by_id = {str(f["id"]): f for f in source}
    assert {r["id"] for r in got["rows"]} == set(by_id)
    for row in got["rows"]:
        f = by_id[row["id"]]
        lon, lat = f["geometry"]["coordinates"]
        assert abs(row["x"] - lon) < 1e-9 and abs(row["y"] - lat) < 1e-9
        assert row["name"] == f["properties"]["name"]
    poly = gdal_read(f"OAPIF:{live_url}/ogcapi", "boundaries")
    assert len(poly["rows"]) == 19 and {r["type"] for r in poly["rows"]} <= {"Polygon", "MultiPolygon"}
