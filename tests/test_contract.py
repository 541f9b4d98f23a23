"""The API contract: every /api/ route is declared once (api/contract.py), and that one declaration
both validates requests and makes /api/openapi.json."""
from __future__ import annotations

import re

from tests.staff_helpers import make_person


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_openapi_covers_every_api_route(client, dash_app):
    doc = client.get("/api/openapi.json").json
    missing = []
    for rule in dash_app.server.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        ops = doc["paths"].get(_openapi_path(rule.rule), {})
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if method.lower() not in ops:
                missing.append(f"{method} {rule.rule}")
    assert not missing, f"routes missing from /api/openapi.json: {sorted(missing)}"
    assert len([op for ops in doc["paths"].values() for op in ops]) >= 45


def test_every_operation_declares_its_answers_and_errors(client):
    doc = client.get("/api/openapi.json").json
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            assert any(c.startswith("2") for c in codes), (method, path)
            if op.get("security") == [{"bearer": []}]:
                assert "401" in codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            names = [p["name"] for p in op["parameters"] if p["in"] == "path"]
            assert names == re.findall(r"{([a-z_]+)}", path), (method, path)
    refs = re.findall(r'"#/components/schemas/([^"]+)"', str(doc).replace("'", '"'))
    assert set(refs) <= set(doc["components"]["schemas"])


def test_a_query_that_does_not_fit_is_refused_per_field_in_japanese(client):
    r = client.get("/api/layers/aed/features?zoom=abc")
    assert r.status_code == 400 and r.json["error"] == "bad_zoom"
    (d,) = r.json["details"]
    assert d["field"] == "zoom" and d["message"] == "整数を指定してください。"
    r = client.get("/api/layers/aed/features?zoom=99", headers={"Accept-Language": "en"})
    assert r.status_code == 400 and r.json["details"][0]["message"] == "Out of range."
    assert client.get("/api/snow/report.csv?part=nope").json["details"][0]["field"] == "part"


def test_a_body_that_does_not_fit_is_refused_before_the_service_sees_it(client, app_db):
    kaga = make_person(app_db, "kaga")
    r = client.post("/api/cameras", json={"name": "x", "lon": "136", "lat": 36.5, "url": "http://a.example/x.jpg"},
                    headers=kaga.auth)
    assert r.status_code == 400 and r.json["error"] == "invalid_camera"
    assert [d["field"] for d in r.json["details"]] == ["lon"]
    r = client.post("/api/sources", json={"name": "x", "base_url": "http://orion.example.jp", "interval_s": 1e9},
                    headers=kaga.auth)
    assert r.status_code == 400 and r.json["details"][0]["field"] == "interval_s"
    r = client.post("/api/sources", data=b"{not json", headers=kaga.auth, content_type="application/json")
    assert r.status_code == 400 and r.json["error"] == "bad_json"
    # a staff route says 401 before anything about the body
    assert client.post("/api/sources", json={"interval_s": "x"}).status_code == 401


def test_sensor_ids_are_per_organisation_for_posted_readings(client, app_db):
    """Another organisation's private sensor id is, for a poster, exactly an unknown id: refused
    alike without a position, and with one it becomes the poster's own sensor; the other
    organisation's sensor gets nothing."""
    import uuid
    from datetime import timedelta

    from store.db import utcnow
    from store.models import Reading, Sensor

    kaga, hakui = make_person(app_db, "kaga"), make_person(app_db, "hakui")
    x, unknown = f"shared-{uuid.uuid4().hex[:6]}", f"other-{uuid.uuid4().hex[:6]}"
    start = utcnow() - timedelta(minutes=30)

    def post(who, sid, value, where=True):  # one minute per value: no reading repeats another
        item = {"sensor_id": sid, "value": value, "time": (start + timedelta(minutes=value)).isoformat(),
                **({"lon": 136.4, "lat": 36.4} if where else {})}
        return client.post("/api/readings", json=[item], headers=who.auth)

    assert post(kaga, x, 1).json["created_sensors"] == [x]
    a, b = post(hakui, x, 2, where=False), post(hakui, unknown, 2, where=False)
    assert a.status_code == b.status_code == 400 and a.json == b.json
    a, b = post(hakui, x, 3), post(hakui, unknown, 3)
    assert a.status_code == b.status_code == 200
    assert a.json == {"accepted": 1, "duplicates": 0, "created_sensors": [x]}
    assert b.json == {"accepted": 1, "duplicates": 0, "created_sensors": [unknown]}
    assert post(hakui, x, 4, where=False).json["accepted"] == 1  # its own sensor from now on
    with app_db.session() as s:
        values = sorted(r.value for r in s.query(Reading).filter(Reading.sensor_id == x))
        assert values == [1.0]  # kaga's sensor got nothing from hakui
        own = s.get(Sensor, f"hakui:{x}")
        assert own is not None and own.layer_id == "sensors-hakui"
        assert sorted(r.value for r in s.query(Reading).filter(Reading.sensor_id == own.id)) == [3.0, 4.0]
    # kaga still posts to its own
    assert post(kaga, x, 5, where=False).json["accepted"] == 1
