"""OGC API – Features at /ogcapi as its clients read it: OWSLib's client (collections, bbox, paging
to the end, one item, queryables), compared with GDAL's OAPIF driver (what QGIS uses), both over a
loopback server of the embedded default app."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.loopback import serve

pytest.importorskip("owslib")
pytest.importorskip("pyogrio")

LAYER = "shelters"  # shipped data: a public point layer with string ids
BBOX = (136.4, 36.2, 136.6, 36.5)
PAGE = 25


@pytest.fixture(scope="module")
def base(dash_app):
    with serve(dash_app.server) as url:
        yield url + "/ogcapi"


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture(scope="module")
def client(base):
    from owslib.ogcapi.features import Features

    return Features(base, timeout=60)


def _all_pages(client, **query) -> tuple[list[dict], int]:
    feats, offset, pages = [], 0, 0
    while True:
        page = client.collection_items(LAYER, limit=PAGE, offset=offset, **query)
        pages += 1
        feats += page["features"]
        assert page["numberReturned"] == len(page["features"]) <= PAGE
        nxt = [ln for ln in page["links"] if ln["rel"] == "next"]
        if not nxt:
            assert len(feats) == page["numberMatched"]
            return feats, pages
        offset += PAGE
        assert f"offset={offset}" in nxt[0]["href"]
        assert pages < 1000


GDAL_READ = """
import json, sys
import pyogrio
bbox = tuple(json.loads(sys.argv[2])) if sys.argv[2] != "null" else None
frame = pyogrio.read_dataframe("OAPIF:" + sys.argv[1], layer=sys.argv[3], PAGE_SIZE=int(sys.argv[4]), bbox=bbox)
print(json.dumps([[i, g.x, g.y] for i, g in zip(frame["id"], frame.geometry)]))
"""


def _gdal(base: str, bbox=None) -> list[list]:
    """[[id, lon, lat], …] as GDAL's OAPIF driver reads the layer, in a process of its own (GDAL
    keeps Python's lock while it talks HTTP, so it cannot ask a server running in this process)."""
    run = subprocess.run([sys.executable, "-c", GDAL_READ, base, json.dumps(bbox), LAYER, str(PAGE)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


def test_collections_and_conformance(client):
    ids = [c["id"] for c in client.collections()["collections"]]
    assert LAYER in ids and "aed" in ids
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in client.conformance()["conformsTo"]
    api = client.api()
    limit = next(p for p in api["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]
                 if p["name"] == "limit")
    assert limit["schema"]["maximum"] >= PAGE


def test_paging_to_the_end_matches_gdal(client, base):
    feats, pages = _all_pages(client)
    assert pages > 1 and len({f["id"] for f in feats}) == len(feats)
    rows = _gdal(base)
    assert len(rows) == len(feats)
    assert sorted(r[0] for r in rows) == sorted(f["id"] for f in feats)
    where = {f["id"]: f["geometry"]["coordinates"][:2] for f in feats}
    for fid, lon, lat in rows:
        assert [lon, lat] == pytest.approx(where[fid])


def test_bbox_matches_gdal(client, base):
    feats, _ = _all_pages(client, bbox=list(BBOX))
    assert 0 < len(feats) < client.collection_items(LAYER, limit=1)["numberMatched"]
    for f in feats:
        lon, lat = f["geometry"]["coordinates"][:2]
        assert BBOX[0] <= lon <= BBOX[2] and BBOX[1] <= lat <= BBOX[3]
    assert sorted(r[0] for r in _gdal(base, bbox=list(BBOX))) == sorted(f["id"] for f in feats)


def test_one_item_and_queryables(client):
    first = client.collection_items(LAYER, limit=1)["features"][0]
    item = client.collection_item(LAYER, first["id"])
    assert item["id"] == first["id"] and item["properties"] == first["properties"]
    assert item["geometry"] == first["geometry"]
    q = client.collection_queryables(LAYER)
    assert q["type"] == "object" and "geometry" in q["properties"]
    assert set(first["properties"]) - {k for k, v in first["properties"].items() if isinstance(v, (dict, list))} \
        <= set(q["properties"])
    # an unknown item is a 404 for the client too
    with pytest.raises(RuntimeError):
        client.collection_item(LAYER, "no-such-item-anywhere")
