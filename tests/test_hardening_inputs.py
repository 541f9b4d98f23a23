"""Inputs that used to give a 500 (or stored garbage) answer a clear 4xx in our JSON error format,
and store nothing."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from store import alerts as sa
from store.brokers import Source
from store.db import utcnow
from tests.staff_helpers import pages_router

HUGE = "99999999999999999999999"
FORTY = "9" * 40


def is_our_error(resp, status: int | tuple) -> bool:
    statuses = status if isinstance(status, tuple) else (status,)
    if resp.status_code not in statuses or resp.mimetype != "application/json":
        return False
    body = resp.get_json()
    return isinstance(body, dict) and {"error", "message", "details"} <= set(body)


def _counts(app_db):
    with app_db.session() as s:
        return (s.scalar(select(func.count()).select_from(sa.AlertRule)),
                s.scalar(select(func.count()).select_from(Source)))


def test_huge_ids_are_unknown_ids(client, app_db, kaga):
    before = _counts(app_db)
    calls = [("get", f"/api/sources/{HUGE}"), ("patch", f"/api/sources/{HUGE}"), ("delete", f"/api/sources/{HUGE}"),
             ("post", f"/api/sources/{HUGE}/poll"), ("post", f"/api/sources/{HUGE}/subscription"),
             ("get", f"/api/alert-rules/{HUGE}"), ("patch", f"/api/alert-rules/{HUGE}"),
             ("delete", f"/api/alert-rules/{HUGE}")]
    for method, url in calls:
        r = getattr(client, method)(url, json={"name": "x", "threshold": 1}, headers=kaga.auth)
        assert is_our_error(r, 404), (method, url, r.status_code)
    r = client.post(f"/ngsi/notify/{HUGE}?token=x", json={"data": []})
    assert is_our_error(r, 401)  # the same answer as any unknown source
    assert _counts(app_db) == before


def test_history_csv_with_huge_numbers_is_a_bad_request(client, kaga):
    for query in (f"days={FORTY}", f"rule={FORTY}", "days=99999999", f"rule={HUGE}", "days=-1", "days=abc"):
        r = client.get(f"/staff/alerts/history.csv?{query}", headers=kaga.auth)
        assert is_our_error(r, 400), (query, r.status_code)
    assert client.get("/staff/alerts/history.csv?days=all&rule=5", headers=kaga.auth).status_code == 200
    assert client.get("/staff/alerts/history.csv?days=30", headers=kaga.auth).status_code == 200


def test_bad_rule_fields_are_refused_and_nothing_is_stored(client, app_db, kaga):
    before = _counts(app_db)
    base = {"name": "x", "sensor_id": "snow-kaga-01", "op": ">", "threshold": 20}
    cases = [({"recipients": 5}, "recipients"), ({"recipients": {"a": 1}}, "recipients"),
             ({"recipients": [5]}, "recipients"),
             ({"for_minutes": 1e308}, "for_minutes"), ({"no_data_minutes": "1e999"}, "no_data_minutes"),
             ({"sensor_id": None, "target": "road", "layer_id": "snow-removal", "threshold": 3,
               "options": {"depth_over": "abc"}}, "options.depth_over"),
             ({"sensor_id": None, "target": "road", "layer_id": "snow-removal", "threshold": 3,
               "options": {"depth_over": float("inf")}}, "options.depth_over"),
             ({"sensor_id": None, "target": "road", "layer_id": "snow-removal", "threshold": 3,
               "options": {"route": ["x"]}}, "options.route"),
             ({"target": ["sensor"]}, "sensor_id"), ({"target": {"a": 1}}, "sensor_id"), ({"target": 7}, "sensor_id")]
    for over, field in cases:
        body = json.dumps({**base, **over}, allow_nan=True)
        r = client.post("/api/alert-rules", data=body, headers=kaga.auth, content_type="application/json")
        assert is_our_error(r, 400), (over, r.status_code, r.get_data(as_text=True)[:200])
        assert field in {d["field"] for d in r.get_json()["details"]}, (over, r.get_json())
    # control: a good road rule is taken
    r = client.post("/api/alert-rules", json={**base, "sensor_id": None, "target": "road", "layer_id": "snow-removal",
                                              "threshold": 3, "options": {"depth_over": 10}}, headers=kaga.auth)
    assert r.status_code == 201 and r.json["options"]["depth_over"] == 10
    client.delete(f"/api/alert-rules/{r.json['id']}", headers=kaga.auth)
    assert _counts(app_db) == before


def test_a_stored_road_rule_with_a_bad_option_does_not_fail_the_tick(app_db):
    from alerts.config import config_of
    from alerts.evaluation import evaluate_road

    with app_db.session() as s:
        rule = sa.AlertRule(name="bad", target="road", layer_id="snow-removal", threshold=3, op=">=",
                            options={"depth_over": "abc"})
        assert evaluate_road(s, config_of(app_db), rule, [{"subject": "road:x", "hours_since_cleared": 5,
                                                            "nearby_depth": 50}], utcnow()) == []


def test_deeply_nested_json_is_a_bad_request(client, kaga, app_db):
    before = _counts(app_db)
    deep = "[" * 50000 + "]" * 50000
    for url in ("/api/alert-rules", "/api/readings", "/api/sources", "/api/vehicles/fixes"):
        r = client.post(url, data=deep, headers=kaga.auth, content_type="application/json")
        assert is_our_error(r, (400, 413)), (url, r.status_code)
    r = client.patch("/api/alert-rules/1", data=deep, headers=kaga.auth, content_type="application/json")
    assert is_our_error(r, (400, 404)), r.status_code
    assert _counts(app_db) == before


def test_source_intervals_are_bounded(client, app_db, kaga):
    before = _counts(app_db)
    for value in ("inf", 1e308, "1e999", "nan", -5, 1, True):
        raw = json.dumps({"name": "bad", "base_url": "http://orion.example.jp:1026", "interval_s": value})
        r = client.post("/api/sources", data=raw, headers=kaga.auth, content_type="application/json")
        assert is_our_error(r, 400), (value, r.status_code)
        assert "interval_s" in {d["field"] for d in r.get_json()["details"]}
    assert _counts(app_db) == before


def test_one_bad_source_never_stops_the_others(db):
    """A source stored with an impossible interval (before intervals were checked) fails alone."""
    from sources.broker_poll import poll_due

    with db.session() as s:
        bad = Source(name="bad", base_url="http://127.0.0.1:9", interval_s=float("inf"))
        good = Source(name="good", base_url="http://127.0.0.1:9", interval_s=60.0)
        s.add_all([bad, good])
        s.flush()
        bad_id, good_id = bad.id, good.id
    seen = []

    class Client:
        def __init__(self, src):
            self.src = src

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def list_entities(self, *a, **kw):
            seen.append(self.src.id)
            return []

    now = utcnow()
    out = poll_due(db, now, make_client=Client)
    assert sorted(seen) == sorted([bad_id, good_id]) and "error" not in out[good_id]
    with db.session() as s:
        for sid in (bad_id, good_id):
            nxt = s.get(Source, sid).next_poll_at
            assert nxt is not None and now < nxt.replace(tzinfo=now.tzinfo) <= now + timedelta(days=8)
    assert poll_due(db, now + timedelta(days=9), make_client=Client)  # both due again, nothing stuck


def test_bodies_over_the_limit_answer_our_json_413(client, dash_app, app_db, kaga):
    with app_db.session() as s:
        src = Source(name="big push", base_url="http://127.0.0.1:1", layer_prefix="bigpush")
        s.add(src)
        s.flush()
        sid, secret = src.id, src.notify_secret
    limit = dash_app.server.config["MAX_CONTENT_LENGTH"]
    big = b"[" + b" " * (limit + 10) + b"]"
    for url in ("/api/readings", f"/ngsi/notify/{sid}?token={secret}", "/api/alert-rules"):
        r = client.post(url, data=big, headers=kaga.auth, content_type="application/json")
        assert is_our_error(r, 413), (url, r.status_code, r.mimetype)
    with app_db.session() as s:
        s.delete(s.get(Source, sid))


def test_unknown_machine_paths_answer_json_404(client, kaga):
    for url in ("/api/nope", "/api/layers/x/y/z", "/ogcapi/nope", "/ogcapi/collections/x/nope/deeper", "/api"):
        r = client.get(url)
        assert is_our_error(r, 404), (url, r.status_code, r.mimetype)
        r = client.post(url, json={}, headers=kaga.auth)
        assert is_our_error(r, (404, 405)), (url, r.status_code, r.mimetype)
    # the map's own pages stay pages
    r = client.get("/no-such-page")
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert client.get("/api/layers").status_code == 200


def test_public_map_url_parameters_are_clamped(client):
    from components.map_state import DEFAULT_ZOOM, parse_state

    for z in ("inf", "-inf", "1e309", "-1e309", "nan", "1e30", "99999999999999999999", "abc"):
        assert parse_state({"z": z, "lat": z, "lon": z}, set()).zoom == DEFAULT_ZOOM
        r = pages_router(client, "/", f"?z={z}&lat={z}&lon={z}&op=aed:{z}")
        assert "home-map" in r.get_data(as_text=True)
