"""CKAN sources against demo.ckan.org's recorded package_show answer, served locally."""
from __future__ import annotations

import contextlib
import copy
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import orjson
import pytest

from layers.builtin import ensure_builtin
from sources.broker_poll import poll_source
from sources.ckan import CkanClient, pick_resource, read_resource
from store.brokers import Source
from store.models import Feature, Layer
from tests.fake_orion import fixture
from tests.loopback import serve

DATA = Path(__file__).resolve().parents[1] / "data"
FIX = Path(__file__).resolve().parent / "fixtures"
T0 = datetime(2026, 1, 15, 3, tzinfo=UTC)
GEOJSON = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"name": "七尾港"},
     "geometry": {"type": "Point", "coordinates": [136.96, 37.05]}},
    {"type": "Feature", "properties": {"name": "輪島港"},
     "geometry": {"type": "Point", "coordinates": [136.90, 37.40]}}]}

pytestmark = pytest.mark.usefixtures("loopback_sources")  # the fake servers listen on 127.0.0.1


class Ckan:
    def __init__(self):
        self.package = fixture("package_show.demo-ckan-org.json")
        self.files: dict[str, bytes] = {"/download/20161231_rase.csv": b"classe,maschi,femmine\n0-4,10,12\n"}
        self.requests: list[str] = []
        self._server = contextlib.ExitStack()  # kept open past __init__: stop() closes it
        self.url = self._server.enter_context(serve(self._handler()))
        # the recorded resource URL points at demo.ckan.org: serve it here instead
        self.package["result"]["resources"][0]["url"] = self.url + "/download/20161231_rase.csv"

    def _handler(self):
        ckan = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                u = urlparse(self.path)
                ckan.requests.append(self.path)
                if u.path == "/api/3/action/package_show":
                    ok = parse_qs(u.query).get("id", [""])[0] in (ckan.package["result"]["id"],
                                                                  ckan.package["result"]["name"])
                    body = orjson.dumps(ckan.package if ok else {"success": False, "error": {"message": "Not found"}})
                    status = 200 if ok else 404
                elif u.path in ckan.files:
                    body, status = ckan.files[u.path], 200
                else:
                    body, status = b"{}", 404
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return H

    def add_geojson(self):
        self.files["/download/ports.geojson"] = orjson.dumps(GEOJSON)
        res = copy.deepcopy(self.package["result"]["resources"][0])
        res.update(id="geo-1", format="GeoJSON", name="ports.geojson", url=self.url + "/download/ports.geojson")
        self.package["result"]["resources"].append(res)

    def stop(self):
        self._server.close()


@pytest.fixture
def ckan():
    c = Ckan()
    yield c
    c.stop()


def test_package_show_and_resource_choice(ckan):
    with CkanClient(ckan.url) as c:
        pkg = c.package_show("2016-regione-asia-est-oceania-classi-di-eta")
    assert pkg["license_title"] == "Creative Commons Attribution" and pkg["num_resources"] == 1
    assert pick_resource(pkg)["format"] == "CSV"
    ckan.add_geojson()
    assert pick_resource(ckan.package["result"])["id"] == "geo-1"  # GeoJSON first
    assert pick_resource(ckan.package["result"], "a5cd573b-5565-48f1-9b2d-8726004cb020")["format"] == "CSV"
    assert pick_resource(ckan.package["result"], "nope") is None


def test_csv_with_coordinates_is_read():
    feats = read_resource((FIX / "komae_aed_recommended_format.csv").read_bytes(), "CSV", "aed.csv")
    assert len(feats) > 40
    lon, lat = feats[0]["geometry"]["coordinates"]
    assert 139.5 < lon < 139.7 and 35.6 < lat < 35.7  # 狛江市
    with pytest.raises(ValueError):
        read_resource(b"a,b\n1,2\n", "CSV", "x.csv")


def _source(db, ckan, dataset="2016-regione-asia-est-oceania-classi-di-eta"):
    with db.session() as s:
        ensure_builtin(s, DATA)
        src = Source(name="ckan-test", kind="ckan", base_url=ckan.url, ckan_dataset=dataset, layer_prefix="ckan")
        s.add(src)
        s.flush()
        return src.id


def test_ckan_source_into_a_layer_unchanged_not_rewritten(db, ckan):
    sid = _source(db, ckan)
    # the recorded dataset only has a CSV without coordinates: refused, nothing written
    result = poll_source(db, sid, T0)
    assert result["error"].startswith("CKAN: ")
    with db.session() as s:
        assert s.get(Layer, "ckan-points") is None and s.get(Source, sid).failures == 1
    ckan.add_geojson()
    assert poll_source(db, sid, T0) == {"unchanged": False, "points": 2}
    with db.session() as s:
        layer = s.get(Layer, "ckan-points")
        version = layer.version
        assert layer.options["origin"] == "ckan" and layer.license == "Creative Commons Attribution"
        names = {f.properties["name"] for f in s.query(Feature).filter(Feature.layer_id == "ckan-points")}
        assert names == {"七尾港", "輪島港"}
    assert poll_source(db, sid, T0)["unchanged"] is True
    with db.session() as s:
        assert s.get(Layer, "ckan-points").version == version
    GEOJSON["features"][0]["properties"]["name"] = "七尾港（更新）"
    try:
        ckan.files["/download/ports.geojson"] = orjson.dumps(GEOJSON)
        assert poll_source(db, sid, T0)["unchanged"] is False
    finally:
        GEOJSON["features"][0]["properties"]["name"] = "七尾港"


def test_unknown_dataset_is_an_error(db, ckan):
    sid = _source(db, ckan, "nope")
    assert "HTTP 404" in poll_source(db, sid, T0)["error"]
