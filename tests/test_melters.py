"""Snow-melting devices (消雪装置): states through POST /api/readings, the device API, device-list
uploads and broker entities; history of changes; the demo devices; stale devices; private devices
through every route as another organisation and as anonymous."""
from __future__ import annotations

import io
from datetime import timedelta

import orjson

from sources import melters as mf
from store.db import utcnow
from store.melters import FAULT, RUNNING, STOPPED, MeltingDevice, MeltingStateChange, normalise_state, report_state


def iso(dt) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def test_states_are_understood_in_both_languages():
    assert normalise_state("稼働中") == RUNNING and normalise_state(" Running ") == RUNNING
    assert normalise_state("停止") == STOPPED and normalise_state("off") == STOPPED and normalise_state(0) == STOPPED
    assert normalise_state("故障") == FAULT and normalise_state("ERROR") == FAULT
    assert normalise_state("maybe") is None and normalise_state(2) is None and normalise_state(None) is None


def test_report_state_keeps_changes_only_and_ignores_repeats(db, people):
    t0 = utcnow().replace(microsecond=0) - timedelta(hours=1)
    with db.session() as s:
        dev = MeltingDevice(id="d1", organisation_id=people["hakui"].organisation_id, name_ja="装置", lon=136.78,
                            lat=36.89)
        s.add(dev)
        s.flush()
        assert report_state(s, dev, RUNNING, t0)
        assert report_state(s, dev, RUNNING, t0 + timedelta(minutes=5))  # a report, no change
        assert not report_state(s, dev, RUNNING, t0 + timedelta(minutes=5))  # the same report again
        assert report_state(s, dev, FAULT, t0 + timedelta(minutes=10))
        assert report_state(s, dev, STOPPED, t0 + timedelta(minutes=2))  # late: history only
        assert dev.state == FAULT and dev.state_since == t0 + timedelta(minutes=10)
        assert dev.reported_at == t0 + timedelta(minutes=10)
        changes = s.query(MeltingStateChange).filter_by(device_id="d1").order_by(MeltingStateChange.at).all()
        assert [c.state for c in changes] == [RUNNING, STOPPED, FAULT]


def test_demo_devices_report_and_one_falls_silent(db, people):
    now = utcnow()
    assert mf.demo_tick(db, now) == len(mf.DEMO_DEVICES)
    with db.session() as s:
        devs = {d.id: d for d in s.query(MeltingDevice)}
        assert set(devs) == {d[0] for d in mf.DEMO_DEVICES}
        assert devs[mf.DEMO_FAULT].state == FAULT
        assert all(d.origin == "demo" and d.visibility == "public" for d in devs.values())
        from store.melters import is_stale

        assert is_stale(devs[mf.DEMO_SILENT], now) and not is_stale(devs["demo-melter-01"], now)
    assert mf.demo_tick(db, now + timedelta(minutes=1)) == len(mf.DEMO_DEVICES) - 1
    # devices switch over time, not all at once
    states = {mf.demo_state("demo-melter-01", now + timedelta(minutes=m)) for m in range(0, 120, 5)}
    assert states == {RUNNING, STOPPED}


def test_broker_entities_with_device_state_are_melters():
    assert mf.is_melter_entity("Device", {"deviceState": "故障"})
    assert not mf.is_melter_entity("Device", {"deviceState": "ok", "snowHeight": 12})
    assert not mf.is_melter_entity("Device", {"deviceState": "unknown-words"})
    assert not mf.is_melter_entity("Vehicle", {"deviceState": "on"})


# --- through the app --------------------------------------------------------------------------

def readings(client, person, items):
    return client.post("/api/readings", data=orjson.dumps(items), headers=person.auth,
                       content_type="application/json")


def feature(client, did, headers=None):
    feats = client.get("/api/layers/snow-melters/features", headers=headers or {}).get_json()["features"]
    return next((f for f in feats if f["id"] == did), None)


def test_states_posted_as_readings_change_the_colour_and_the_history(client, who):
    t0 = utcnow().replace(microsecond=0) - timedelta(minutes=20)
    item = {"sensor_id": "hakui-melter-test-1", "state": "稼働中", "time": iso(t0), "lon": 136.7861,
            "lat": 36.8929, "name": "テスト消雪装置", "visibility": "public"}
    r = readings(client, who["hakui"], [item])
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["created_sensors"] == ["hakui-melter-test-1"]
    f = feature(client, "hakui-melter-test-1")
    assert f["properties"]["state"] == RUNNING and f["properties"]["since_jst"] and not f["properties"]["stale"]
    r = readings(client, who["hakui"], [{"sensor_id": "hakui-melter-test-1", "state": "故障",
                                         "time": iso(t0 + timedelta(minutes=10))}])
    assert r.status_code == 200 and r.get_json()["accepted"] == 1
    f = feature(client, "hakui-melter-test-1")
    assert f["properties"]["state"] == FAULT and f["properties"]["age_min"] == 10
    hist = client.get("/api/melters/hakui-melter-test-1/states").get_json()["changes"]
    assert [h["state"] for h in hist] == [RUNNING, FAULT]
    # bad items: all or nothing, each named
    r = readings(client, who["hakui"], [{"sensor_id": "hakui-melter-test-1", "state": "たぶん", "time": iso(t0)},
                                        {"sensor_id": "x", "state": "on", "time": "2999-01-01T00:00:00Z"}])
    assert r.status_code == 400 and [d["index"] for d in r.get_json()["details"]] == [0, 1]
    # another city may not report for it
    r = readings(client, who["kaga"], [{"sensor_id": "hakui-melter-test-1", "state": "停止", "time": iso(t0)}])
    assert r.status_code == 400
    assert client.delete("/api/melters/hakui-melter-test-1", headers=who["kaga"].auth).status_code == 403
    assert client.delete("/api/melters/hakui-melter-test-1", headers=who["hakui"].auth).status_code == 204
    assert client.get("/api/melters/hakui-melter-test-1").status_code == 404


def test_private_device_is_hidden_from_other_organisations_everywhere(client, who):
    t0 = utcnow().replace(microsecond=0) - timedelta(minutes=5)
    r = readings(client, who["kaga"], [{"sensor_id": "kaga-secret-melter", "state": "停止", "time": iso(t0),
                                        "lon": 136.3171, "lat": 36.3022, "name": "秘密の消雪装置"}])
    assert r.status_code == 200, r.get_json()
    secrets = ["kaga-secret-melter", "秘密の消雪装置", "136.3171", "36.3022"]
    for headers in ({}, who["hakui"].auth):
        for url in ("/api/melters/kaga-secret-melter", "/api/melters/kaga-secret-melter/states"):
            resp = client.get(url, headers=headers)
            assert resp.status_code == 404 and not any(x in resp.get_data(as_text=True) for x in secrets)
        for url in ("/api/melters", "/api/layers/snow-melters/features", "/api/layers/snow-melters/features.csv",
                    "/ogcapi/collections/snow-melters/items"):
            text = client.get(url, headers=headers).get_data(as_text=True)
            assert not any(x in text for x in secrets), url
        for method in ("patch", "delete"):
            resp = getattr(client, method)("/api/melters/kaga-secret-melter", data=b'{"state": "on"}',
                                           headers=who["hakui"].auth, content_type="application/json")
            assert resp.status_code == 404
    # a report for it from another city answers like an unknown id without a position
    r = readings(client, who["hakui"], [{"sensor_id": "kaga-secret-melter", "state": "on", "time": iso(t0)}])
    assert r.status_code == 400 and "秘密" not in r.get_data(as_text=True)
    counts_anon = client.get("/api/melters").get_json()["counts"]
    counts_kaga = client.get("/api/melters", headers=who["kaga"].auth).get_json()["counts"]
    assert counts_kaga[STOPPED] == counts_anon[STOPPED] + 1  # the count leaks nothing either
    for person in (who["kaga"], who["admin"]):
        assert client.get("/api/melters/kaga-secret-melter", headers=person.auth).status_code == 200
        resp = client.get("/api/layers/snow-melters/features", headers=person.auth)
        assert "kaga-secret-melter" in resp.get_data(as_text=True) and "private" in resp.headers["Cache-Control"]
    assert feature(client, "kaga-secret-melter") is None  # nothing shared through a cache
    r = client.patch("/api/melters/kaga-secret-melter", data=orjson.dumps({"state": "故障"}), headers=who["kaga"].auth,
                     content_type="application/json")
    assert r.status_code == 200 and r.get_json()["state"] == FAULT
    assert client.delete("/api/melters/kaga-secret-melter", headers=who["kaga"].auth).status_code == 204


def test_register_validate_and_upload_a_device_list(client, who):
    r = client.post("/api/melters", data=orjson.dumps({"name": "", "lon": 999, "state": "maybe", "x": 1}),
                    headers=who["hakui"].auth, content_type="application/json")
    assert r.status_code == 400
    assert {d["field"] for d in r.get_json()["details"]} == {"name", "lon", "lat", "state", "x"}
    assert client.post("/api/melters", data=b"{}").status_code == 401
    r = client.post("/api/melters", data=orjson.dumps({"id": "hakui-reg-1", "name": "登録テスト", "lon": 136.78,
                                                       "lat": 36.89, "state": "running"}),
                    headers=who["hakui"].auth, content_type="application/json")
    assert r.status_code == 201 and r.get_json()["state"] == RUNNING
    again = orjson.dumps({"id": "hakui-reg-1", "name": "x", "lon": 136.78, "lat": 36.89})
    # the organisation's own id is taken; another organisation's is free (its own device, that id)
    assert client.post("/api/melters", data=again, headers=who["hakui"].auth,
                       content_type="application/json").status_code == 409
    r = client.post("/api/melters", data=again, headers=who["kaga"].auth, content_type="application/json")
    assert r.status_code == 201 and r.get_json()["id"] == "hakui-reg-1" and r.get_json()["organisation"] == "kaga"
    assert client.delete("/api/melters/hakui-reg-1", headers=who["kaga"].auth).status_code == 204
    assert client.get("/api/melters/hakui-reg-1", headers=who["hakui"].auth).get_json()["name"] == "登録テスト"
    csv = ("装置番号,名称,路線,緯度,経度,状態\n"
           "A-1,上町 消雪装置,市道上町線,36.8901,136.7801,稼働中\n"
           "A-2,下町 消雪装置,市道下町線,36.8911,136.7811,停止\n"
           "A-3,壊れた行,市道,36.8921,136.7821,なぞ\n").encode("cp932")
    r = client.post("/api/melters/upload?visibility=public", data={"file": (io.BytesIO(csv), "devices.csv")},
                    headers=who["hakui"].auth, content_type="multipart/form-data")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["added"] == 2 and body["states"] == 2 and body["problem_count"] == 1
    assert body["problems"][0]["row"] == 3
    f = feature(client, "hakui-melter-A-1")
    assert f["properties"]["road"] == "市道上町線" and f["properties"]["state"] == RUNNING
    for did in ("hakui-reg-1", "hakui-melter-A-1", "hakui-melter-A-2"):
        assert client.delete(f"/api/melters/{did}", headers=who["hakui"].auth).status_code == 204


def test_the_layer_is_on_the_public_map_with_labels_in_both_languages(client):
    layers = client.get("/api/layers").get_json()["layers"]
    assert any(layer["id"] == "snow-melters" for layer in layers)
    from layers.melters import MeltersKind

    class L:
        id, version, attribution_ja, attribution_en = "snow-melters", 1, "", ""

    for lang, word in (("ja", "故障"), ("en", "Fault")):
        spec = MeltersKind().map_spec(L, lang)
        assert spec.props["hideout"]["melter"]["states"][FAULT] == word
        assert spec.props["pointToLayer"] == {"variable": "ishikawaMap.melterPoint"}


def test_a_registered_broker_s_devices_become_melters_with_its_visibility(db, people, orion, loopback_sources):
    from datetime import UTC, datetime
    from pathlib import Path

    from layers.builtin import ensure_builtin
    from sources import broker_poll
    from store.brokers import Source

    with db.session() as s:
        ensure_builtin(s, Path(__file__).resolve().parents[1] / "data")
        src = Source(name="hakui devices", base_url=orion.url, entity_type="Device", layer_prefix="hk",
                     organisation_id=people["hakui"].organisation_id, visibility="private")
        s.add(src)
        s.flush()
        sid = src.id
    stamp = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)

    def device(eid, state, lon):
        return {"id": eid, "type": "Device",
                "name": {"type": "Text", "value": f"消雪 {eid}", "metadata": {}},
                "location": {"type": "geo:json", "value": {"type": "Point", "coordinates": [lon, 36.89]},
                             "metadata": {}},
                "deviceState": {"type": "Text", "value": state,
                                "metadata": {"timestamp": {"type": "DateTime", "value": stamp.isoformat()}}}}

    orion.entities = [device("M1", "故障", 136.781), device("M2", "on", 136.782),
                      {**device("S1", "ok", 136.783), "snowHeight": {"type": "Number", "value": 12, "metadata": {}}}]
    result = broker_poll.poll_source(db, sid, utcnow(),
                                     lambda src: broker_poll.client_for(src, sleep=lambda s: None, retries=0))
    assert "error" not in result, result
    with db.session() as s:
        devs = {d.id: d for d in s.query(MeltingDevice)}
        assert set(devs) == {"hk-M1", "hk-M2"}  # the snow-depth device stays a sensor
        assert devs["hk-M1"].state == FAULT and devs["hk-M2"].state == RUNNING
        assert devs["hk-M1"].visibility == "private" and devs["hk-M1"].origin == "broker"
        assert devs["hk-M1"].reported_at == stamp
