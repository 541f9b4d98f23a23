"""Road restrictions (通行規制): reading lists with Japanese headers and times, the demo restrictions
on the shipped network, only those in force on the public map, all through the API, and private
restrictions through every route as another organisation and as anonymous."""
from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from sources import restrictions as rs
from store.db import utcnow
from store.restrictions import ALTERNATING, CHAIN, CLOSURE, OTHER, WINTER, RoadRestriction, kind_of_text
from timezones import JST

DATA = Path(__file__).resolve().parents[1] / "data"


def test_types_and_times_as_road_managers_write_them():
    assert kind_of_text("全面通行止め") == CLOSURE and kind_of_text("片側交互通行") == ALTERNATING
    assert kind_of_text("チェーン規制") == CHAIN and kind_of_text("冬期通行止め") == WINTER
    assert kind_of_text("Road closed") == CLOSURE and kind_of_text("何か") == OTHER and kind_of_text(None) == OTHER
    want = datetime(2026, 12, 1, 8, 30, tzinfo=JST).astimezone(UTC)
    for text in ("2026/12/01 08:30", "2026-12-01T08:30", "2026年12月1日 8時30分", "2026/12/1(火) 8:30",
                 "２０２６/１２/０１ ８:３０", "2026-11-30T23:30:00Z"):
        assert rs.parse_when(text) == (want, True), text
    assert rs.parse_when("未定") == (None, True) and rs.parse_when("") == (None, True)
    assert rs.parse_when("来週") == (None, False) and rs.parse_when("2026/13/40") == (None, False)


def test_rows_from_a_list_with_problems_named(tmp_path):
    feats = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [136.78, 36.89]},
         "properties": {"規制内容": "通行止め", "路線名": "市道", "規制開始日時": "2026/12/01 08:00",
                        "規制終了日時": "未定"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [136.78, 36.89]},
         "properties": {"規制内容": "通行止め", "規制開始日時": "いつか"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [136.78, 36.89]},
         "properties": {"規制内容": "", "規制開始日時": "2026/12/01"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [136.78, 36.89]},
         "properties": {"種別": "チェーン規制", "開始": "2026/12/02", "終了": "2026/12/01"}},
    ]
    rows, problems = rs.restriction_rows(feats, "hakui-r", "list.csv")
    assert len(rows) == 1 and rows[0].kind == CLOSURE and rows[0].ends_at is None and rows[0].source == "list.csv"
    assert [(p["row"], p["reason"]) for p in problems] == [(2, "bad_start"), (3, "no_type"), (4, "ends_before_start")]


def test_demo_restrictions_lie_on_the_shipped_network_around_today(db, people):
    now = utcnow()
    with db.session() as s:
        assert rs.ensure_demo(s, DATA, now) == len(rs.DEMO)
        rows = {r.id: r for r in s.query(RoadRestriction)}
        assert all(r.geometry_dict()["type"] in ("LineString", "MultiLineString") for r in rows.values())
        assert all(136.5 < r.minx and r.maxx < 137.1 and 36.7 < r.miny and r.maxy < 37.3 for r in rows.values())
        from store.restrictions import is_in_force

        in_force = {rid for rid, r in rows.items() if is_in_force(r, now)}
        assert in_force == {"demo-chain-415", "demo-closure-249", "demo-alternating-nanao", "demo-winter-fukaya"}
    # a day later the periods follow: still some in force
    with db.session() as s:
        rs.ensure_demo(s, DATA, now + timedelta(days=1))
        assert s.query(RoadRestriction).count() == len(rs.DEMO)


# --- through the app --------------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def demo_restrictions(dash_app):
    """The demo road restrictions in the shared app, before the first test of this file."""
    rs.demo_tick(dash_app.server.extensions["ishikawa.db"], DATA)


def jst(dt) -> str:
    return dt.astimezone(JST).strftime("%Y/%m/%d %H:%M")


def layer_ids(client, headers=None):
    return {f["id"] for f in client.get("/api/layers/road-restrictions/features", headers=headers or {})
            .get_json()["features"]}


def test_a_csv_upload_shows_only_the_active_ones_on_the_map_and_all_in_the_api(client, who):
    now = utcnow()
    csv = ("規制番号,規制内容,路線名,区間,規制理由,規制開始日時,規制終了日時,緯度,経度\n"
           f"U1,全面通行止め,市道テスト線,羽咋市テスト町,雪崩,{jst(now - timedelta(hours=2))},"
           f"{jst(now + timedelta(hours=5))},36.90,136.78\n"
           f"U2,チェーン規制,国道テスト号,テスト峠,積雪,{jst(now - timedelta(days=2))},"
           f"{jst(now - timedelta(days=1))},36.91,136.79\n"
           f"U3,片側交互通行,県道テスト線,テスト地内,工事,{jst(now + timedelta(days=1))},未定,36.92,136.80\n"
           "U4,通行止め,県道,どこか,不明,来週,,36.93,136.81\n").encode("cp932")
    r = client.post("/api/restrictions/upload", data={"file": (io.BytesIO(csv), "michi.csv")},
                    headers=who["hakui"].auth, content_type="multipart/form-data")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["stored"] == 3 and body["in_force"] == 1 and body["problem_count"] == 1
    assert body["problems"][0]["row"] == 4 and body["problems"][0]["reason"] == "bad_start"
    shown = layer_ids(client)
    assert "hakui-r-U1" in shown and not {"hakui-r-U2", "hakui-r-U3"} & shown
    assert "demo-chain-415" in shown and "demo-closure-ended" not in shown
    feat = next(f for f in client.get("/api/layers/road-restrictions/features").get_json()["features"]
                if f["id"] == "hakui-r-U1")
    assert feat["properties"]["kind"] == CLOSURE and feat["properties"]["section"] == "羽咋市テスト町"
    assert feat["properties"]["start_jst"] == jst(now - timedelta(hours=2)).replace("/", "-")
    all_ids = {x["id"] for x in client.get("/api/restrictions?all=1").get_json()["restrictions"]}
    assert {"hakui-r-U1", "hakui-r-U2", "hakui-r-U3", "demo-closure-ended"} <= all_ids
    later = (now + timedelta(days=1, hours=1)).astimezone(JST).strftime("%Y-%m-%dT%H:%M")
    at_ids = {x["id"] for x in client.get(f"/api/restrictions?at={later}").get_json()["restrictions"]}
    assert "hakui-r-U3" in at_ids and "hakui-r-U1" not in at_ids
    assert client.get("/api/restrictions?at=tomorrow").status_code == 400
    # the same file again replaces what it brought; others may not delete it
    csv2 = "規制内容,開始,終了,緯度,経度\n通行止め,,,36.90,136.78\n".encode()
    r = client.post("/api/restrictions/upload", data={"file": (io.BytesIO(csv2), "michi.csv")},
                    headers=who["hakui"].auth, content_type="multipart/form-data")
    assert r.get_json()["replaced"] == 3 and r.get_json()["stored"] == 1
    rid = next(x["id"] for x in client.get("/api/restrictions").get_json()["restrictions"]
               if x["organisation"] == "hakui")
    assert client.delete(f"/api/restrictions/{rid}", headers=who["kaga"].auth).status_code == 403
    assert client.delete(f"/api/restrictions/{rid}", headers=who["hakui"].auth).status_code == 204
    # a file without a type column is refused as a whole
    r = client.post("/api/restrictions/upload", data={"file": (io.BytesIO(b"name,lat,lon\nx,36.9,136.7\n"), "x.csv")},
                    headers=who["hakui"].auth, content_type="multipart/form-data")
    assert r.status_code == 422 and r.get_json()["error"] == "no_type_column"


def test_one_restriction_by_json_with_each_bad_field_named(client, who):
    r = client.post("/api/restrictions", data=orjson.dumps({"type": "", "start": "x", "geometry": {"type": "Point"},
                                                            "visibility": "x", "extra": 1}),
                    headers=who["kaga"].auth, content_type="application/json")
    assert r.status_code == 400
    assert {d["field"] for d in r.get_json()["details"]} == {"type", "start", "geometry", "visibility", "extra"}
    assert client.post("/api/restrictions", data=b"{}").status_code == 401


def test_private_restrictions_do_not_leak(client, who):
    line = {"type": "LineString", "coordinates": [[136.3111, 36.3011], [136.3122, 36.3022]]}
    body = {"type": "通行止め", "road": "秘密の農道", "section": "秘密区間", "geometry": line,
            "visibility": "private", "id": "kaga-secret-closure"}
    r = client.post("/api/restrictions", data=orjson.dumps(body),
                    headers=who["kaga"].auth, content_type="application/json")
    assert r.status_code == 201, r.get_json()
    secrets = ["kaga-secret-closure", "秘密の農道", "秘密区間", "136.3111"]
    for headers in ({}, who["hakui"].auth):
        resp = client.get("/api/restrictions/kaga-secret-closure", headers=headers)
        assert resp.status_code == 404 and not any(x in resp.get_data(as_text=True) for x in secrets)
        for url in ("/api/restrictions", "/api/restrictions?all=1", "/api/layers/road-restrictions/features",
                    "/api/layers/road-restrictions/features.csv", "/ogcapi/collections/road-restrictions/items"):
            text = client.get(url, headers=headers).get_data(as_text=True)
            assert not any(x in text for x in secrets), url
        assert client.delete("/api/restrictions/kaga-secret-closure", headers=who["hakui"].auth).status_code == 404
    for person in (who["kaga"], who["admin"]):
        assert client.get("/api/restrictions/kaga-secret-closure", headers=person.auth).status_code == 200
        assert "kaga-secret-closure" in layer_ids(client, person.auth)
    assert "kaga-secret-closure" not in layer_ids(client)
    assert client.delete("/api/restrictions/kaga-secret-closure", headers=who["kaga"].auth).status_code == 204


def test_layer_spec_in_both_languages():
    from layers.restrictions import RestrictionsKind

    class L:
        id, version, attribution_ja, attribution_en = "road-restrictions", 1, "", ""

    for lang, word in (("ja", "チェーン規制"), ("en", "Snow chains required")):
        spec = RestrictionsKind().map_spec(L, lang)
        assert spec.props["hideout"]["restriction"]["kinds"][CHAIN] == word
        assert spec.props["style"] == {"variable": "ishikawaMap.restrictionStyle"}
