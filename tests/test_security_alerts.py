"""Alert rules see only what their owner may see (tests/test_security.py style).

Organisation A (加賀市) has a private sensor; organisation B (羽咋市) makes rules that would catch
it (an area, "all", a road rule, naming it or its layer) through the API and through the staff
page's callbacks: neither the answer, the preview, the history (page data and CSV) nor a queued
mail names it, and it never fires B's rule. A public rule sees only public sensors, even of its own
organisation. Controls show that A's own rule does see it, so every check above can fail.
"""
from __future__ import annotations

import json
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from store import alerts as sa
from store.db import utcnow
from store.users import get_user_by_email
from tests.staff_helpers import login, make_people

# far from every shipped sensor (in the sea north of Noto): each test's own box holds only its
# own private sensor
VALUE = 987.625


def _plain(body: str) -> str:
    return body.replace("\\u002f", "/").replace("\\/", "/")


@pytest.fixture
def world(client, app_db):
    people = make_people(app_db)
    secret = "PRIVSENSOR" + uuid.uuid4().hex[:8]
    sid = f"{secret}-id"
    n = int(uuid.uuid4().hex[:6], 16)
    lon, lat = round(137.5 + (n % 800) / 2000, 4), round(37.6 + (n // 800 % 800) / 2000, 4)
    box = [round(lon - 0.0002, 4), round(lat - 0.0002, 4), round(lon + 0.0002, 4), round(lat + 0.0002, 4)]
    r = client.post("/api/readings", headers=people["kaga"].auth, json=[{
        "sensor_id": sid, "attribute": "snowDepth", "value": VALUE, "time": utcnow().isoformat(),
        "lon": lon, "lat": lat, "name": f"{secret} 観測点"}])
    assert r.status_code == 200 and r.json["created_sensors"] == [sid], r.json
    with app_db.session() as s:
        orgs = {who: get_user_by_email(s, p.email).organisation_id for who, p in people.items()}
    return SimpleNamespace(people=people, secret=secret, sid=sid, orgs=orgs, box=box)


def rule_body(w, **over) -> dict:
    body = {"name": f"範囲 {uuid.uuid4().hex[:6]}", "area": w.box, "attribute": "snowDepth", "op": ">",
            "threshold": 1, "recipients": ["duty@example.jp"], "language": "ja"}
    body.update(over)
    return body


def _leaks(text: str, w) -> bool:
    text = _plain(text)
    return "PRIVSENSOR" in text or f"{VALUE:g}" in text or str(VALUE) in text


def _rule_traces(app_db, rule_id: int) -> tuple[list, list, list]:
    with app_db.session() as s:
        events = list(s.scalars(select(sa.AlertEvent).where(sa.AlertEvent.rule_id == rule_id)))
        mails = list(s.scalars(select(sa.OutboxMail).where(sa.OutboxMail.rule_id == rule_id)))
        states = list(s.scalars(select(sa.AlertState).where(sa.AlertState.rule_id == rule_id)))
        return ([(e.subject, json.dumps(e.place, ensure_ascii=False), e.value) for e in events],
                [m.subject + m.body_text + m.body_html for m in mails],
                [(x.subject, json.dumps(x.place, ensure_ascii=False)) for x in states])


def _post_reading(client, w, value: float):
    r = client.post("/api/readings", headers=w.people["kaga"].auth, json=[
        {"sensor_id": w.sid, "attribute": "snowDepth", "value": value, "time": utcnow().isoformat()}])
    assert r.status_code == 200, r.json


def test_area_rule_of_another_organisation_never_sees_a_private_sensor(client, app_db, world):
    w, hakui = world, world.people["hakui"]
    r = client.post("/api/alert-rules", json=rule_body(w), headers=hakui.auth)
    assert r.status_code == 201 and not _leaks(r.get_data(as_text=True), w)
    rid = r.json["id"]
    # "all sensors": an area over the whole world
    r_all = client.post("/api/alert-rules", json=rule_body(w, area=[-180, -90, 180, 90]), headers=hakui.auth)
    assert r_all.status_code == 201
    _post_reading(client, w, VALUE + 1)  # a new reading: B's rules are not evaluated on it
    for one in (rid, r_all.json["id"]):
        events, mails, states = _rule_traces(app_db, one)
        assert not any(w.sid in e[0] or w.secret in e[1] for e in events), events
        assert not any(w.secret in m or w.sid in m for m in mails)
        assert not any(w.sid in x[0] or w.secret in x[1] for x in states)
    for path in (f"/api/alert-rules/{rid}", "/api/alert-rules", "/staff/alerts/history.csv",
                 f"/staff/alerts/history.csv?rule={rid}&days=all"):
        body = client.get(path, headers=hakui.auth).get_data(as_text=True)
        assert not _leaks(body, w), path
    assert client.get("/staff/alerts/history.csv").status_code == 401  # anonymous: nothing
    # control: the owner's organisation's same rule fires on it, mails and shows it in its history
    own = client.post("/api/alert-rules", json=rule_body(w), headers=w.people["kaga"].auth)
    assert own.status_code == 201
    events, mails, _ = _rule_traces(app_db, own.json["id"])
    assert w.sid in [e[0] for e in events] and any(w.secret in m for m in mails)
    body = client.get(f"/staff/alerts/history.csv?rule={own.json['id']}", headers=w.people["kaga"].auth)
    assert w.secret in body.get_data(as_text=True)


def test_rules_naming_a_private_sensor_or_its_layer_answer_like_unknown_ones(client, world):
    w, hakui = world, world.people["hakui"]
    cases = [({"sensor_id": w.sid}, {"sensor_id": "no-such-sensor-x"}, "sensor_id"),
             ({"layer_id": "sensors-kaga"}, {"layer_id": "no-such-layer-x"}, "layer_id"),
             ({"area": w.box, "layer_id": "sensors-kaga"}, {"area": w.box, "layer_id": "no-such-layer-x"}, "layer_id"),
             ({"layer_id": "sensors-kaga", "property": "level"}, {"layer_id": "no-such-layer-x", "property": "level"},
              "layer_id")]
    for private, unknown, field in cases:
        base = {k: v for k, v in rule_body(w).items() if k != "area"}
        a = client.post("/api/alert-rules", json={**base, **private}, headers=hakui.auth)
        b = client.post("/api/alert-rules", json={**base, **unknown}, headers=hakui.auth)
        assert a.status_code == b.status_code == 400, (private, a.json)
        assert a.json["details"] == b.json["details"] and a.json["details"][0]["field"] == field
        assert not _leaks(a.get_data(as_text=True), w)
    # a change (PATCH) cannot point an existing rule at it either
    rid = client.post("/api/alert-rules", json=rule_body(w), headers=hakui.auth).json["id"]
    r = client.patch(f"/api/alert-rules/{rid}", json={"sensor_id": w.sid}, headers=hakui.auth)
    assert r.status_code == 400 and r.json["details"][0]["field"] == "sensor_id"
    # control: its own organisation may
    base = {k: v for k, v in rule_body(w).items() if k != "area"}
    assert client.post("/api/alert-rules", json={**base, "sensor_id": w.sid},
                       headers=w.people["kaga"].auth).status_code == 201


def test_readings_do_not_tell_a_forbidden_sensor_from_an_unknown_one(client, world):
    w, hakui = world, world.people["hakui"]
    now = utcnow().isoformat()
    a = client.post("/api/readings", headers=hakui.auth, json=[{"sensor_id": w.sid, "value": 1, "time": now}])
    b = client.post("/api/readings", headers=hakui.auth,
                    json=[{"sensor_id": f"unknown-{uuid.uuid4().hex[:6]}", "value": 1, "time": now}])
    assert a.status_code == b.status_code == 400
    assert a.json == b.json


def test_public_rule_sees_only_public_sensors_even_of_its_own_organisation(client, app_db, world):
    w, kaga = world, world.people["kaga"]
    r = client.post("/api/alert-rules", json=rule_body(w, public=True), headers=kaga.auth)
    assert r.status_code == 201 and not _leaks(r.get_data(as_text=True), w)
    _post_reading(client, w, VALUE + 2)
    events, mails, states = _rule_traces(app_db, r.json["id"])
    assert not events and not mails and not any(w.sid in x[0] for x in states)
    base = {k: v for k, v in rule_body(w).items() if k != "area"}
    bad = client.post("/api/alert-rules", json={**base, "sensor_id": w.sid, "public": True}, headers=kaga.auth)
    assert bad.status_code == 400 and bad.json["details"][0]["field"] == "sensor_id"
    # the admin's rules see everything, except a public one
    admin = world.people["admin"]
    seen = client.post("/api/alert-rules", json=rule_body(w), headers=admin.auth)
    assert w.sid in [e[0] for e in _rule_traces(app_db, seen.json["id"])[0]]
    pub = client.post("/api/alert-rules", json=rule_body(w, public=True), headers=admin.auth)
    assert not _rule_traces(app_db, pub.json["id"])[0]


def _callback_key(dash_app, output: str) -> str:
    return next(k for k in dash_app.callback_map if output in k)


def _preview_payload(dash_app, form: dict, trigger: str = "staff-alerts-preview") -> dict:
    from alerts.forms import EMPTY_FORM, FORM_FIELDS
    from pages.staff_alerts import FIELD_IDS

    values = dict(EMPTY_FORM, **form)
    key = _callback_key(dash_app, "staff-alerts-preview-subject.children")
    return {"output": key,
            "outputs": [{"id": "staff-alerts-preview-subject", "property": "children"},
                        {"id": "staff-alerts-preview-frame", "property": "srcDoc"},
                        {"id": "staff-alerts-message", "property": "children"}],
            "inputs": [{"id": "staff-alerts-preview", "property": "n_clicks", "value": 1},
                       {"id": "staff-alerts-test", "property": "n_clicks", "value": 1}],
            "state": [{"id": "staff-alerts-test-to", "property": "value", "value": "me@hakui.example.jp"},
                      {"id": "staff-alerts-editing", "property": "data", "value": None},
                      {"id": "staff-alerts-lang", "property": "data", "value": "ja"}]
            + [{"id": FIELD_IDS[k], "property": "value", "value": values[k]} for k in FORM_FIELDS],
            "changedPropIds": [f"{trigger}.n_clicks"]}


def test_staff_page_preview_and_test_mail_never_show_a_private_sensor(dash_app, app_db, world):
    w = world
    form = {"name": "範囲プレビュー", "target": "area", "area": ", ".join(str(x) for x in w.box), "threshold": 1,
            "recipients": "duty@hakui.example.jp"}
    hakui = login(dash_app.server.test_client(), w.people["hakui"].email)
    for trigger in ("staff-alerts-preview", "staff-alerts-test"):
        resp = hakui.post("/_dash-update-component", json=_preview_payload(dash_app, form, trigger))
        assert resp.status_code == 200 and "範囲プレビュー" in resp.get_data(as_text=True)
        assert not _leaks(resp.get_data(as_text=True), w), trigger
    # the test mail queued for B
    with app_db.session() as s:
        mails = [m.subject + m.body_text + m.body_html for m in s.scalars(
            select(sa.OutboxMail).where(sa.OutboxMail.to_addr == "me@hakui.example.jp"))]
    assert mails and not any(w.secret in m or w.sid in m for m in mails)
    # naming the sensor in the form: refused like an unknown one
    named = dict(form, target="sensor", sensor_id=w.sid)
    body = hakui.post("/_dash-update-component", json=_preview_payload(dash_app, named)).get_data(as_text=True)
    assert not _leaks(body, w) and "存在しないか" in body
    # saving through the page: the rule never sees it either
    from alerts.forms import EMPTY_FORM, FORM_FIELDS
    from pages.staff_alerts import FIELD_IDS

    values = dict(EMPTY_FORM, **{**form, "name": "範囲保存"})
    save_key = _callback_key(dash_app, "staff-alerts-list.children")
    spec = dash_app.callback_map[save_key]
    inputs = []
    for i in spec["inputs"]:
        if i["id"].startswith("{"):
            inputs.append([])
        else:
            inputs.append({"id": i["id"], "property": i["property"],
                           "value": 1 if i["id"] == "staff-alerts-save" else None})
    state = [{"id": "staff-alerts-editing", "property": "data", "value": None},
             {"id": "staff-alerts-lang", "property": "data", "value": "ja"}]
    state += [{"id": FIELD_IDS[k], "property": "value", "value": values[k]} for k in FORM_FIELDS]
    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in save_key.strip(".").split("...")]
    resp = hakui.post("/_dash-update-component", json={
        "output": save_key, "outputs": outputs, "inputs": inputs, "state": state,
        "changedPropIds": ["staff-alerts-save.n_clicks"]})
    assert resp.status_code == 200 and "範囲保存" in resp.get_data(as_text=True)
    assert not _leaks(resp.get_data(as_text=True), w)
    with app_db.session() as s:
        rid = s.scalar(select(sa.AlertRule.id).where(sa.AlertRule.name == "範囲保存"))
    events, mails, states = _rule_traces(app_db, rid)
    assert not any(w.sid in e[0] for e in events) and not any(w.secret in m for m in mails)
    # the history page's callback for B
    hist = {"output": _callback_key(dash_app, "staff-history-body.children"),
            "outputs": [{"id": "staff-history-body", "property": "children"},
                        {"id": "staff-history-csv", "property": "href"},
                        {"id": "staff-history-mail", "property": "options"}],
            "inputs": [{"id": "staff-history-days", "property": "value", "value": "all"},
                       {"id": "staff-history-rule", "property": "value", "value": None},
                       {"id": "staff-history-kind", "property": "value", "value": None}],
            "state": [{"id": "staff-history-lang", "property": "data", "value": "ja"}],
            "changedPropIds": ["staff-history-days.value"]}
    body = hakui.post("/_dash-update-component", json=hist).get_data(as_text=True)
    assert "範囲保存" in body or "範囲プレビュー" in body
    assert not _leaks(body, w)
    # anonymous: nothing at all
    anon = dash_app.server.test_client()
    resp = anon.post("/_dash-update-component", json=_preview_payload(dash_app, form))
    assert not _leaks(resp.get_data(as_text=True), w) and "範囲プレビュー" not in resp.get_data(as_text=True)
    # control: the owner's organisation's preview shows its own sensor
    kaga = login(dash_app.server.test_client(), w.people["kaga"].email)
    body = kaga.post("/_dash-update-component", json=_preview_payload(dash_app, form)).get_data(as_text=True)
    assert w.secret in body


def test_road_rules_use_only_the_sensors_their_owner_may_see(app_db, client, world):
    from layers.snow import alerts as sp

    w = world
    now = utcnow()
    with app_db.session() as s:
        segs = sp.road_alert_segments(s, SimpleNamespace(options={}), now)
    if not segs:
        pytest.skip("no road network in this database")
    seg = segs[len(segs) // 2]
    sid = f"{w.secret}-road"
    r = client.post("/api/readings", headers=w.people["kaga"].auth, json=[{
        "sensor_id": sid, "attribute": "snowDepth", "value": 987.5, "time": (now - timedelta(seconds=5)).isoformat(),
        "lon": seg["lon"], "lat": seg["lat"], "name": f"{w.secret} 道路"}])
    assert r.status_code == 200, r.json

    def depth(who: str, public: bool = False):
        rule = SimpleNamespace(options={}, public=public, organisation_id=w.orgs[who], owner=w.people[who].email)
        with app_db.session() as s:
            return {x["subject"]: x["nearby_depth"] for x in sp.road_alert_segments(s, rule, now)}[seg["subject"]]

    assert depth("kaga") == 987.5  # control: its own organisation's rule uses it
    assert depth("admin") == 987.5
    assert depth("hakui") != 987.5
    assert depth("kaga", public=True) != 987.5
