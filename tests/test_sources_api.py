"""`/api/sources` with staff tokens: organisations' own sources, validation, poll now, subscription."""
from __future__ import annotations

import orjson
import pytest

from store.brokers import Source
from store.models import Layer
from tests.fake_orion import as_orion_returns, fixture

pytestmark = pytest.mark.usefixtures("loopback_sources")  # the fake servers listen on 127.0.0.1
SOURCE_NAME = "api-test"  # the sources `cleanup` deletes


def post(client, headers, body):
    return client.post("/api/sources", data=orjson.dumps(body), headers=headers, content_type="application/json")


def test_no_token_no_access(client):
    for method, url in [("get", "/api/sources"), ("post", "/api/sources"), ("get", "/api/sources/1"),
                        ("patch", "/api/sources/1"), ("delete", "/api/sources/1"), ("post", "/api/sources/1/poll")]:
        r = getattr(client, method)(url, headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401 and r.get_json()["error"] == "unauthorized"


def test_create_list_patch_delete_within_the_organisation(client, kaga, hakui, cleanup):
    r = post(client, kaga.auth, {"name": "api-test kaga snow", "base_url": "http://127.0.0.1:1026/",
                            "service": "kaga_city", "servicepath": "/snow", "entity_type": "WeatherObserved",
                            "token": "pep-secret", "interval_s": 120, "target": "readings"})
    assert r.status_code == 201, r.get_json()
    src = r.get_json()
    assert src["base_url"] == "http://127.0.0.1:1026" and src["has_token"] and "token" not in src
    assert "pep-secret" not in r.get_data(as_text=True)
    assert src["notify_url"].endswith(f"/ngsi/notify/{src['id']}") and "token" not in src["notify_url"]
    assert len(src["notify_headers"]["X-Notify-Token"]) >= 32  # the secret, for a subscription made by hand
    sid = src["id"]
    assert sid in [x["id"] for x in client.get("/api/sources", headers=kaga.auth).get_json()["sources"]]
    # another city's staff neither see nor change it
    assert sid not in [x["id"] for x in client.get("/api/sources", headers=hakui.auth).get_json()["sources"]]
    assert client.get(f"/api/sources/{sid}", headers=hakui.auth).status_code == 404
    assert client.delete(f"/api/sources/{sid}", headers=hakui.auth).status_code == 404
    r = client.patch(f"/api/sources/{sid}", data=orjson.dumps({"interval_s": 300, "enabled": False}), headers=kaga.auth,
                     content_type="application/json")
    assert r.status_code == 200 and r.get_json()["interval_s"] == 300 and r.get_json()["enabled"] is False
    assert client.delete(f"/api/sources/{sid}", headers=kaga.auth).status_code == 204
    assert client.get(f"/api/sources/{sid}", headers=kaga.auth).status_code == 404


@pytest.mark.parametrize("body, field", [
    ({"name": "api-test", "base_url": "ftp://x"}, "base_url"),
    ({"name": "api-test", "base_url": "http://x", "service": "kaga-city"}, "service"),
    ({"name": "api-test", "base_url": "http://x", "servicepath": "snow"}, "servicepath"),
    ({"name": "api-test", "base_url": "http://x", "interval_s": 1}, "interval_s"),
    ({"name": "api-test", "base_url": "http://x", "target": "everything"}, "target"),
    ({"name": "api-test", "base_url": "http://x", "georel": "near;maxDistance:100"}, "georel"),
    ({"base_url": "http://x"}, "name"),
    ({"name": "api-test", "base_url": "http://x", "colour": "red"}, "colour"),
    ({"name": "api-test", "base_url": "http://x", "organisation": "hakui"}, "organisation"),
])
def test_invalid_fields_are_400_with_details(client, kaga, body, field):
    r = post(client, kaga.auth, body)
    assert r.status_code == 400
    assert field in [d["field"] for d in r.get_json()["details"]]


def test_poll_now_and_subscription_against_a_broker(client, kaga, orion, app_db, cleanup):
    weather = as_orion_returns(fixture("WeatherObserved.example-normalized.json"))
    weather["location"]["value"]["coordinates"] = [136.45, 36.31]
    orion.entities = [weather]
    r = post(client, kaga.auth, {"name": "api-test poll", "base_url": orion.url, "entity_type": "WeatherObserved",
                            "key_values": True})
    sid = r.get_json()["id"]
    r = client.post(f"/api/sources/{sid}/poll", headers=kaga.auth)
    assert r.status_code == 200 and r.get_json()["result"]["readings"] == 1
    assert orion.requests[-1]["query"]["options"] == "count,keyValues"
    src = client.get(f"/api/sources/{sid}", headers=kaga.auth).get_json()
    assert src["status"]["status"] == "ok" and src["layers"] == [f"src{sid}-snow"]
    r = client.post(f"/api/sources/{sid}/subscription", headers=kaga.auth)
    assert r.status_code == 201 and len(r.get_json()["subscription_id"]) == 24
    sub = orion.subscriptions[-1]
    assert sub["notification"]["httpCustom"]["url"] == r.get_json()["notify_url"]
    assert "token" not in r.get_json()["notify_url"]
    with app_db.session() as s:
        secret = s.get(Source, sid).notify_secret
    assert sub["notification"]["httpCustom"]["headers"] == {"X-Notify-Token": secret}
    assert sub["notification"]["attrsFormat"] == "keyValues"
    # broker down: 502 with the reason, no crash
    orion.down()
    r = client.post(f"/api/sources/{sid}/poll", headers=kaga.auth)
    assert r.status_code == 502 and "接続できませんでした" in r.get_json()["result"]["error"]
    # deleted: the layer keeps its data, and no feed is left to look stale forever
    assert client.delete(f"/api/sources/{sid}", headers=kaga.auth).status_code == 204
    from store.models import Feed, Sensor

    with app_db.session() as s:
        assert s.get(Feed, f"source-{sid}") is None
        layer = s.get(Layer, f"src{sid}-snow")
        assert "feed" not in layer.options and s.query(Sensor).filter(Sensor.layer_id == layer.id).count() == 1
        s.delete(layer)


def test_deleting_a_source_cancels_its_subscription(client, kaga, orion, app_db, cleanup):
    r = post(client, kaga.auth, {"name": "api-test sub", "base_url": orion.url, "entity_type": "WeatherObserved"})
    sid = r.get_json()["id"]
    sub_id = client.post(f"/api/sources/{sid}/subscription", headers=kaga.auth).get_json()["subscription_id"]
    assert client.delete(f"/api/sources/{sid}", headers=kaga.auth).status_code == 204
    last = orion.requests[-1]
    assert last["method"] == "DELETE" and last["path"] == f"/v2/subscriptions/{sub_id}"
