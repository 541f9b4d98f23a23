"""The public read APIs — layers and their features, dashboards and their panels' data (OGC API
has its own test) — may be read by any web page (`Access-Control-Allow-Origin: *`); the staff
routes may not."""
from __future__ import annotations


def test_public_reads_allow_any_origin_and_staff_routes_do_not(client, kaga):
    panel = client.get("/api/dashboards/shelters-aed").json["panels"][0]["id"]
    for url in ("/api/layers", "/api/layers/aed/features", "/api/dashboards",
                "/api/dashboards/shelters-aed", f"/api/dashboards/shelters-aed/panels/{panel}/data",
                f"/api/dashboards/shelters-aed/panels/{panel}/data.csv"):
        r = client.get(url, headers={"Origin": "https://www.city.kaga.ishikawa.jp"})
        assert r.status_code == 200, (url, r.status_code)
        assert r.headers.get("Access-Control-Allow-Origin") == "*", url
    # an unknown layer says so to other sites too; staff routes and writes get no such header
    assert client.get("/api/layers/nope/features").headers.get("Access-Control-Allow-Origin") == "*"
    for method, url in (("get", "/api/sources"), ("get", "/api/alert-rules"), ("get", "/api/audit"),
                        ("post", "/api/dashboards"), ("get", "/api/sensors")):
        r = getattr(client, method)(url, headers={**kaga.auth, "Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in r.headers, (method, url)
