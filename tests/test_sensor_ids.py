"""Posted sensor ids are per organisation: two cities may post the same id, each sees and addresses
only its own sensor by exactly that id, and nothing tells either that the id exists elsewhere —
through the real routes (POST /api/readings, GET /api/sensors, alert rules, layer features,
public readings), as each organisation, as a prefecture admin and as anonymous."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from store.db import utcnow
from store.layers import upsert_layer
from store.models import PUBLIC, Layer, Organisation, Reading, Sensor
from store.sensors import add_reading, upsert_sensor
from tests.staff_helpers import pages_router

START = utcnow().replace(microsecond=0) - timedelta(minutes=50)


@pytest.fixture(autouse=True)
def _fresh_start():
    """START from when each test runs, not from when the suite was collected (a long suite would
    make the readings old enough to count as silent or out of range)."""
    global START
    START = utcnow().replace(microsecond=0) - timedelta(minutes=50)


def _post(client, who, sid, value, name=None, where=None):
    """One reading, `value` minutes after START (no two readings share a time)."""
    item = {"sensor_id": sid, "attribute": "snowDepth", "value": value,
            "time": (START + timedelta(minutes=value)).isoformat()}
    if where:
        item.update(lon=where[0], lat=where[1])
    if name:
        item["name"] = name
    return client.post("/api/readings", json=[item], headers=who.auth)


def _listed(client, who, sid) -> tuple[list[dict], str]:
    r = client.get("/api/sensors", headers=who.auth if who else {})
    assert r.status_code == 200
    return [x for x in r.json if x["id"] == sid], r.get_data(as_text=True)


def _readings_of(app_db, sid_or_key) -> list[float]:
    with app_db.session() as s:
        return sorted(r.value for r in s.scalars(select(Reading).where(Reading.sensor_id == sid_or_key)))


def test_two_organisations_post_the_same_id_and_each_sees_only_its_own(client, app_db, kaga, hakui, admin):
    x = f"snow-{uuid.uuid4().hex[:8]}"
    secret = f"羽咋 秘密 {uuid.uuid4().hex[:6]}"
    first = _post(client, hakui, x, 41, name=secret, where=(136.7777, 36.8888))
    assert first.status_code == 200 and first.json["created_sensors"] == [x]
    r = _post(client, kaga, x, 3, name="加賀 観測点", where=(136.3111, 36.3222))
    assert r.status_code == 200
    assert r.json == {"accepted": 1, "duplicates": 0, "created_sensors": [x]}  # as for an unused id
    # each organisation lists exactly one sensor with that id: its own, with its own value and place
    for who, value, name, other in ((kaga, 3, "加賀 観測点", secret), (hakui, 41, secret, "加賀 観測点")):
        mine, text = _listed(client, who, x)
        assert len(mine) == 1, (who.org, mine)
        assert mine[0]["latest"]["value"] == value and mine[0]["name"]["ja"] == name
        assert mine[0]["layer_id"] == f"sensors-{who.org}" and mine[0]["visibility"] == "private"
        assert f":{x}" not in text and other not in text  # no prefixed id, nothing of the other's
    assert _listed(client, None, x)[0] == []  # anonymous: both are private
    # later readings without a position go to the poster's own sensor, never to the other's
    assert _post(client, kaga, x, 4).json == {"accepted": 1, "duplicates": 0, "created_sensors": []}
    assert _post(client, hakui, x, 42).json == {"accepted": 1, "duplicates": 0, "created_sensors": []}
    assert _listed(client, kaga, x)[0][0]["latest"]["value"] == 4
    assert _listed(client, hakui, x)[0][0]["latest"]["value"] == 42
    # a prefecture admin sees both, each by the id its city posted
    both, text = _listed(client, admin, x)
    assert sorted(b["layer_id"] for b in both) == ["sensors-hakui", "sensors-kaga"]
    assert f":{x}" not in text
    # an alert rule on "x" watches the rule owner's own sensor, and shows it as "x"
    rule = {"name": "加賀 積雪", "sensor_id": x, "attribute": "snowDepth", "op": ">", "threshold": 1,
            "recipients": ["crew@kaga.example.jp"]}
    made = client.post("/api/alert-rules", json=rule, headers=kaga.auth)
    assert made.status_code == 201 and made.json["sensor_id"] == x
    got = client.get(f"/api/alert-rules/{made.json['id']}", headers=kaga.auth)
    assert got.json["sensor_id"] == x and secret not in got.get_data(as_text=True)
    patched = client.patch(f"/api/alert-rules/{made.json['id']}", json={"threshold": 2}, headers=kaga.auth)
    assert patched.status_code == 200 and patched.json["sensor_id"] == x
    listed = client.get("/api/alert-rules", headers=kaga.auth).get_data(as_text=True)
    assert f":{x}" not in listed
    # it fires on 加賀市's next reading, and the mail's history link names the posted id
    assert _post(client, kaga, x, 5).json["accepted"] == 1
    with app_db.session() as s:
        from store.alerts import OutboxMail

        mails = [m.body_text + m.body_html for m in s.scalars(select(OutboxMail).where(
            OutboxMail.rule_id == made.json["id"]))]
    assert mails and all(f"sensors?sensor={x}&" in m and f":{x}" not in m and secret not in m for m in mails)
    # the map's features of each city's sensor layer: the posted id, its own sensor only
    for who, value in ((kaga, 5), (hakui, 42)):
        feats = client.get(f"/api/layers/sensors-{who.org}/features", headers=who.auth)
        assert feats.status_code == 200, feats.status_code
        ours = [f for f in feats.json["features"] if f["properties"]["sensor_id"] == x]
        assert len(ours) == 1 and ours[0]["id"] == x and ours[0]["properties"]["value"] == value
        assert f":{x}" not in feats.get_data(as_text=True)


def _public_sensor_of_hakui(app_db, sid: str, secret: str) -> str:
    """A public layer of 羽咋市 with one sensor `sid` and one reading (41 cm); its layer id."""
    layer_id = f"hakui-public-{uuid.uuid4().hex[:6]}"
    with app_db.session() as s:
        org = s.scalar(select(Organisation).where(Organisation.code == "hakui"))
        upsert_layer(s, layer_id, kind="snow_depth", name_ja="羽咋 公開", name_en="Hakui public", group="yuki",
                     organisation_id=org.id, visibility=PUBLIC)
        sensor = upsert_sensor(s, sid, layer_id=layer_id, name_ja=secret, name_en=secret,
                               lon=136.7777, lat=36.8888, attribute="snowDepth", unit="cm")
        add_reading(s, sensor, 41.0, START)
    return layer_id


def test_a_poster_never_writes_into_another_organisations_public_sensor(client, app_db, kaga, hakui):
    x = f"pub-{uuid.uuid4().hex[:8]}"
    secret = f"羽咋 公開 {uuid.uuid4().hex[:6]}"
    layer_id = _public_sensor_of_hakui(app_db, x, secret)
    unknown = f"none-{uuid.uuid4().hex[:8]}"
    # without a position: refused exactly as an unknown id (a new sensor needs lon/lat)
    a, b = _post(client, kaga, x, 5), _post(client, kaga, unknown, 5)
    assert a.status_code == b.status_code == 400 and a.json == b.json
    # with one: the poster's own new sensor, as for any unused id; 羽咋市's sensor gets nothing
    r = _post(client, kaga, x, 6, name="加賀 新設", where=(136.3111, 36.3222))
    assert r.status_code == 200 and r.json == {"accepted": 1, "duplicates": 0, "created_sensors": [x]}
    assert _post(client, kaga, x, 7).json["accepted"] == 1  # its own sensor from now on
    assert _readings_of(app_db, x) == [41.0]
    with app_db.session() as s:
        theirs = s.get(Sensor, x)
        assert theirs.layer_id == layer_id and theirs.last_value == 41.0 and theirs.name_ja == secret
    # anonymous and 羽咋市: the public sensor as it was, and nothing of 加賀市's
    for who in (None, hakui):
        seen, text = _listed(client, who, x)
        assert [(v["layer_id"], v["latest"]["value"]) for v in seen] == [(layer_id, 41.0)]
        assert "加賀 新設" not in text
    public = client.get(f"/api/sensors/{x}/readings", query_string={"since": START.isoformat()})
    assert public.status_code == 200 and [p["value"] for p in public.json["readings"]] == [41.0]
    # 加賀市: the public one (anyone sees it) and its own private one, both by the id it posted
    seen, text = _listed(client, kaga, x)
    assert sorted((v["layer_id"], v["latest"]["value"]) for v in seen) == [(layer_id, 41.0), ("sensors-kaga", 7.0)]
    assert f":{x}" not in text
    # its own sensor is what its rules on that id watch
    rule = {"name": "加賀 新設", "sensor_id": x, "attribute": "snowDepth", "op": ">", "threshold": 1,
            "recipients": ["crew@kaga.example.jp"]}
    made = client.post("/api/alert-rules", json=rule, headers=kaga.auth)
    assert made.status_code == 201 and made.json["sensor_id"] == x
    with app_db.session() as s:
        from store.alerts import AlertRule

        watched = s.get(Sensor, s.get(AlertRule, made.json["id"]).sensor_id)
        assert watched.layer_id == "sensors-kaga"


def _dashboard(client, who, sid) -> str:
    slug = f"t-{uuid.uuid4().hex[:10]}"
    body = {"slug": slug, "title_ja": "積雪", "visibility": "private", "time": {"from": "now-24h", "to": "now"},
            "panels": [{"id": "p", "type": "table", "grid": {"x": 0, "y": 0, "w": 6, "h": 4},
                        "query": {"kind": "sensor_latest", "sensors": [sid]}},
                       {"id": "s", "type": "timeseries", "grid": {"x": 6, "y": 0, "w": 6, "h": 4},
                        "query": {"kind": "sensor_series", "sensors": [sid]}}]}
    r = client.post("/api/dashboards", json=body, headers=who.auth)
    assert r.status_code == 201, r.json
    return slug


def test_dashboards_name_each_organisations_own_sensor_by_the_posted_id(client, app_db, kaga, hakui):
    x = f"dash-{uuid.uuid4().hex[:8]}"
    secret = f"羽咋 秘密 {uuid.uuid4().hex[:6]}"
    assert _post(client, hakui, x, 30, name=secret, where=(136.7777, 36.8888)).status_code == 200
    assert _post(client, kaga, x, 8, name="加賀 観測点", where=(136.3111, 36.3222)).status_code == 200
    for who, value in ((kaga, 8.0), (hakui, 30.0)):
        slug = _dashboard(client, who, x)
        got = client.get(f"/api/dashboards/{slug}", headers=who.auth)
        assert [p["query"]["sensors"] for p in got.json["panels"]] == [[x], [x]]
        data = client.get(f"/api/dashboards/{slug}/panels/p/data", headers=who.auth)
        assert data.status_code == 200 and not data.json.get("denied")
        assert [(r["id"], r["value"]) for r in data.json["data"]["rows"]] == [(x, value)], who.org
        series = client.get(f"/api/dashboards/{slug}/panels/s/data", headers=who.auth,
                            query_string={"from": START.isoformat(), "to": utcnow().isoformat()}).json
        assert [(s_["key"], [p[1] for p in s_["points"]]) for s_ in series["data"]["series"]] == [(x, [value])]
        texts = [got.get_data(as_text=True), data.get_data(as_text=True), json_text(series)]
        assert not any(f":{x}" in t_ for t_ in texts)
        other = secret if who is kaga else "加賀 観測点"
        assert not any(other in t_ for t_ in texts)


def json_text(obj) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False)


def test_a_device_state_to_another_organisations_device_id_answers_like_an_unused_id(client, kaga, hakui):
    def state(who, did):
        return client.post("/api/readings", headers=who.auth, json=[
            {"sensor_id": did, "state": "稼働中", "time": utcnow().isoformat(), "lon": 136.78, "lat": 36.89}])

    theirs, unknown = f"dev-{uuid.uuid4().hex[:8]}", f"dev-{uuid.uuid4().hex[:8]}"
    assert state(hakui, theirs).status_code == 200  # 羽咋市's private device
    a, b = state(kaga, theirs), state(kaga, unknown)
    assert (a.status_code, a.json) == (b.status_code, {**b.json, "created_sensors": [theirs]})


def _kaga_public_sensor_posted_as(app_db, sid: str) -> str:
    """A public layer of 加賀市 with the sensor it posted as `sid` while that id was taken (store key
    `kaga:<sid>`), reading 9 cm; its layer id."""
    layer_id = f"kaga-public-{uuid.uuid4().hex[:6]}"
    with app_db.session() as s:
        org = s.scalar(select(Organisation).where(Organisation.code == "kaga"))
        upsert_layer(s, layer_id, kind="snow_depth", name_ja="加賀 公開", name_en="Kaga public", group="yuki",
                     organisation_id=org.id, visibility=PUBLIC)
        sensor = upsert_sensor(s, f"kaga:{sid}", ref=sid, layer_id=layer_id, name_ja="加賀 公開点",
                               name_en="Kaga point", lon=136.3111, lat=36.3222, attribute="snowDepth", unit="cm")
        add_reading(s, sensor, 9.0, START + timedelta(minutes=9))
    return layer_id


def _sensors_page(client, search: str) -> str:
    return pages_router(client, "/sensors", search).get_data(as_text=True)


def test_the_public_sees_a_posted_sensor_by_its_posted_id(client, app_db, hakui):
    y = f"pubpost-{uuid.uuid4().hex[:8]}"
    secret = f"羽咋 秘密 {uuid.uuid4().hex[:6]}"
    assert _post(client, hakui, y, 44, name=secret, where=(136.7777, 36.8888)).status_code == 200  # private
    layer_id = _kaga_public_sensor_posted_as(app_db, y)
    seen, text = _listed(client, None, y)
    assert [(v["layer_id"], v["latest"]["value"]) for v in seen] == [(layer_id, 9.0)]
    assert f":{y}" not in text and secret not in text
    since = {"since": START.isoformat()}
    r = client.get(f"/api/sensors/{y}/readings", query_string=since)
    assert r.status_code == 200 and r.json["sensor"]["id"] == y and [p["value"] for p in r.json["readings"]] == [9.0]
    feats = client.get(f"/api/layers/{layer_id}/features").json["features"]
    assert [(f["id"], f["properties"]["history_url"]) for f in feats] == [(y, f"/sensors?sensor={y}")]
    csv = client.get("/api/sensors/export.csv", query_string={"sensors": y, "range": "24h"})
    assert csv.status_code == 200
    lines = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert [ln.split(",")[0] for ln in lines[1:]] == [y] and lines[1].endswith(",9.0")
    page = _sensors_page(client, f"?sensor={y}")
    # its links (permalink, CSV, language switch) name the posted id (the picker's option values and
    # the markers' ids are the store keys, never shown)
    assert f"sensors={y}" in page and f"sensors=kaga:{y}" not in page and f"sensors=kaga%3A{y}" not in page
    assert secret not in page


def test_two_public_sensors_shown_by_one_id_each_keep_a_working_address(client, app_db):
    z = f"twopub-{uuid.uuid4().hex[:8]}"
    hakui_layer = _public_sensor_of_hakui(app_db, z, "羽咋 公開点")  # key z, 41 cm
    kaga_layer = _kaga_public_sensor_posted_as(app_db, z)  # key kaga:z, 9 cm
    seen, _ = _listed(client, None, z)
    assert sorted(v["layer_id"] for v in seen) == sorted([hakui_layer, kaga_layer])
    urls = {f["properties"]["history_url"] for layer in (hakui_layer, kaga_layer)
            for f in client.get(f"/api/layers/{layer}/features").json["features"]}
    assert urls == {f"/sensors?sensor={z}", f"/sensors?sensor=kaga:{z}"}
    window = {"range": "24h"}
    for address, value in ((z, "41.0"), (f"kaga:{z}", "9.0")):
        csv = client.get("/api/sensors/export.csv", query_string={"sensors": address, **window})
        assert csv.get_data(as_text=True).splitlines()[1].endswith("," + value), address


def test_an_old_database_gets_the_ref_column_and_its_prefixed_sensors_their_posted_ids(db):
    """Sensors made by posting before `ref` were keyed `<org>:<id>` when the id was taken: after
    create_all they are shown and reached by that id again; other sensors keep showing their key."""
    import sqlalchemy as sa

    from store.layers import ensure_organisation
    from store.schema import create_all
    from store.sensors import find_sensor, posted_sensor, shown_id

    with db.session() as s:
        kaga = ensure_organisation(s, "kaga", "加賀市", "Kaga")
        upsert_layer(s, "sensors-kaga", kind="snow_depth", name_ja="k", group="yuki", organisation_id=kaga.id)
        upsert_layer(s, "broker-kaga", kind="snow_depth", name_ja="b", group="yuki", organisation_id=kaga.id)
        for key, layer in (("kaga:x", "sensors-kaga"), ("y", "sensors-kaga"), ("kaga:z", "broker-kaga")):
            upsert_sensor(s, key, layer_id=layer, name_ja=key, lon=136.3, lat=36.3)
        kaga_id = kaga.id
    with db.engine.begin() as conn:  # the table before the column
        conn.execute(sa.text("DROP INDEX ix_sensors_ref"))
        conn.execute(sa.text("ALTER TABLE sensors DROP COLUMN ref"))
    create_all(db)
    create_all(db)  # twice: nothing to do the second time
    with db.session() as s:
        assert {x.id: shown_id(x) for x in s.scalars(select(Sensor))} == {"kaga:x": "x", "y": "y", "kaga:z": "kaga:z"}
        assert posted_sensor(s, "x", kaga_id).id == "kaga:x" and posted_sensor(s, "y", kaga_id).id == "y"
        assert posted_sensor(s, "z", kaga_id) is None  # not a posted sensor: its key is its id
        assert find_sensor(s, "x", sa.true(), kaga_id).id == "kaga:x"
        assert find_sensor(s, "kaga:x", sa.true()).id == "kaga:x"  # a store key answers too


def test_a_long_posted_id_taken_elsewhere_gets_a_key_that_fits(db):
    from store.layers import ensure_organisation
    from store.sensors import new_sensor_key

    long_id = "n" * 120
    with db.session() as s:
        org = ensure_organisation(s, "hakui", "羽咋市", "Hakui")
        upsert_layer(s, "l", kind="snow_depth", name_ja="l", group="yuki", organisation_id=org.id)
        assert new_sensor_key(s, "kaga", long_id) == long_id  # free: the id itself
        upsert_sensor(s, long_id, layer_id="l", name_ja="n", lon=136.3, lat=36.3)
        key = new_sensor_key(s, "kaga", long_id)
        assert key.startswith("kaga:") and len(key) <= 120
        upsert_sensor(s, key, ref=long_id, layer_id="l", name_ja="n", lon=136.3, lat=36.3)
        again = new_sensor_key(s, "kaga", long_id)
        assert again not in (key, long_id) and len(again) <= 120


def test_the_demo_feeds_sensor_ids_keep_working_for_their_organisation(client, app_db, admin, kaga):
    """The demo feed's sensors belong to the layer's organisation (the prefecture): its staff post to
    them by their ids; a city posting the same id gets a sensor of its own and changes nothing there."""
    with app_db.session() as s:
        demo = s.get(Sensor, "snow-kaga-05")
        owner = s.get(Organisation, s.get(Layer, demo.layer_id).organisation_id).code
        before = demo.last_value
    assert owner == "ishikawa"
    # an older time than the feed's newest reading: the shared demo sensor's latest value stays
    at = (START - timedelta(seconds=uuid.uuid4().int % 3000 + 17)).isoformat()
    r = client.post("/api/readings", headers=admin.auth,
                    json=[{"sensor_id": "snow-kaga-05", "attribute": "snowDepth", "value": 123.0, "time": at}])
    assert r.json == {"accepted": 1, "duplicates": 0, "created_sensors": []}
    r = client.post("/api/readings", headers=kaga.auth, json=[
        {"sensor_id": "snow-kaga-05", "attribute": "snowDepth", "value": 7.0, "time": at, "lon": 136.3, "lat": 36.3}])
    assert r.json == {"accepted": 1, "duplicates": 0, "created_sensors": ["snow-kaga-05"]}
    assert 123.0 in _readings_of(app_db, "snow-kaga-05") and 7.0 not in _readings_of(app_db, "snow-kaga-05")
    mine = [x for x in client.get("/api/sensors", headers=kaga.auth).json if x["id"] == "snow-kaga-05"]
    assert sorted((x["layer_id"], x["latest"]["value"]) for x in mine) == [("sensors-kaga", 7.0),
                                                                           ("snow-depth", before)]
