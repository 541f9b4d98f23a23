"""Usage per organisation and month: counts of real requests (map, API, OGC API, dashboards,
broker polls), what each organisation holds, who may see which organisation, CSV; the counters
themselves (threads, several processes adding to one row)."""
from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from store import usage
from store.db import utcnow
from store.usage import UsageCount
from tests.staff_helpers import GEOJSON, pages_router, upload


@pytest.fixture(autouse=True)
def measure_now(monkeypatch):
    """Every report measures afresh (in use: when its figures are over a minute old)."""
    monkeypatch.setattr(usage, "MEASURE_AGE_S", -1)


def usage_of(client, person, month=None) -> dict:
    r = client.get("/api/usage", query_string={"month": month} if month else {}, headers=person.auth)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def org_row(body: dict, code: str) -> dict:
    return next(o for o in body["organisations"] if o["organisation"] == code)


def layer_row(body: dict, layer_id: str) -> dict | None:
    return next((r for r in body["layers"] if r["layer"] == layer_id), None)


def test_requests_served_are_counted_per_layer_and_organisation(client, app_db, who):
    before = org_row(usage_of(client, who["admin"]), "hakui")
    r = upload(client, who["hakui"], GEOJSON, visibility="public", name="羽咋の集計テスト")
    assert r.status_code == 201
    lid = r.get_json()["id"]
    for _ in range(3):
        assert client.get(f"/api/layers/{lid}/features").status_code == 200
    for _ in range(2):
        assert client.get(f"/api/layers/{lid}/features?v=1").status_code == 200  # the map's versioned URL
    assert client.get(f"/api/layers/{lid}/features.csv").status_code == 200
    assert client.get(f"/ogcapi/collections/{lid}/items").status_code == 200
    assert client.get("/api/layers/no-such-layer/features").status_code == 404  # not counted
    body = usage_of(client, who["admin"])
    assert layer_row(body, lid) == {"organisation": "hakui", "layer": lid, "map_requests": 2, "api_requests": 5}
    after = org_row(body, "hakui")
    assert after["layers"] == before["layers"] + 1 and after["features"] == before["features"] + 22
    assert after["storage_bytes"] > before["storage_bytes"]
    assert after["map_requests"] - before["map_requests"] == 2
    assert after["api_requests"] - before["api_requests"] == 5
    assert after["staff_accounts"] >= 2
    # the organisation's own admin and its editors see only theirs (as /staff/usage); anonymous nothing
    for person in (who["hakui_admin"], who["hakui"]):
        own = usage_of(client, person)
        assert [o["organisation"] for o in own["organisations"]] == ["hakui"]
        assert all(r["organisation"] == "hakui" for r in own["layers"])
    other = usage_of(client, who["kaga"])  # 加賀市's editor: 羽咋市's layer is never in it
    assert [o["organisation"] for o in other["organisations"]] == ["kaga"] and layer_row(other, lid) is None
    assert client.get("/api/usage").status_code == 401
    assert client.get("/api/usage?month=2026-13", headers=who["admin"].auth).status_code == 400
    assert client.get("/api/usage?month=garbage", headers=who["admin"].auth).status_code == 400
    assert usage_of(client, who["admin"], "2001-01")["layers"] == []


def test_dashboard_views_are_counted(client, app_db, who):
    slug = f"usage-{uuid.uuid4().hex[:8]}"
    body = {"slug": slug, "title_ja": "利用", "visibility": "public", "time": {"from": "now-24h", "to": "now"},
            "panels": [{"id": "note", "type": "text", "title_ja": "説明", "options": {"markdown": "x"}}]}
    assert client.post("/api/dashboards", json=body, headers=who["hakui"].auth).status_code == 201
    before = org_row(usage_of(client, who["admin"]), "hakui")["dashboard_views"]
    assert client.get(f"/dashboards/{slug}").status_code == 200
    assert client.get(f"/embed/dashboards/{slug}").status_code == 200
    assert client.get(f"/api/dashboards/{slug}").status_code == 200
    assert client.get("/dashboards/no-such-dashboard").status_code == 200  # the page says so; not counted
    assert org_row(usage_of(client, who["admin"]), "hakui")["dashboard_views"] == before + 3


def test_broker_requests_are_counted_for_the_sources_organisation(db, people, orion, loopback_sources):
    from sources.broker_poll import poll_source
    from store.brokers import Source

    orion.entities = [{"id": "urn:ngsi-ld:WeatherObserved:k1", "type": "WeatherObserved",
                       "location": {"type": "geo:json", "value": {"type": "Point", "coordinates": [136.3, 36.3]}},
                       "snowHeight": {"type": "Number", "value": 12}}]
    with db.session() as s:
        src = Source(name="加賀ブローカー", organisation_id=people["kaga"].organisation_id, base_url=orion.url,
                     entity_type="WeatherObserved")
        s.add(src)
        s.flush()
        sid = src.id
    result = poll_source(db, sid)
    assert "error" not in result, result
    usage.flush(db)
    with db.session() as s:
        rows = s.execute(select(UsageCount.organisation_id, UsageCount.key, UsageCount.value)
                         .where(UsageCount.metric == "source_requests")).all()
    assert rows == [(people["kaga"].organisation_id, str(sid), len(orion.requests))] and len(orion.requests) >= 1


def test_counts_from_many_threads_and_two_processes_add_up(db, people, tmp_path):
    from store.db import Database

    other = Database(db.url)  # a second process's view of the same database: its own counters
    threads = [threading.Thread(target=lambda d=d: [usage.count(d, "api_requests", "x", 5) for _ in range(1000)])
               for d in (db, db, other, other)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    usage.flush(db)
    usage.flush(other)
    usage.count(db, "api_requests", "x", 5, n=10)
    usage.flush(db)
    with db.session() as s:
        assert s.scalar(select(UsageCount.value).where(UsageCount.metric == "api_requests")) == 4010
        assert s.scalar(select(UsageCount.month)) == usage.month_of(utcnow())
    other.dispose()
    assert usage.flush(db) == 0  # nothing held


def test_measured_figures_per_month(db, people):
    from store.alerts import OutboxMail
    from store.models import Layer

    with db.session() as s:
        s.add(Layer(id="kaga-l", kind="uploaded", name_ja="加賀", group="g", feature_count=7,
                    organisation_id=people["kaga"].organisation_id))
        s.add(OutboxMail(key="k1", message_id="<m1@x>", organisation_id=people["kaga"].organisation_id, kind="alert",
                         to_addr="a@example.jp", subject="s", body_text="b", body_html="b", status="sent",
                         sent_at=utcnow()))
    usage.refresh(db)
    with db.session() as s:
        data = usage.report(s, usage.month_of())
    kaga = data["totals"][people["kaga"].organisation_id]
    assert (kaga["layers"], kaga["features"], kaga["alert_mails"], kaga["staff_accounts"]) == (1, 7, 1, 1)
    assert data["totals"][people["hakui"].organisation_id]["layers"] == 0


def test_the_page_view_and_csv_scope(dash_app, app_db, who):
    from layers import usage_report
    from tests.staff_helpers import login
    from tests.test_audit import staff_for

    c = dash_app.server.test_client()
    login(c, who["kaga"].email)
    body = c.get("/staff/usage.csv?lang=en").get_data(as_text=True)
    lines = body.splitlines()
    assert lines[0].startswith("\ufeffMonth,Organisation,Layers") and lines[1].split(",")[1] == "Kaga City"
    assert "Hakui" not in body
    assert dash_app.server.test_client().get("/staff/usage.csv").status_code == 401
    editor = staff_for(app_db, who["kaga"])
    admin = staff_for(app_db, who["admin"])
    assert [r["organisation"] for r in usage_report.report(app_db, editor, None)["rows"]] == ["kaga"]
    assert {"kaga", "hakui"} <= {r["organisation"] for r in usage_report.report(app_db, admin, None)["rows"]}


def test_the_worker_runs_the_usage_and_audit_purge_jobs(tmp_path, db, people):
    from settings import Settings
    from store import audit
    from worker import build_jobs

    st = Settings.from_env({"DATABASE_URL": db.url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x",
                            "DEMO_FEED": "0", "AUDIT_RETENTION_DAYS": "30"})
    jobs = {j.name: j for j in build_jobs(st, db)}
    with db.session() as s:
        audit.record(s, people["kaga"], "auth.login").at = utcnow() - timedelta(days=31)
        audit.record(s, people["kaga"], "auth.login")
    assert jobs["audit-purge"].run() == 1
    usage.count(db, "source_requests", "1", people["kaga"].organisation_id, n=3)
    jobs["usage"].run()
    with db.session() as s:
        totals = usage.report(s, usage.month_of())["totals"][people["kaga"].organisation_id]
    assert totals["source_requests"] == 3 and totals["staff_accounts"] == 1


def test_portal_views_and_layer_requests_show_for_the_owning_organisation(client, app_db, who, dash_app):
    """Page loads of /o/<code> count for that organisation; the requests served per layer appear in
    /staff/usage (and its CSV) of the organisation owning the layer, and nowhere else."""
    from tests.staff_helpers import login

    name = "加賀の集計" + uuid.uuid4().hex[:6]
    lid = upload(client, who["kaga"], GEOJSON, visibility="public", name=name).get_json()["id"]
    before = org_row(usage_of(client, who["admin"]), "kaga")["portal_views"]
    hakui_before = org_row(usage_of(client, who["admin"]), "hakui")["portal_views"]
    for _ in range(3):
        assert client.get("/o/kaga").status_code == 200
    assert client.get("/o/kaga?lang=en").status_code == 200
    assert client.get("/o/no-such-city").status_code in (200, 404)  # not counted for anyone
    assert client.get(f"/api/layers/{lid}/features?v=1").status_code == 200
    assert client.get(f"/api/layers/{lid}/features").status_code == 200
    body = usage_of(client, who["admin"])
    assert org_row(body, "kaga")["portal_views"] == before + 4
    assert org_row(body, "hakui")["portal_views"] == hakui_before
    assert layer_row(body, lid) == {"organisation": "kaga", "layer": lid, "map_requests": 1, "api_requests": 1}
    # 加賀市's editor sees the layer's figures in /staff/usage and its CSV; 羽咋市's editor does not
    kaga = login(dash_app.server.test_client(), who["kaga"].email)
    page = pages_router(kaga, "/staff/usage").get_data(as_text=True)
    assert name in page and "組織ポータル" in page
    assert name in kaga.get("/staff/usage.csv?lang=ja").get_data().decode("utf-8-sig")
    hakui = login(dash_app.server.test_client(), who["hakui"].email)
    assert name not in hakui.get("/staff/usage.csv?lang=ja").get_data().decode("utf-8-sig")
