"""OGC API – Features: the documents, paging and filters, and GDAL's OAPIF driver reading the running app."""
from __future__ import annotations

import orjson
import pytest

from store.features import replace_features
from store.layers import upsert_layer
from store.models import Layer
from tests.loopback import serve


@pytest.fixture(scope="module")
def live_url(dash_app):
    """The session's app served over real HTTP (werkzeug in a thread on a free port)."""
    with serve(dash_app.server) as url:
        yield url


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
    assert private_layer not in ids and "hazard-flood" not in ids  # private; tiles only
    aed = next(c for c in doc["collections"] if c["id"] == "aed")
    minx, miny, maxx, maxy = aed["extent"]["spatial"]["bbox"][0]
    assert 136.3 < minx < maxx < 137.0 and 36.0 < miny < maxy < 36.7
    assert any(ln["rel"] == "items" and ln["type"] == "application/geo+json" for ln in aed["links"])
    snow, _ = get_json(client, "/ogcapi/collections/snow-depth")
    assert snow["extent"]["temporal"]["interval"][0][0]  # sensors have observation times
    for url in [f"/ogcapi/collections/{private_layer}", f"/ogcapi/collections/{private_layer}/items",
                f"/ogcapi/collections/{private_layer}/items/x", "/ogcapi/collections/nope",
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


# ------------------------------------------------------------------ layer kinds answer in SQL


def _stored_layer(db, layer_id="kind-q", n=30):
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 1, 1, tzinfo=UTC)
    feats = [{"type": "Feature", "id": f"p{i}", "properties": {"n": i, "town": "kaga" if i % 3 == 0 else "hakui",
                                                               "observed_at": (start + timedelta(hours=i)).isoformat()},
              "geometry": {"type": "Point", "coordinates": [136.3 + i * 0.01, 36.3 + i * 0.01]}} for i in range(n)]
    feats.append({"type": "Feature", "id": "east", "properties": {"n": 99, "town": "far"},
                  "geometry": {"type": "Point", "coordinates": [179.5, 36.5]}})
    with db.session() as s:
        upsert_layer(s, layer_id, kind="uploaded", name_ja="q", name_en="q", group="bousai", options={})
        layer = s.get(Layer, layer_id)
        replace_features(s, layer, feats)
    return feats


def test_stored_kind_query_and_get_in_sql(db):
    """Paging, count, bbox (antimeridian too), property and time filters and get, on SQLite and PostgreSQL."""
    from datetime import UTC, datetime

    from layers.base import kind_of

    feats = _stored_layer(db)
    with db.session() as s:
        layer = s.get(Layer, "kind-q")
        kind = kind_of(layer)
        page, matched = kind.query(s, layer, limit=10, offset=25)
        assert matched == 31 and [f["id"] for f in page] == ["p25", "p26", "p27", "p28", "p29", "east"]
        assert page[0] == {**feats[25], "geometry": {"type": "Point", "coordinates": [136.55, 36.55]}}
        assert kind.query(s, layer, limit=10, offset=40) == ([], 31)
        page, matched = kind.query(s, layer, bbox=(136.295, 36.295, 136.345, 36.345), limit=100)
        assert [f["id"] for f in page] == ["p0", "p1", "p2", "p3", "p4"] and matched == 5
        page, matched = kind.query(s, layer, bbox=(179.0, 36.0, 136.305, 37.0), limit=100)  # across 180°
        assert {f["id"] for f in page} == {"p0", "east"} and matched == 2
        page, matched = kind.query(s, layer, properties=[("town", "kaga")], limit=3, offset=1)
        assert [f["id"] for f in page] == ["p3", "p6", "p9"] and matched == 10
        assert kind.query(s, layer, properties=[("n", "4")], limit=5)[1] == 1  # numbers compare as text
        when = (datetime(2026, 1, 1, 5, tzinfo=UTC), datetime(2026, 1, 1, 9, tzinfo=UTC))
        page, matched = kind.query(s, layer, datetime=when, limit=2, offset=1)
        assert [f["id"] for f in page] == ["p6", "p7"] and matched == 5
        assert kind.get(s, layer, "p7")["properties"]["n"] == 7
        assert kind.get(s, layer, "nope") is None
        ext = kind.extent(s, layer)
        assert ext["bbox"] == pytest.approx((136.3, 36.3, 179.5, 36.59))
        assert ext["times"][0] == datetime(2026, 1, 1, tzinfo=UTC)
    with db.session() as s:  # a write (new data version) is counted again
        layer = s.get(Layer, "kind-q")
        replace_features(s, layer, feats[:4])
    with db.session() as s:
        layer = s.get(Layer, "kind-q")
        page, matched = kind_of(layer).query(s, layer, limit=2)
        assert [f["id"] for f in page] == ["p0", "p1"] and matched == 4


# ------------------------------------------------------------------ what OGC API clients expect


def test_unknown_parameters_are_refused_and_properties_filter(client):
    r = client.get("/ogcapi/collections/aed/items?limt=5")
    assert r.status_code == 400 and r.mimetype == "application/json"
    assert r.json["error"] == "unknown_parameter" and r.json["details"] == [{"parameter": "limt"}]
    full = orjson.loads(client.get("/api/layers/aed/features").data)["features"]
    name = full[3]["properties"]["name"]
    doc, _ = get_json(client, "/ogcapi/collections/aed/items", query_string={"name": name})
    assert doc["numberMatched"] == sum(1 for f in full if f["properties"]["name"] == name) >= 1
    assert all(f["properties"]["name"] == name for f in doc["features"])


def test_bbox_with_heights_and_across_the_antimeridian(client):
    flat, _ = get_json(client, "/ogcapi/collections/aed/items?bbox=136.55,36.50,136.60,36.54&limit=1000")
    high, _ = get_json(client, "/ogcapi/collections/aed/items?bbox=136.55,36.50,-10,136.60,36.54,100&limit=1000")
    assert 0 < high["numberMatched"] == flat["numberMatched"]
    assert [f["id"] for f in high["features"]] == [f["id"] for f in flat["features"]]
    wrap, _ = get_json(client, "/ogcapi/collections/aed/items?bbox=170,30,137,40&limit=1")  # 170°E → 137°E
    assert wrap["numberMatched"] == 211
    none, _ = get_json(client, "/ogcapi/collections/aed/items?bbox=170,30,-170,40")
    assert none["numberMatched"] == 0 and none["features"] == []
    for bad in ["1,2,3,4,5", "136,37,137,36", "136,36,500,37", "136,36,10,137,37,5", "a,b,c,d", "nan,1,2,3"]:
        r = client.get(f"/ogcapi/collections/aed/items?bbox={bad}")
        assert r.status_code == 400 and r.json["error"] == "bad_bbox", bad


def test_cors_and_vary_accept(client):
    for url in ["/ogcapi", "/ogcapi/conformance", "/ogcapi/collections", "/ogcapi/collections/aed",
                "/ogcapi/collections/aed/items?limit=1", "/ogcapi/collections/aed/queryables", "/ogcapi/api",
                "/ogcapi/collections/nope"]:
        r = client.get(url)
        assert r.headers.get("Access-Control-Allow-Origin") == "*", url
    for url in ["/ogcapi", "/ogcapi/collections", "/ogcapi/collections/aed/items?limit=1"]:
        js, html = client.get(url), client.get(url, headers={"Accept": "text/html"})
        assert "Accept" in js.headers.get("Vary", "") and "Accept" in html.headers.get("Vary", ""), url
        assert js.mimetype != "text/html" and html.mimetype == "text/html", url


def test_links_are_percent_encoded_and_paging_stays_inside(client, app_db):
    with app_db.session() as s:
        layer = upsert_layer(s, "ogc-enc", kind="uploaded", name_ja="符号", name_en="enc", group="bousai",
                             options={})
        replace_features(s, layer, [{"type": "Feature", "id": f"場所 {i}/x", "properties": {"町": "羽咋 市"},
                                     "geometry": {"type": "Point", "coordinates": [136.7, 36.9]}} for i in range(5)])
    try:
        doc, _ = get_json(client, "/ogcapi/collections/ogc-enc/items",
                          query_string={"町": "羽咋 市", "limit": 2, "datetime": "../2100-01-01T00:00:00Z"})
        assert doc["numberMatched"] == 0  # no time property: nothing is inside any interval
        doc, _ = get_json(client, "/ogcapi/collections/ogc-enc/items", query_string={"町": "羽咋 市", "limit": 2})
        assert doc["numberMatched"] == 5
        hrefs = [ln["href"] for ln in doc["links"]]
        assert all(h.isascii() and " " not in h for h in hrefs), hrefs
        nxt = next(ln["href"] for ln in doc["links"] if ln["rel"] == "next")
        assert "%E7%94%BA=%E7%BE%BD%E5%92%8B%20%E5%B8%82" in nxt
        page, _ = get_json(client, nxt.replace("http://localhost", ""))
        assert [f["id"] for f in page["features"]] == ["場所 2/x", "場所 3/x"]
        one, _ = get_json(client, "/ogcapi/collections/ogc-enc/items/%E5%A0%B4%E6%89%80%203%2Fx")
        assert one["id"] == "場所 3/x"
        self_href = next(ln["href"] for ln in one["links"] if ln["rel"] == "self")
        assert self_href.endswith("/items/%E5%A0%B4%E6%89%80%203%2Fx")
    finally:
        with app_db.session() as s:
            s.delete(s.get(Layer, "ogc-enc"))

    def rel(doc, name):
        return next((ln["href"] for ln in doc["links"] if ln["rel"] == name), None)

    last, _ = get_json(client, "/ogcapi/collections/aed/items?limit=100&offset=200")
    assert last["numberReturned"] == 11 and rel(last, "next") is None and "offset=100" in rel(last, "prev")
    past, _ = get_json(client, "/ogcapi/collections/aed/items?limit=100&offset=1000")
    assert past["numberReturned"] == 0 and rel(past, "next") is None
    assert "offset=111" in rel(past, "prev")  # the last full page, not past the end
    near, _ = get_json(client, "/ogcapi/collections/aed/items?limit=100&offset=30")
    assert "offset" not in rel(near, "prev") and "offset=130" in rel(near, "next")  # never before the start
    first, _ = get_json(client, "/ogcapi/collections/aed/items?limit=100")
    assert rel(first, "prev") is None
    import re

    html = client.get("/ogcapi/collections/aed/items?f=html&limit=5&offset=5").get_data(as_text=True)
    pager = re.findall(r'<p class="ogc-pager">(.*?)</p>', html, re.S)[0]
    hrefs = re.findall(r'href="([^"]+)"', pager)
    assert len(hrefs) == 2 and all(h.count("?") == 1 and "f=html" in h for h in hrefs), hrefs


def test_queryables_are_json_schema_of_the_properties(client):
    coll, _ = get_json(client, "/ogcapi/collections/aed")
    href = next(ln["href"] for ln in coll["links"] if ln["rel"].endswith("/queryables"))
    r = client.get(href.replace("http://localhost", ""))
    assert r.status_code == 200 and r.mimetype == "application/schema+json"
    doc = orjson.loads(r.data)
    assert doc["$schema"].startswith("https://json-schema.org/") and doc["type"] == "object"
    assert doc["properties"]["name"]["type"] == "string" and "geometry" in doc["properties"]
    snow, _ = get_json(client, "/ogcapi/collections/snow-depth/queryables")
    assert snow["properties"]["depth_class"]["type"] == "integer"


def test_api_definition_declares_parameters_and_404s(client):
    api = orjson.loads(client.get("/ogcapi/api").data)
    items = api["paths"]["/collections/{collectionId}/items"]["get"]
    params = {p["name"]: p for p in items["parameters"]}
    assert params["bbox"]["schema"] == {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}
    assert params["bbox"]["explode"] is False
    assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 10000, "default": 100}
    for path in ["/collections/{collectionId}", "/collections/{collectionId}/items",
                 "/collections/{collectionId}/items/{featureId}", "/collections/{collectionId}/queryables"]:
        assert "404" in api["paths"][path]["get"]["responses"], path
    assert "400" in items["responses"]


def test_private_layer_is_404_on_every_ogc_route(dash_app):
    """Anonymous visitors and another organisation's staff (token and session) never see it; the
    same routes answer for a public upload, so the checks can fail."""
    from tests.staff_helpers import login, make_people, upload

    server = dash_app.server
    people = make_people(server.extensions["ishikawa.db"])
    csv = "名称,緯度,経度\n秘密の場所,36.5,136.6\n".encode()
    owner = server.test_client()
    private = upload(owner, people["kaga"], data=csv, filename="p.csv", visibility="private").json["id"]
    public = upload(owner, people["kaga"], data=csv, filename="q.csv", visibility="public").json["id"]
    fid = orjson.loads(owner.get(f"/api/layers/{public}/features").data)["features"][0]["id"]
    routes = ["/ogcapi/collections/{}", "/ogcapi/collections/{}?f=html", "/ogcapi/collections/{}/items",
              "/ogcapi/collections/{}/items?f=html", "/ogcapi/collections/{}/items/" + str(fid),
              "/ogcapi/collections/{}/queryables"]
    hakui_session = login(server.test_client(), people["hakui"].email)
    for who, c, headers in [("anonymous", server.test_client(), {}), ("hakui token", server.test_client(),
                            people["hakui"].auth), ("hakui session", hakui_session, {})]:
        for route in routes:
            r = c.get(route.format(private), headers=headers)
            assert r.status_code == 404 and "秘密" not in r.get_data(as_text=True), (who, route)
            assert c.get(route.format(public), headers=headers).status_code == 200, (who, route)
        listed = orjson.loads(c.get("/ogcapi/collections", headers=headers).data)["collections"]
        assert private not in {x["id"] for x in listed} and public in {x["id"] for x in listed}


def test_big_point_layer_bbox_pages_through_the_grid_index(db):
    """A layer above BIG_LAYER points: a small bbox is answered from the grid index's candidates,
    with the same page and count as the plain SQL scan."""
    import numpy as np

    from layers.base import StoredFeaturesKind, kind_of
    from sources.readers import PointRows
    from store.grids import BIG_LAYER, points_in_bbox

    n = BIG_LAYER + 500
    rnd = np.random.default_rng(3)
    lons, lats = rnd.uniform(136.3, 137.3, n), rnd.uniform(36.1, 37.5, n)
    fids = [str(i) for i in range(1, n + 1)]
    with db.session() as s:
        layer = upsert_layer(s, "big-q", kind="uploaded", name_ja="big", name_en="big", group="bousai",
                             options={"geometry_types": ["Point"]})
        replace_features(s, layer, PointRows(fids, lons, lats, ["k"], [[str(i % 7) for i in range(n)]],
                                             numbers=np.arange(1, n + 1, dtype=np.int64)))
    with db.session() as s:
        layer = s.get(Layer, "big-q")
        box = (136.60, 36.50, 136.70, 36.60)
        assert isinstance(points_in_bbox(s, layer.id, layer.version, box, 8000), list)  # the index path
        plain = StoredFeaturesKind()
        for kw in [dict(bbox=box, limit=7, offset=3), dict(bbox=box, limit=100, offset=0, properties=[("k", "3")]),
                   dict(bbox=(179.0, 36.5, 136.65, 36.6), limit=50, offset=10)]:
            got, want = kind_of(layer).query(s, layer, **kw), plain.query(s, layer, **kw)
            assert got == want and got[1] > 0, kw
        inside = [i for i in range(n) if 136.60 <= lons[i] <= 136.70 and 36.50 <= lats[i] <= 36.60]
        assert kind_of(layer).query(s, layer, bbox=box, limit=5)[1] == len(inside)


def test_property_filter_with_any_key(db):
    """Property names a JSON path cannot name (quotes, dots) still filter, never an SQL error."""
    from layers.base import kind_of

    with db.session() as s:
        layer = upsert_layer(s, "keys-q", kind="uploaded", name_ja="k", name_en="k", group="bousai", options={})
        replace_features(s, layer, [{"type": "Feature", "id": str(i), "properties": {'say "hi".$[0]': str(i % 2)},
                                     "geometry": {"type": "Point", "coordinates": [136.5, 36.5]}} for i in range(6)])
    with db.session() as s:
        layer = s.get(Layer, "keys-q")
        page, matched = kind_of(layer).query(s, layer, properties=[('say "hi".$[0]', "1")], limit=2, offset=1)
        assert [f["id"] for f in page] == ["3", "5"] and matched == 3
