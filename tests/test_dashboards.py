"""Dashboards: the document schema, the API and its walls between organisations, panel data
(hand-computed), CSV, and one computation per refresh interval for all viewers."""
from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

import pytest

from dashboards import service
from dashboards.model import parse_dashboard, time_window
from refusal import Refused
from store.db import utcnow


def auth(person) -> dict:
    return person.auth if person else {}


def slug() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def doc(**over) -> dict:
    body = {"slug": slug(), "title_ja": "テスト", "title_en": "Test", "visibility": "public",
            "time": {"from": "now-24h", "to": "now"}, "refresh": "1m",
            "panels": [{"id": "shelters", "type": "bar", "title_ja": "避難所の数",
                        "query": {"kind": "layer_stats", "layer": "shelters", "group_by": "都道府県名及び市町村名"},
                        "grid": {"x": 0, "y": 0, "w": 6, "h": 4}},
                       {"id": "note", "type": "text", "title_ja": "説明",
                        "options": {"markdown": "**太字** <script>alert(1)</script>"}}]}
    body.update(over)
    return body


def private_sensor(client, person, lon=136.31, lat=36.30, value=12.5) -> str:
    sid = f"priv-{uuid.uuid4().hex[:8]}"
    now = utcnow().replace(microsecond=0)
    r = client.post("/api/readings", headers=auth(person),
                    json=[{"sensor_id": sid, "attribute": "snowDepth", "value": value, "time": now.isoformat(),
                           "lon": lon, "lat": lat, "name": "秘密の観測点"}])
    assert r.status_code == 200, r.json
    return sid


# --- the schema -------------------------------------------------------------------------------------

def test_schema_fills_defaults_and_names_each_bad_field():
    out = parse_dashboard({"slug": "ok-slug", "title_ja": "a"})
    assert out["visibility"] == "private" and out["time"] == {"from": "now-24h", "to": "now"} and out["panels"] == []
    bad = {"slug": "Bad Slug", "title_ja": "", "refresh": "2s", "time": {"from": "yesterday", "to": "now"},
           "panels": [{"id": "a", "type": "timeseries", "query": {"kind": "sensor_series", "sensors": []},
                       "grid": {"x": 10, "y": 0, "w": 4, "h": 4}},
                      {"id": "b", "type": "map", "query": {"kind": "sensor_series", "sensors": ["x"]}},
                      {"id": "c", "type": "bar", "query": {"kind": "sensor_latest", "sensors": ["$nope"]}}]}
    with pytest.raises(Refused) as exc:
        parse_dashboard(bad)
    fields = {d["field"] for d in exc.value.details}
    assert {"slug", "title_ja", "refresh", "time.from", "panels.0.grid"} <= fields
    with pytest.raises(Refused) as exc:
        parse_dashboard({**bad, "slug": "ok-slug", "title_ja": "a", "refresh": "off",
                         "time": {"from": "now-1h", "to": "now"}, "panels": bad["panels"][1:]})
    assert {d["field"]: d["message_key"] for d in exc.value.details} == {
        "panels.0.query.kind": "dash.err.kind_for_panel", "panels.1.query.sensors": "dash.err.unknown_variable"}
    with pytest.raises(Refused) as exc:
        parse_dashboard({"slug": "ok-slug", "title_ja": "a", "panels": [
            {"id": "a", "type": "timeseries", "query": {"kind": "sensor_series", "sensors": ["x"], "agg": "week"}}]})
    assert exc.value.details[0]["field"] == "panels.0.query.agg"
    for junk in (None, [], "x", 5, {"slug": ["a"]}):
        with pytest.raises(Refused):
            parse_dashboard(junk)


def test_time_window_relative_and_absolute():
    now = utcnow().replace(microsecond=0)
    assert time_window("now-7d", "now", now) == (now - timedelta(days=7), now)
    start, end = time_window("2026-01-15T09:00", "2026-01-16T09:00", now)
    assert start.isoformat() == "2026-01-15T00:00:00+00:00" and end - start == timedelta(days=1)
    assert time_window("garbage", "now", now) == (now - timedelta(hours=24), now)
    start, end = time_window("2020-01-01T00:00", "2026-01-01T00:00", now)
    assert end - start == timedelta(days=366)  # at most a year and a day


# --- API and the walls between organisations --------------------------------------------------------

def test_create_read_replace_delete_and_who_sees_what(client, app_people):
    kaga, hakui, admin = app_people["kaga"], app_people["hakui"], app_people["admin"]
    body = doc(visibility="private")
    assert client.post("/api/dashboards", json=body).status_code == 401
    r = client.post("/api/dashboards", json=body, headers=auth(kaga))
    assert r.status_code == 201, r.json
    assert r.json["organisation"] == "kaga" and r.json["panels"][0]["query"]["fn"] == "count"
    s = body["slug"]
    for who, status in ((None, 404), (hakui, 404), (kaga, 200), (admin, 200)):
        assert client.get(f"/api/dashboards/{s}", headers=auth(who)).status_code == status
        assert client.get(f"/api/dashboards/{s}/panels/shelters/data", headers=auth(who)).status_code == status
        assert client.get(f"/api/dashboards/{s}/panels/shelters/data.csv", headers=auth(who)).status_code == status
        listed = [d["slug"] for d in client.get("/api/dashboards", headers=auth(who)).json]
        assert (s in listed) == (status == 200)
    # another organisation cannot change or delete it, and cannot tell it exists
    assert client.put(f"/api/dashboards/{s}", json=body, headers=auth(hakui)).status_code == 404
    assert client.delete(f"/api/dashboards/{s}", headers=auth(hakui)).status_code == 404
    # once public: visible to all, still not changeable by others (403)
    r = client.put(f"/api/dashboards/{s}", json={**body, "visibility": "public"}, headers=auth(kaga))
    assert r.status_code == 200 and r.json["visibility"] == "public"
    assert client.get(f"/api/dashboards/{s}").status_code == 200
    assert client.put(f"/api/dashboards/{s}", json=body, headers=auth(hakui)).status_code == 403
    assert client.delete(f"/api/dashboards/{s}", headers=auth(hakui)).status_code == 403
    # an editor cannot create one for another organisation; an admin can
    r = client.post("/api/dashboards", json={**doc(), "organisation": "hakui"}, headers=auth(kaga))
    assert r.status_code == 403
    r = client.post("/api/dashboards", json={**doc(), "organisation": "hakui"}, headers=auth(admin))
    assert r.status_code == 201 and r.json["organisation"] == "hakui"
    # slug taken
    assert client.post("/api/dashboards", json=body, headers=auth(kaga)).status_code == 409
    assert client.delete(f"/api/dashboards/{s}", headers=auth(kaga)).status_code == 204
    assert client.get(f"/api/dashboards/{s}", headers=auth(kaga)).status_code == 404


def test_bad_bodies_are_4xx_with_fields_and_store_nothing(client, app_people):
    kaga = app_people["kaga"]
    for body in ("not json", [], {"slug": "x"}, {**doc(), "panels": "x"}, {**doc(), "extra": 1}):
        kw = {"data": body, "content_type": "application/json"} if isinstance(body, str) else {"json": body}
        r = client.post("/api/dashboards", headers={**auth(kaga), "Accept-Language": "en"}, **kw)
        assert r.status_code == 400, (body, r.json)
        assert r.json["error"] in ("bad_request", "invalid_dashboard") and r.json["message"]
    r = client.post("/api/dashboards", json={**doc(), "title_ja": ""}, headers=auth(kaga))
    assert r.json["details"][0] == {"field": "title_ja", "message": "入力してください。"} or \
        r.json["details"][0]["field"] == "title_ja"
    assert client.get("/api/dashboards/" + "x" * 500).status_code == 404
    assert client.get("/api/dashboards/nope/panels/" + "x" * 300 + "/data").status_code == 404


def test_public_dashboard_refuses_private_data_and_unknown_equals_forbidden(client, app_people):
    kaga, hakui = app_people["kaga"], app_people["hakui"]
    mine = private_sensor(client, kaga)
    theirs = private_sensor(client, hakui, lon=136.78, lat=36.89)
    panel = {"id": "p", "type": "stat", "query": {"kind": "sensor_latest", "sensors": [mine]}}
    r = client.post("/api/dashboards", json=doc(panels=[panel]), headers=auth(kaga))
    assert r.status_code == 422 and r.json["error"] == "private_data"
    assert r.json["details"][0]["field"] == "panels.0.query.sensors"
    # private dashboards may use the organisation's own private sensors
    r = client.post("/api/dashboards", json=doc(visibility="private", panels=[panel]), headers=auth(kaga))
    assert r.status_code == 201
    # another organisation's private sensor answers exactly as an unknown one
    other = {**panel, "query": {"kind": "sensor_latest", "sensors": [theirs]}}
    unknown = {**panel, "query": {"kind": "sensor_latest", "sensors": ["no-such-sensor"]}}
    r1 = client.post("/api/dashboards", json=doc(visibility="private", panels=[other]), headers=auth(kaga))
    r2 = client.post("/api/dashboards", json=doc(visibility="private", panels=[unknown]), headers=auth(kaga))
    assert r1.status_code == r2.status_code == 400
    assert r1.json["details"][0]["message"] == r2.json["details"][0]["message"]
    # layers too
    lay = {"id": "m", "type": "map", "query": {"kind": "map_layers", "layers": ["sensors-hakui"]}}
    r = client.post("/api/dashboards", json=doc(visibility="private", panels=[lay]), headers=auth(kaga))
    assert r.status_code == 400


def test_no_private_value_through_any_selection_of_a_public_dashboard(client, app_people):
    kaga, hakui = app_people["kaga"], app_people["hakui"]
    secret = private_sensor(client, kaga, value=987.5)  # in 加賀市
    panels = [
        {"id": "area", "type": "table", "query": {"kind": "sensor_latest", "area": "加賀市"}},
        {"id": "all", "type": "bar", "query": {"kind": "sensor_latest", "group_by": "area", "fn": "count"}},
        {"id": "var", "type": "table", "query": {"kind": "sensor_latest", "sensors": ["$s"]}},
    ]
    body = doc(panels=panels, variables=[{"name": "s", "type": "sensor", "label_ja": "センサー"}])
    assert client.post("/api/dashboards", json=body, headers=auth(kaga)).status_code == 201
    for who in (None, hakui, kaga):  # a public dashboard shows public data, whoever looks
        for pid in ("area", "all", "var"):
            for suffix in ("data", "data.csv"):
                r = client.get(f"/api/dashboards/{body['slug']}/panels/{pid}/{suffix}?var-s={secret}",
                               headers=auth(who))
                text = r.get_data(as_text=True)
                assert r.status_code == 200
                assert secret not in text and "987.5" not in text and "秘密" not in text
    # a private dashboard of kaga shows kaga's staff their own sensor
    body = doc(visibility="private", panels=panels[:1])
    client.post("/api/dashboards", json=body, headers=auth(kaga))
    r = client.get(f"/api/dashboards/{body['slug']}/panels/area/data", headers=auth(kaga))
    assert secret in r.get_data(as_text=True)


def test_data_that_became_private_shows_no_access(client, app_db, app_people):
    kaga = app_people["kaga"]
    sid = private_sensor(client, kaga)
    body = doc(visibility="private", panels=[{"id": "p", "type": "stat",
                                              "query": {"kind": "sensor_latest", "sensors": [sid]}}])
    client.post("/api/dashboards", json=body, headers=auth(kaga))
    # the dashboard goes public by a direct store change (as if the check had been older)
    from store import dashboards as sd

    with app_db.session() as s:
        d = sd.by_slug(s, body["slug"])
        d.visibility = "public"
    r = client.get(f"/api/dashboards/{body['slug']}/panels/p/data")
    assert r.status_code == 200 and r.json["denied"] is True and r.json["data"] == {}
    assert sid not in r.get_data(as_text=True)


# --- panel data -------------------------------------------------------------------------------------

def test_layer_stats_counts_like_a_hand_count(client, app_db, app_people):
    body = doc()
    client.post("/api/dashboards", json=body, headers=auth(app_people["kaga"]))
    got = client.get(f"/api/dashboards/{body['slug']}/panels/shelters/data").json["data"]["bars"]
    import json

    from app import ROOT

    expected: dict[str, int] = {}
    for name in ("gsi_evacuation_172065_kaga", "gsi_evacuation_172073_hakui", "gsi_evacuation_172111_nomi"):
        with open(ROOT / "data" / "shelters" / f"{name}.geojson", encoding="utf-8") as f:
            for feat in json.load(f)["features"]:
                key = feat["properties"]["都道府県名及び市町村名"]
                expected[key] = expected.get(key, 0) + 1
    assert {b["label"]: b["value"] for b in got} == expected
    # grouped by the municipality each point lies in
    by_area = {"id": "a", "type": "bar", "query": {"kind": "layer_stats", "layer": "shelters", "group_by": "@area"}}
    body = doc(panels=[by_area])
    client.post("/api/dashboards", json=body, headers=auth(app_people["kaga"]))
    bars = {b["label"]: b["value"] for b in
            client.get(f"/api/dashboards/{body['slug']}/panels/a/data").json["data"]["bars"]}
    assert sum(bars.values()) == sum(expected.values()) and set(bars) <= {"加賀市", "羽咋市", "能美市"}


def test_text_panel_and_csv(client, app_people):
    body = doc()
    client.post("/api/dashboards", json=body, headers=auth(app_people["kaga"]))
    r = client.get(f"/api/dashboards/{body['slug']}/panels/note/data")
    assert r.json["data"]["markdown"].startswith("**太字**")
    r = client.get(f"/api/dashboards/{body['slug']}/panels/shelters/data.csv")
    raw = r.get_data()
    assert raw.startswith("\ufeff".encode()) and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["group", "value"] and len(rows) > 1


def test_csv_neutralises_formula_cells():
    answer = {"data": {"rows": [{"name": "=HYPERLINK(\"x\")", "value": 1, "time": None}]}}
    text = service.panel_csv(answer).decode("utf-8-sig")
    assert "'=HYPERLINK" in text


def test_one_computation_per_panel_per_interval_for_all_viewers(client, app_people):
    from store.cache import cache

    body = doc()
    client.post("/api/dashboards", json=body, headers=auth(app_people["kaga"]))
    db = client.application.extensions["ishikawa.db"]
    now = utcnow()
    before = service.COMPUTATIONS["panels"]
    with client.application.app_context():
        for _ in range(50):
            service.all_panels(db, None, body["slug"], service.ViewParams(), now=now, cache=cache)
    assert service.COMPUTATIONS["panels"] - before == 2  # two panels, computed once each
    with client.application.app_context():
        service.all_panels(db, None, body["slug"], service.ViewParams(), now=now + timedelta(minutes=2), cache=cache)
    assert service.COMPUTATIONS["panels"] - before == 4  # the next interval computes again


def test_duplicate_versions_and_restore(client, app_db, app_people):
    kaga, hakui = app_people["kaga"], app_people["hakui"]
    body = doc()
    client.post("/api/dashboards", json=body, headers=auth(kaga))
    client.put(f"/api/dashboards/{body['slug']}", json={**body, "title_ja": "二版"}, headers=auth(kaga))
    from store.users import Staff

    def staff(p):
        with app_db.session() as s:
            from store.users import get_user_by_email, staff_of

            return staff_of(s, get_user_by_email(s, p.email))

    k = staff(kaga)
    assert isinstance(k, Staff)
    vs = service.versions(app_db, k, body["slug"])
    assert [v["version"] for v in vs] == [2, 1]
    restored = service.restore(app_db, k, body["slug"], 1)
    assert restored["title_ja"] == "テスト"
    assert service.versions(app_db, k, body["slug"])[0]["version"] == 3
    with pytest.raises(Refused) as exc:
        service.restore(app_db, k, body["slug"], 99)
    assert exc.value.status == 404
    copy = service.duplicate(app_db, staff(hakui), body["slug"])  # a public one of another city
    assert copy["organisation"] == "hakui" and copy["visibility"] == "private" and copy["slug"] != body["slug"]
    with pytest.raises(Refused) as exc:
        service.versions(app_db, staff(hakui), body["slug"])
    assert exc.value.status == 403


def test_only_embed_pages_may_be_framed_and_only_by_embed_origins(client):
    settings = client.application.extensions["ishikawa.settings"]
    r = client.get("/dashboards/hakui-snow")
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"] and r.headers["X-Frame-Options"] == "DENY"
    r = client.get("/embed/dashboards/hakui-snow")
    assert r.headers["Content-Security-Policy"].endswith("; frame-ancestors 'self'")
    assert "X-Frame-Options" not in r.headers
    client.application.extensions["ishikawa.settings"] = settings.with_(embed_origins=("https://www.city.kaga.example",))
    try:
        r = client.get("/embed/dashboards/hakui-snow")
        assert r.headers["Content-Security-Policy"].endswith("; frame-ancestors 'self' https://www.city.kaga.example")
    finally:
        client.application.extensions["ishikawa.settings"] = settings


def test_openapi_describes_the_dashboard_routes_and_schema(client):
    doc = client.get("/api/openapi.json").json
    for path in ("/api/dashboards", "/api/dashboards/{slug}", "/api/dashboards/{slug}/panels/{panel_id}/data",
                 "/api/dashboards/{slug}/panels/{panel_id}/data.csv"):
        assert path in doc["paths"]
    schemas = doc["components"]["schemas"]
    assert set(schemas["Dashboard"]["required"]) == {"slug", "title_ja"}
    kinds = {ref["$ref"].rsplit("_", 1)[-1] for ref in schemas["Panel"]["properties"]["query"]["oneOf"]}
    assert {"series", "latest", "stats", "items", "progress", "events", "layers", "none"} <= kinds


def test_catalog_lists_public_dashboards_only(client, app_people):
    private = doc(visibility="private", title_ja="秘密のダッシュボード")
    client.post("/api/dashboards", json=private, headers=auth(app_people["kaga"]))
    from pages.catalog import dashboards_section

    with client.application.test_request_context("/catalog"):
        text = str(dashboards_section("ja"))
    assert "/dashboards/hakui-snow" in text and private["slug"] not in text and "秘密" not in text
