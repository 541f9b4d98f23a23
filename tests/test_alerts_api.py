"""Alert rules, sensors and readings through the API with staff tokens; mail links; CSV export."""
from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import timedelta

from sqlalchemy import select

from store import alerts as sa
from store.db import utcnow


def auth(token: str, **extra) -> dict:
    return {"Authorization": f"Bearer {token}", **extra}


def rule_body(**over) -> dict:
    body = {"name": f"加賀 積雪 {uuid.uuid4().hex[:6]}", "sensor_id": "snow-kaga-01", "attribute": "snowDepth",
            "op": ">", "threshold": 20, "clear_threshold": 15, "for_minutes": 0,
            "recipients": ["duty@kaga.example.jp"], "language": "ja"}
    body.update(over)
    return body


def test_rules_need_a_staff_token(client):
    assert client.get("/api/alert-rules").status_code == 401
    resp = client.post("/api/alert-rules", json=rule_body())
    assert resp.status_code == 401 and resp.json["error"] == "unauthorized"


def test_create_list_patch_delete_and_organisation_walls(client, kaga, hakui, admin):
    resp = client.post("/api/alert-rules", json=rule_body(), headers=auth(kaga.token))
    assert resp.status_code == 201, resp.json
    rule = resp.json
    assert rule["organisation"] == "kaga" and rule["owner"] == kaga.email and rule["target"] == "sensor"
    assert (rule["op"], rule["threshold"], rule["clear_threshold"]) == (">", 20, 15)
    assert resp.headers["Location"] == f"/api/alert-rules/{rule['id']}"
    rid = rule["id"]
    assert rid in [r["id"] for r in client.get("/api/alert-rules", headers=auth(kaga.token)).json]
    # another organisation's editor: not listed, and 404 (not 403) for read, change and delete
    assert rid not in [r["id"] for r in client.get("/api/alert-rules", headers=auth(hakui.token)).json]
    for method in ("get", "patch", "delete"):
        r = getattr(client, method)(f"/api/alert-rules/{rid}", json={"threshold": 1}, headers=auth(hakui.token))
        assert r.status_code == 404 and r.json["error"] == "not_found"
    assert client.get(f"/api/alert-rules/{rid}", headers=auth(kaga.token)).json["threshold"] == 20
    # the admin sees and changes every organisation's rules
    assert rid in [r["id"] for r in client.get("/api/alert-rules", headers=auth(admin.token)).json]
    r = client.patch(f"/api/alert-rules/{rid}", json={"threshold": 25, "paused": True,
                                                      "quiet_hours": {"start": "22:00", "end": "06:00"}},
                     headers=auth(admin.token))
    assert r.status_code == 200 and r.json["threshold"] == 25 and r.json["paused"] is True
    assert r.json["quiet_hours"] == {"start": "22:00", "end": "06:00"} and r.json["sensor_id"] == "snow-kaga-01"
    assert client.delete(f"/api/alert-rules/{rid}", headers=auth(kaga.token)).status_code == 204
    assert client.get(f"/api/alert-rules/{rid}", headers=auth(kaga.token)).status_code == 404


def test_invalid_rules_are_refused_with_details(client, kaga):
    bad = rule_body(op="=>", threshold="lots", clear_threshold=30, recipients=["not-mail"], sensor_id="nope")
    r = client.post("/api/alert-rules", json=bad, headers=auth(kaga.token, **{"Accept-Language": "en"}))
    assert r.status_code == 400 and r.json["error"] == "invalid_rule"
    fields = {d["field"] for d in r.json["details"]}
    assert {"op", "threshold", "recipients", "sensor_id"} <= fields
    assert r.json["message"] == "The rule is not valid."
    r = client.post("/api/alert-rules", json=rule_body(clear_threshold=30), headers=auth(kaga.token))
    assert r.status_code == 400 and r.json["details"][0]["field"] == "clear_threshold"
    assert client.post("/api/alert-rules", data="x", headers=auth(kaga.token)).status_code == 400


def test_layer_and_property_rules(client, kaga):
    r = client.post("/api/alert-rules", json=rule_body(sensor_id=None, layer_id="snow-depth"), headers=auth(kaga.token))
    assert r.status_code == 201 and r.json["target"] == "layer"
    r = client.post("/api/alert-rules", json=rule_body(sensor_id=None, layer_id="aed", property="level"),
                    headers=auth(kaga.token))
    assert r.status_code == 201 and r.json["target"] == "property" and r.json["property"] == "level"


def test_posted_readings_create_sensors_and_trigger_rules(client, app_db, kaga, hakui):
    sid = f"kaga-test-{uuid.uuid4().hex[:6]}"
    now = utcnow().replace(microsecond=0)
    first = [{"sensor_id": sid, "attribute": "snowDepth", "value": 5, "time": (now - timedelta(minutes=2)).isoformat(),
              "lon": 136.31, "lat": 36.30, "name": "加賀市 テスト観測点"}]
    r = client.post("/api/readings", json=first, headers=auth(kaga.token))
    assert r.status_code == 200 and r.json == {"accepted": 1, "duplicates": 0, "created_sensors": [sid]}
    # the new sensor is private to its organisation
    assert sid not in [x["id"] for x in client.get("/api/sensors").json]
    assert sid not in [x["id"] for x in client.get("/api/sensors", headers=auth(hakui.token)).json]
    mine = {x["id"]: x for x in client.get("/api/sensors", headers=auth(kaga.token)).json}
    assert mine[sid]["latest"]["value"] == 5 and mine[sid]["visibility"] == "private"
    assert "snow-kaga-01" in mine  # public sensors are listed too
    rule = client.post("/api/alert-rules", json=rule_body(sensor_id=sid, recipients=["crew@kaga.example.jp"]),
                       headers=auth(kaga.token)).json
    second = [{"sensor_id": sid, "attribute": "snowDepth", "value": 27.5, "time": now.isoformat()},
              {"sensor_id": sid, "attribute": "snowDepth", "value": 5,
               "time": (now - timedelta(minutes=2)).isoformat()}]
    r = client.post("/api/readings", json=second, headers=auth(kaga.token))
    assert r.json == {"accepted": 1, "duplicates": 1, "created_sensors": []}
    with app_db.session() as s:
        mails = list(s.scalars(select(sa.OutboxMail).where(sa.OutboxMail.rule_id == rule["id"])))
        events = list(s.scalars(select(sa.AlertEvent).where(sa.AlertEvent.rule_id == rule["id"])))
    assert [e.kind for e in events] == ["fired"] and events[0].value == 27.5
    assert len(mails) == 1 and mails[0].to_addr == "crew@kaga.example.jp" and "27.5cm" in mails[0].subject
    # another organisation may not post for this sensor, nor for the prefecture's demo sensors
    for target in (sid, "snow-kaga-01"):
        r = client.post("/api/readings", json=[{"sensor_id": target, "value": 1, "time": now.isoformat()}],
                        headers=auth(hakui.token))
        assert r.status_code == 400 and r.json["details"][0]["index"] == 0
    bad = client.post("/api/readings", json=[{"sensor_id": "new-one", "value": 1, "time": now.isoformat()}],
                      headers=auth(kaga.token))
    assert bad.status_code == 400 and "lon" in bad.json["details"][0]["message"]
    assert client.post("/api/readings", json={"not": "a list"}, headers=auth(kaga.token)).status_code == 400
    assert client.post("/api/readings", json=first).status_code == 401


def test_confirm_and_unsubscribe_links(client, app_db, dash_app):
    from alerts.config import config_of
    from alerts.notification import unsubscribe_url
    from alerts.subscriptions import request_subscription

    cfg = config_of(app_db)
    with app_db.session() as s:
        rule = sa.create_rule(s, None, "t", name="公開 積雪", sensor_id="snow-kaga-02", threshold=50, public=True)
        sub = request_subscription(s, cfg, rule.id, "someone@home.example", "ja", client="192.0.2.1")
        token, rid = sub.token, rule.id
    page = client.get(f"/alerts/confirm?token={token}")  # opening the link (a mail scanner may) only asks
    assert page.status_code == 200 and "登録を完了する" in page.get_data(as_text=True)
    with app_db.session() as s:
        assert s.get(sa.Subscription, sub.id).confirmed_at is None
    done = client.post(f"/alerts/confirm?token={token}", data={"confirm": "1"})
    assert done.status_code == 200 and "登録が完了しました" in done.get_data(as_text=True)
    assert client.get("/alerts/confirm?token=nope").status_code == 404
    assert client.post("/alerts/confirm?token=nope", data={"confirm": "1"}).status_code == 404
    with app_db.session() as s:
        assert s.get(sa.Subscription, sub.id).confirmed_at is not None
    assert "登録が完了しました" in client.get(f"/alerts/confirm?token={token}").get_data(as_text=True)
    # RFC 8058 one-click POST from a mail client
    assert client.post(f"/alerts/unsubscribe?token={token}", data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with app_db.session() as s:
        assert s.get(sa.Subscription, sub.id).unsubscribed_at is not None
    staff_link = unsubscribe_url(cfg, rid, "Duty@Kaga.example.jp").split("/alerts/", 1)[1]
    # opening the link (as a mail scanner would) only asks
    page = client.get("/alerts/" + staff_link + "&lang=en")
    assert page.status_code == 200 and "Stop the mails" in page.get_data(as_text=True)
    with app_db.session() as s:
        assert s.get(sa.Suppression, (rid, "duty@kaga.example.jp")) is None
    action = re.search(r'action="([^"]+)"', page.get_data(as_text=True)).group(1).replace("&amp;", "&")
    done = client.post(action, data={"confirm": "1"})
    assert done.status_code == 200 and "Unsubscribed" in done.get_data(as_text=True)
    with app_db.session() as s:
        assert s.get(sa.Suppression, (rid, "duty@kaga.example.jp")) is not None
    assert client.get("/alerts/unsubscribe?s=forged").status_code == 404
    assert client.post("/alerts/unsubscribe?s=forged", data={"confirm": "1"}).status_code == 404


def test_history_csv_export(client, app_db, kaga, hakui):
    rule = client.post("/api/alert-rules", json=rule_body(name="=CSV test", sensor_id="snow-kaga-03"),
                       headers=auth(kaga.token)).json
    from alerts.config import config_of
    from alerts.notification import send_test_mail

    with app_db.session() as s:
        send_test_mail(s, config_of(app_db), s.get(sa.AlertRule, rule["id"]), to="me@kaga.example.jp")
    r = client.get("/staff/alerts/history.csv", headers=auth(kaga.token))
    assert r.status_code == 200 and r.mimetype == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["日時", "種類", "ルール／件名"]
    assert any(row[2] == "'=CSV test" and row[3] == "テスト" for row in rows[1:])  # no formula injection
    assert any(row[1] == "メール" and row[7] == "me@kaga.example.jp" for row in rows[1:])
    other = client.get("/staff/alerts/history.csv", headers=auth(hakui.token)).get_data(as_text=True)
    assert "CSV test" not in other and "me@kaga.example.jp" not in other
    assert client.get("/staff/alerts/history.csv").status_code == 401


def test_staff_page_lists_only_the_organisations_rules(client, app_db, kaga, hakui, admin):
    from alerts.forms import rule_rows
    from store.users import get_user_by_email, staff_of

    rid = client.post("/api/alert-rules", json=rule_body(name="kaga only"), headers=auth(kaga.token)).json["id"]
    with app_db.session() as s:
        views = {who: {r["id"] for r in rule_rows(s, staff_of(s, get_user_by_email(s, person.email)), "ja")}
                 for who, person in {"kaga": kaga, "hakui": hakui, "admin": admin}.items()}
    assert rid in views["kaga"] and rid in views["admin"] and rid not in views["hakui"]

