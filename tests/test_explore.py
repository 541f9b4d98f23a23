"""Discover (/staff/explore): the service over the store on both backends, with the organisation
walls (another organisation's private sensor is neither listed, nor counted, nor found), and the
page's layout and callbacks as staff of another organisation and as anonymous."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from dashboards import explore
from store.brokers import SensorOrigin, Source
from store.db import utcnow
from store.features import replace_features
from store.layers import ensure_organisation, upsert_layer
from store.models import PRIVATE
from store.sensors import add_reading, upsert_sensor
from store.users import ADMIN, EDITOR, Staff, create_token, create_user


def _staff(org, role=EDITOR, uid=1) -> Staff:
    return Staff(id=uid, email=f"{org.code}@example.jp", organisation_id=org.id, organisation_code=org.code, role=role)


def _point(lon, lat, fid, **props):
    return {"type": "Feature", "id": fid, "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props}


@pytest.fixture
def world(db):
    """kaga and hakui each with a broker source; a public and a private (kaga) sensor layer;
    broker sensors and points; a public and a private (kaga) uploaded layer; the operator's broker."""
    now = utcnow().replace(microsecond=0)
    with db.session() as s:
        kaga = ensure_organisation(s, "kaga", "加賀市", "Kaga City")
        hakui = ensure_organisation(s, "hakui", "羽咋市", "Hakui City")
        pref = ensure_organisation(s, "ishikawa", "石川県", "Ishikawa Prefecture")
        src_kaga = Source(name="加賀 Orion", kind="orion", organisation_id=kaga.id, base_url="http://orion.kaga.example",
                          service="kaga", visibility=PRIVATE, layer_prefix="kg")
        src_hakui = Source(name="羽咋 Orion", kind="orion", organisation_id=hakui.id,
                           base_url="http://orion.hakui.example", layer_prefix="hk")
        src_env = Source(name="Orion WeatherObserved", kind="orion", entity_type="WeatherObserved", from_env=True,
                         base_url="http://orion.pref.example", layer_prefix="orion")
        s.add_all([src_kaga, src_hakui, src_env])
        s.flush()
        upsert_layer(s, "snow-depth", kind="snow_depth", name_ja="積雪深", name_en="Snow depth", group="yuki")
        upsert_layer(s, "sensors-kaga", kind="snow_depth", name_ja="加賀市 センサー", name_en="Kaga sensors",
                     group="yuki", organisation_id=kaga.id, visibility=PRIVATE)
        upsert_layer(s, "kg-water", kind="sensor_points", name_ja="水位（加賀）", group="bousai",
                     organisation_id=kaga.id, visibility=PRIVATE, options={"source_id": src_kaga.id, "role": "water"})
        upsert_layer(s, "hk-water", kind="sensor_points", name_ja="水位（羽咋）", group="bousai",
                     organisation_id=hakui.id, options={"source_id": src_hakui.id, "role": "water"})
        hk_points = upsert_layer(s, "hk-points", kind="ngsi_points", name_ja="地点（羽咋）", group="kihon",
                                 organisation_id=hakui.id, options={"source_id": src_hakui.id, "role": "points"})
        sensors = {
            "snow-hakui-01": ("snow-depth", "羽咋 積雪", 136.78, 36.89, 31.0),
            "snow-kaga-01": ("snow-depth", "加賀 積雪", 136.31, 36.30, 12.0),
            "kaga-secret-01": ("sensors-kaga", "加賀秘密センサー", 136.32, 36.31, 99.0),
            "kg-river-1": ("kg-water", "加賀秘密の川", 136.33, 36.29, 1.5),
            "hk-river-1": ("hk-water", "羽咋川 水位", 136.79, 36.90, 0.8),
        }
        for sid, (layer, name, lon, lat, value) in sensors.items():
            x = upsert_sensor(s, sid, layer_id=layer, name_ja=name, name_en=name, lon=lon, lat=lat,
                              unit="m" if "river" in sid else "cm",
                              attribute="waterLevel" if "river" in sid else "snowDepth")
            add_reading(s, x, value - 1, now - timedelta(hours=1))
            add_reading(s, x, value, now)
        s.add_all([SensorOrigin(sensor_id="kg-river-1", source_id=src_kaga.id, entity_id="urn:kaga:river1",
                                entity_type="WaterObserved", attribute="height"),
                   SensorOrigin(sensor_id="hk-river-1", source_id=src_hakui.id, entity_id="urn:hakui:river1",
                                entity_type="WaterObserved", attribute="height"),
                   SensorOrigin(sensor_id="snow-hakui-01", source_id=src_env.id, entity_id="urn:pref:snow1",
                                entity_type="WeatherObserved", attribute="snowHeight")])
        replace_features(s, hk_points, [
            _point(136.77, 36.88, "urn:poi:1", entity_id="urn:poi:1", entity_type="PointOfInterest", name="羽咋駅"),
            _point(136.78, 36.89, "urn:poi:2", entity_id="urn:poi:2", entity_type="PointOfInterest", name="市役所"),
            _point(136.79, 36.87, "urn:bus:1", entity_id="urn:bus:1", entity_type="BusStop", name="バス停"),
        ])
        pub = upsert_layer(s, "up-public", kind="uploaded", name_ja="羽咋 ランデブーポイント", group="bousai",
                           organisation_id=hakui.id, options={"columns": ["名称", "収容人数", "a.b"]})
        replace_features(s, pub, [_point(136.77 + i / 1000, 36.9, str(i), **{"名称": f"地点{i}", "収容人数": i * 10,
                                                                           "a.b": "x"}) for i in range(1, 26)])
        priv = upsert_layer(s, "up-kaga-private", kind="uploaded", name_ja="加賀 非公開の備蓄", group="bousai",
                            organisation_id=kaga.id, visibility=PRIVATE, options={"columns": ["名称", "備蓄数"]})
        replace_features(s, priv, [_point(136.3, 36.3, "1", 名称="加賀の秘密倉庫", 備蓄数=5)])
        people = {"kaga": _staff(kaga, uid=1), "hakui": _staff(hakui, uid=2), "admin": _staff(pref, ADMIN, uid=3),
                  "anonymous": None}
        ids = {"kaga": src_kaga.id, "hakui": src_hakui.id, "env": src_env.id}
    return {"people": people, "sources": ids}


def _types(db, who) -> dict[str, dict]:
    with db.session() as s:
        return {row["key"]: row for g in explore.entity_types(s, who) for row in g.types}


def _ids(db, who, key, search=""):
    with db.session() as s:
        return [r["id"] for r in explore.entities(s, who, key, search=search)]


def test_sources_and_types_per_organisation(db, world):
    p, src = world["people"], world["sources"]
    with db.session() as s:
        groups = {g.key: g for g in explore.entity_types(s, p["hakui"])}
    # hakui: its own source, the operator's broker and the platform's layers; not kaga's source
    assert list(groups) == ["env", str(src["hakui"]), "layers"]
    hk = {row["type"]: row for row in groups[str(src["hakui"])].types}
    assert hk["WaterObserved"]["count"] == 1 and hk["WaterObserved"]["what"] == "sensor"
    assert hk["PointOfInterest"]["count"] == 2 and hk["BusStop"]["count"] == 1
    assert [row["type"] for row in groups["env"].types] == ["WeatherObserved"]
    assert groups["env"].base_url == "http://orion.pref.example"
    with db.session() as s:
        kaga_groups = [g.key for g in explore.entity_types(s, p["kaga"])]
        admin_groups = [g.key for g in explore.entity_types(s, p["admin"])]
        anon_groups = [g.key for g in explore.entity_types(s, None)]
    assert kaga_groups == ["env", str(src["kaga"]), "layers"]
    assert admin_groups == ["env", str(src["kaga"]), str(src["hakui"]), "layers"]
    assert anon_groups == ["layers"]  # anonymous visitors browse no source


def test_private_sensor_of_another_organisation_is_not_counted_listed_or_found(db, world):
    p = world["people"]
    counts = {who: _types(db, p[who])["k:snow_depth"] for who in p}
    assert counts["kaga"]["sensors"] == 3 and counts["admin"]["sensors"] == 3
    assert counts["hakui"]["sensors"] == 2 and counts["anonymous"]["sensors"] == 2
    assert counts["hakui"]["layers"] == 1 and counts["kaga"]["layers"] == 2
    for who in ("hakui", "anonymous"):
        assert "kaga-secret-01" not in _ids(db, p[who], "k:snow_depth")
        assert _ids(db, p[who], "k:snow_depth", search="秘密") == []
        assert _ids(db, p[who], "k:snow_depth", search="kaga-secret") == []
        assert _ids(db, p[who], "k:sensor_points", search="加賀") == []
        # kaga's broker: neither its types nor its sensors, even with the key spelled out
        assert f"s:{world['sources']['kaga']}:sensor:WaterObserved" not in _types(db, p[who])
        assert _ids(db, p[who], f"s:{world['sources']['kaga']}:sensor:WaterObserved") == []
    # the control: kaga and the admin find it
    assert _ids(db, p["kaga"], "k:snow_depth", search="秘密") == ["kaga-secret-01"]
    assert _ids(db, p["admin"], "k:snow_depth", search="SECRET") == ["kaga-secret-01"]
    assert _ids(db, p["kaga"], f"s:{world['sources']['kaga']}:sensor:WaterObserved") == ["kg-river-1"]


def test_entities_carry_latest_values_and_search_in_sql(db, world):
    p, src = world["people"], world["sources"]
    with db.session() as s:
        rows = explore.entities(s, p["hakui"], "k:snow_depth")
    by_id = {r["id"]: r for r in rows}
    assert set(by_id) == {"snow-hakui-01", "snow-kaga-01"}
    hk = by_id["snow-hakui-01"]
    assert (hk["value"], hk["unit"], hk["attribute"], hk["layer_id"]) == (31.0, "cm", "snowDepth", "snow-depth")
    assert hk["area"] == "羽咋市" and hk["entity_type"] == "WeatherObserved" and hk["entity_id"] == "urn:pref:snow1"
    assert hk["time"] is not None and hk["time"].tzinfo is not None
    # search: name, id and entity id; LIKE wildcards are plain characters
    assert _ids(db, p["hakui"], "k:snow_depth", search="羽咋") == ["snow-hakui-01"]
    assert _ids(db, p["hakui"], "k:snow_depth", search="urn:pref") == ["snow-hakui-01"]
    assert _ids(db, p["hakui"], "k:snow_depth", search="%") == []
    assert _ids(db, p["hakui"], "k:snow_depth", search="_") == []
    # a broker's entity types: sensors by type, points by type (searchable by property values)
    assert _ids(db, p["hakui"], f"s:{src['hakui']}:sensor:WaterObserved") == ["hk-river-1"]
    assert _ids(db, p["hakui"], f"s:{src['hakui']}:feature:PointOfInterest") == ["urn:poi:1", "urn:poi:2"]
    assert _ids(db, p["hakui"], f"s:{src['hakui']}:feature:PointOfInterest", search="駅") == ["urn:poi:1"]
    assert _ids(db, p["hakui"], "s:env:sensor:WeatherObserved") == ["snow-hakui-01"]
    # a limit, and keys that mean nothing
    with db.session() as s:
        assert len(explore.entities(s, p["hakui"], "k:uploaded", limit=5)) == 5
        assert explore.entities(s, p["hakui"], "k:uploaded", limit=0)  # at least one
    for bad in ("", "x", "k:", "s:1:other:x", "s::sensor:x", "s:999:sensor:WaterObserved", "k:no_such_kind"):
        assert _ids(db, p["admin"], bad) == []


def test_ckan_rows_without_a_type_are_listed_under_their_dataset(db, world):
    p = world["people"]
    with db.session() as s:
        hakui_id = p["hakui"].organisation_id
        src = Source(name="羽咋 CKAN", kind="ckan", organisation_id=hakui_id, base_url="http://ckan.hakui.example",
                     ckan_dataset="hakui-shelters", layer_prefix="hkc")
        s.add(src)
        s.flush()
        layer = upsert_layer(s, "hkc-points", kind="ngsi_points", name_ja="CKAN 避難所", group="bousai",
                             organisation_id=hakui_id, options={"source_id": src.id, "role": "points"})
        replace_features(s, layer, [_point(136.78, 36.9, "r1", 名称="羽咋小学校"),
                                    _point(136.79, 36.91, "r2", 名称="邑知中学校")])
        sid = src.id
    types = _types(db, p["hakui"])
    row = types[f"s:{sid}:feature:"]
    assert (row["label"], row["count"], row["what"]) == ("hakui-shelters", 2, "feature")
    assert _ids(db, p["hakui"], f"s:{sid}:feature:") == ["r1", "r2"]
    with db.session() as s:
        rows = explore.entities(s, p["hakui"], f"s:{sid}:feature:", search="邑知")
    assert [(r["id"], r["name_ja"], r["area"]) for r in rows] == [("r2", "邑知中学校", "羽咋市")]
    # kaga's staff do not browse hakui's CKAN site, even with its key
    assert f"s:{sid}:feature:" not in _types(db, p["kaga"])
    assert _ids(db, p["kaga"], f"s:{sid}:feature:") == []


def test_uploaded_layers_counted_and_private_ones_walled(db, world):
    p = world["people"]
    kinds = {who: _types(db, p[who])["k:uploaded"] for who in p}
    assert kinds["hakui"]["features"] == 25 and kinds["anonymous"]["features"] == 25
    assert kinds["kaga"]["features"] == 26 and kinds["kaga"]["layers"] == 2
    for who in ("hakui", "anonymous"):
        assert _ids(db, p[who], "k:uploaded", search="秘密倉庫") == []
        with db.session() as s:
            assert "up-kaga-private" not in [x["id"] for x in explore.vector_layers(s, p[who])]
            assert explore.layer_properties(s, p[who], "up-kaga-private") is None
    assert _ids(db, p["kaga"], "k:uploaded", search="秘密倉庫") == ["1"]
    with db.session() as s:
        assert "up-kaga-private" in [x["id"] for x in explore.vector_layers(s, p["kaga"])]
        assert explore.layer_properties(s, p["kaga"], "up-kaga-private")["layer"]["count"] == 1


def test_layer_properties_and_sample(db, world):
    with db.session() as s:
        layers = {x["id"]: x for x in explore.vector_layers(s, world["people"]["hakui"])}
        detail = explore.layer_properties(s, world["people"]["hakui"], "up-public", sample=5)
        points = explore.layer_properties(s, None, "hk-points")
        assert explore.layer_properties(s, None, "no-such-layer") is None
    assert layers["up-public"]["count"] == 25 and layers["hk-points"]["count"] == 3
    assert "snow-depth" not in layers  # sensors are listed by type, not as items
    assert detail["layer"]["count"] == 25 and detail["scanned"] == 25
    props = {x["name"]: x for x in detail["properties"]}
    assert list(props) == ["名称", "収容人数", "a.b"]
    assert props["収容人数"]["type"] == "number" and props["名称"]["type"] == "text"
    assert props["名称"]["example"] == "地点1" and props["名称"]["filled"] == 25
    assert [it["fid"] for it in detail["items"]] == ["1", "2", "3", "4", "5"]
    assert detail["items"][0]["area"] == "羽咋市"
    # layers without a column list: the names come from the items themselves
    assert [x["name"] for x in points["properties"]] == ["entity_id", "entity_type", "name"]


# --- the page ------------------------------------------------------------------------------------

PASSWORD = "correct horse battery"


def _person(app_db, org: str, role: str = EDITOR) -> str:
    with app_db.session() as s:
        user = create_user(s, f"{org}-{uuid.uuid4().hex[:8]}@example.jp", PASSWORD, org, role)
        return create_token(s, user, "test")


def _text(component) -> str:
    import json

    import plotly

    return json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False)


@pytest.fixture
def kaga_secret(client, app_db):
    """A private sensor of kaga's, made the way a city's system does: POST /api/readings."""
    token = _person(app_db, "kaga")
    sid = f"kaga-hidden-{uuid.uuid4().hex[:6]}"
    resp = client.post("/api/readings", headers={"Authorization": f"Bearer {token}"}, json=[
        {"sensor_id": sid, "value": 42, "time": utcnow().isoformat(), "lon": 136.35, "lat": 36.3,
         "name": "加賀の非公開センサー"}])
    assert resp.status_code == 200 and resp.json["created_sensors"] == [sid]
    return sid, token


def _as(dash_app, token: str | None, path="/staff/explore"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return dash_app.server.test_request_context(path, headers=headers)


def test_page_callbacks_keep_the_walls(dash_app, app_db, kaga_secret):
    from pages import staff_explore as page

    sid, kaga_token = kaga_secret
    hakui_token = _person(app_db, "hakui")
    with _as(dash_app, hakui_token):
        rows, line = page.search(sid, None, "k:snow_depth", "ja")
        assert rows == [] and line == "該当するものはありません。"
        rows, _line = page.search("", None, "k:snow_depth", "en")
        assert rows and sid not in _text(rows)
        assert all(r["layer"] != "Kaga City sensors" for r in rows)
        demo = rows[0]
        assert "/sensors?sensors=" in demo["actions"] and "/staff/dashboards?add_sensor=" in demo["actions"]
        assert "lang=en" in demo["actions"] and "Add to a dashboard" in demo["actions"]
        layout = _text(page.layout(lang="ja", type="k:snow_depth"))
        assert sid not in layout and "加賀の非公開センサー" not in layout
        assert "加賀市 センサー" not in layout
        # kaga's private layer named in the address: "not found", like an unknown one
        layout = _text(page.layout(lang="ja", layer="sensors-kaga"))
        assert "このレイヤは見つかりません。" in layout and "加賀市 センサー" not in layout
    with _as(dash_app, None):
        rows, line = page.search(sid, None, "k:snow_depth", "en")
        assert rows == [] and line == "Your session has ended. Please log in again."
        layout = _text(page.layout(lang="ja", type="k:snow_depth"))
        assert "explore-need-login" in layout and "explore-grid" not in layout and sid not in layout
    # the control: kaga's own staff find it, with its history and dashboard links
    with _as(dash_app, kaga_token):
        rows, line = page.search(sid, None, "k:snow_depth", "ja")
        assert [r["id"] for r in rows] == [sid] and line == "1 件を表示"
        assert rows[0]["value"] == 42 and rows[0]["area"] == "加賀市" and rows[0]["unit"] == "cm"
        assert f"/sensors?sensors={sid}&lang=ja" in rows[0]["actions"]
        assert f"/staff/dashboards?add_sensor={sid}&lang=ja" in rows[0]["actions"]
        assert sid in _text(page.layout(lang="ja", type="k:snow_depth"))
        assert "加賀市 センサー" in _text(page.layout(lang="ja", layer="sensors-kaga"))


def test_page_through_dash_update_component(dash_app, app_db, kaga_secret):
    """The search callback as a crafted POST, anonymous and as hakui: nothing of kaga's."""
    sid, _kaga_token = kaga_secret
    hakui_token = _person(app_db, "hakui")
    payload = {"output": "..explore-grid.rowData...explore-count.children..",
               "outputs": [{"id": "explore-grid", "property": "rowData"},
                           {"id": "explore-count", "property": "children"}],
               "inputs": [{"id": "explore-search", "property": "value", "value": "加賀"},
                          {"id": "explore-search-go", "property": "n_clicks", "value": 1}],
               "state": [{"id": "explore-type", "property": "data", "value": "k:snow_depth"},
                         {"id": "explore-lang", "property": "data", "value": "ja"}],
               "changedPropIds": ["explore-search.value"]}
    client = dash_app.server.test_client()
    client.get("/")
    for headers in ({}, {"Authorization": f"Bearer {hakui_token}"}):
        body = client.post("/_dash-update-component", json=payload, headers=headers).get_data(as_text=True)
        assert sid not in body and "非公開センサー" not in body
    body = client.post("/_dash-update-component", json=payload,
                       headers={"Authorization": f"Bearer {kaga_secret[1]}"}).get_data(as_text=True)
    assert sid in body


def test_layer_detail_in_the_page(dash_app, app_db):
    from pages import staff_explore as page

    token = _person(app_db, "hakui")
    with _as(dash_app, token):
        text = _text(page.layout(lang="en", layer="aed"))
        assert "explore-sample" in text and "Sample items (the first 20)" in text
        assert "Data sources and entity types" in text
        missing = _text(page.layout(lang="en", layer="no-such-layer"))
        assert "This layer was not found." in missing and "explore-sample" not in missing
