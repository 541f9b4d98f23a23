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
