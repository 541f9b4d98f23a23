"""The audit log: every change is recorded with its person in the change's own transaction (a
refused or failed change leaves neither); who may read it (admins all, org_admins their own
organisation, nobody else), through /api/audit, /staff/audit.csv and the page's callback; retention."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import func, select

from layers import audit_log, manage
from refusal import Refused
from store import audit
from store.audit import AuditEntry
from store.db import utcnow
from store.models import Layer
from store.users import EDITOR, User, staff_of
from tests.staff_helpers import GEOJSON, Person, upload
from timezones import JST

ORG_ADMIN = "org_admin"


def entries(db, **where) -> list[AuditEntry]:
    with db.session() as s:
        q = select(AuditEntry).order_by(AuditEntry.id)
        for k, v in where.items():
            q = q.where(getattr(AuditEntry, k) == v)
        return list(s.scalars(q))


def staff_for(db, person: Person):
    with db.session() as s:
        return staff_of(s, s.scalar(select(User).where(User.email == person.email)))


def publish(db, staff, name="監査テスト", visibility="private") -> str:
    from store.menu_groups import create_menu_group

    with db.session() as s:  # straight into the store: no entry of its own
        group = create_menu_group(s, staff, "防災テスト").key
    opts = manage.UploadOptions()
    out = manage.publish(db, staff, GEOJSON.read_bytes(), GEOJSON.name, opts,
                         {"name_ja": name, "visibility": visibility, "group": group}, max_bytes=10**7)
    return out.layer_id


# --- same transaction ---------------------------------------------------------------------------

def test_a_change_and_its_entry_commit_together(db, people):
    kaga = people["kaga"]
    lid = publish(db, kaga)
    [e] = entries(db, action="layer.upload")
    assert (e.actor_email, e.actor_id, e.organisation_id, e.target) == (kaga.email, kaga.id, kaga.organisation_id,
                                                                        f"layer:{lid}")
    assert e.via == "system" and e.detail["features"] == 22 and e.at <= utcnow()
    manage.change_settings(db, kaga, lid, {"visibility": "public", "name_ja": "監査テスト2"})
    [v] = entries(db, action="layer.visibility")
    assert v.changes == {"name": [{"ja": "監査テスト", "en": ""}, {"ja": "監査テスト2", "en": ""}],
                         "visibility": ["private", "public"]}
    manage.change_settings(db, kaga, lid, {"license": "CC BY 4.0"})
    [st] = entries(db, action="layer.settings")
    assert st.changes == {"license": ["", "CC BY 4.0"]}


def test_a_refused_or_failed_change_leaves_no_entry_and_no_change(db, people):
    kaga, hakui = people["kaga"], people["hakui"]
    lid = publish(db, kaga)
    before = len(entries(db))
    with pytest.raises(Refused) as exc:  # another organisation: refused before anything is written
        manage.change_settings(db, hakui, lid, {"visibility": "public"})
    assert exc.value.status == 404
    with pytest.raises(Refused):  # a bad value: the settings are written, then refused — all rolled back
        manage.change_settings(db, kaga, lid, {"name_ja": "新しい名前", "color": "not a colour"})
    with pytest.raises(Refused):
        manage.remove(db, hakui, lid)
    assert len(entries(db)) == before
    with db.session() as s:
        layer = s.get(Layer, lid)
        assert layer.visibility == "private" and layer.name_ja == "監査テスト"


def test_an_error_after_the_entry_rolls_both_back(db, people):
    kaga = people["kaga"]
    lid = publish(db, kaga)
    n = len(entries(db))
    with pytest.raises(RuntimeError), db.session() as s:
        layer = s.get(Layer, lid)
        layer.visibility = "public"
        audit.record(s, kaga, "layer.visibility", f"layer:{lid}", changes={"visibility": ["private", "public"]})
        raise RuntimeError("the database went away")
    assert len(entries(db)) == n
    with db.session() as s:
        assert s.get(Layer, lid).visibility == "private"


def test_layer_kinds_rollback_items_groups_and_delete(db, people):
    kaga, admin = people["kaga"], people["ishikawa"]
    lid = publish(db, kaga)
    manage.replace(db, kaga, lid, GEOJSON.read_bytes(), GEOJSON.name, manage.UploadOptions(), 10**7)
    manage.roll_back(db, kaga, lid)
    fid = manage.add_item(db, kaga, lid, 136.5, 36.4, {"名称": "追加"})
    with db.session() as s:
        columns, rows = manage.items_table(s, s.get(Layer, lid))
    manage.save_items(db, kaga, lid, [r[manage.ITEM_ID] for r in rows], rows[1:])  # the first row deleted
    key = manage.resolve_group(db, kaga, "__new__", "監査グループ", "Audit group")
    manage.rename_group(db, admin, key, "監査グループ2", "Audit group 2")
    manage.remove_group(db, kaga, key)
    manage.remove(db, admin, lid)  # an admin removes Kaga's layer: the entry belongs to Kaga
    got = [(e.action, e.actor_email) for e in entries(db)]
    assert got == [("layer.upload", kaga.email), ("layer.replace", kaga.email), ("layer.rollback", kaga.email),
                   ("layer.item_add", kaga.email), ("layer.items", kaga.email), ("group.create", kaga.email),
                   ("group.rename", admin.email), ("group.delete", kaga.email), ("layer.delete", admin.email)]
    e = entries(db, action="layer.delete")[0]
    assert e.organisation_id == kaga.organisation_id and e.actor_organisation_id == admin.organisation_id
    assert entries(db, action="layer.item_add")[0].detail["fid"] == fid
    assert entries(db, action="layer.items")[0].detail == {"changed": 0, "deleted": 1}
    assert entries(db, action="group.rename")[0].changes == {"label_ja": ["監査グループ", "監査グループ2"],
                                                              "label_en": ["Audit group", "Audit group 2"]}


def test_accounts_tokens_and_passwords(db, people):
    from auth import accounts

    admin, kaga = people["ishikawa"], people["kaga"]
    accounts.add_user(db, admin, "new-person@example.jp", "hakui", EDITOR, "long enough password")
    with db.session() as s:
        uid = s.scalar(select(User.id).where(User.email == "new-person@example.jp"))
    accounts.change_user(db, admin, uid, org_code="kaga", active=False)
    accounts.new_token(db, kaga, "GPS")
    tid = accounts.my_tokens(db, kaga)[0]["id"]
    accounts.drop_token(db, kaga, tid)
    accounts.change_password(db, kaga, "long enough password", "an even longer password", "an even longer password")
    with pytest.raises(accounts.AccountError):  # wrong current password: nothing recorded
        accounts.change_password(db, kaga, "wrong", "an even longer password", "an even longer password")
    with pytest.raises(accounts.AccountError):  # editors manage no users
        accounts.add_user(db, kaga, "x@example.jp", "kaga", EDITOR, "long enough password")
    got = [(e.action, e.actor_email, e.target) for e in entries(db)]
    assert got == [("user.create", admin.email, f"user:{uid}"), ("user.update", admin.email, f"user:{uid}"),
                   ("token.create", kaga.email, f"user:{kaga.id}"), ("token.revoke", kaga.email, f"token:{tid}"),
                   ("password.change", kaga.email, f"user:{kaga.id}")]
    upd = entries(db, action="user.update")[0]
    assert upd.changes["active"] == [True, False] and set(upd.changes) == {"active", "organisation_id"}
    assert "long enough" not in orjson.dumps([e.changes for e in entries(db)]).decode()


def test_rules_through_the_service(db, people):
    from alerts import rules

    kaga = people["kaga"]
    with db.session() as s:
        rule = rules.create(s, kaga, {"name": "監査ルール", "target": "area", "area": [136.2, 36.2, 136.5, 36.4],
                                      "attribute": "snowDepth", "op": ">", "threshold": 20,
                                      "recipients": ["duty@kaga.example.jp"]})
        rid = rule.id
    with db.session() as s:
        rules.update(s, kaga, rid, {"threshold": 30})
    with db.session() as s:
        rules.set_paused(s, kaga, rid, True)
    with db.session() as s:
        rules.delete(s, kaga, rid)
    got = [e.action for e in entries(db)]
    assert got == ["rule.create", "rule.update", "rule.pause", "rule.delete"]
    assert entries(db, action="rule.update")[0].changes == {"threshold": [20.0, 30.0]}


def test_retention_purges_old_entries(db, people):
    now = utcnow()
    with db.session() as s:
        for days in (1, 729, 731, 2000):
            audit.record(s, people["kaga"], "auth.login").at = now - timedelta(days=days)
    assert audit_log.purge(db, 730, now) == 2
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 2


def test_retention_setting():
    from settings import Settings

    base = {"DATABASE_URL": "sqlite://", "SECRET_KEY": "x"}
    assert Settings.from_env(base).audit_retention_days == 730
    assert Settings.from_env({**base, "AUDIT_RETENTION_DAYS": "90"}).audit_retention_days == 90
    assert Settings.from_env({**base, "AUDIT_RETENTION_DAYS": "soon"}).audit_retention_days == 730


# --- through the app: every kind by token and by log-in, read back with its scope ----------------

def api_audit(client, person, **params):
    return client.get("/api/audit", query_string=params, headers=person.auth)


def test_api_changes_are_recorded_with_the_token_holder(client, app_db, who, loopback_sources):
    kaga, hakui = who["kaga"], who["hakui"]
    r = upload(client, kaga, GEOJSON, visibility="private")
    assert r.status_code == 201, r.get_json()
    lid = r.get_json()["id"]
    assert client.patch(f"/api/layers/{lid}", json={"visibility": "public"}, headers=kaga.auth).status_code == 200
    assert client.patch(f"/api/layers/{lid}", json={"visibility": "private"}, headers=hakui.auth).status_code in (403,
                                                                                                                  404)
    # a rule, a source, a dashboard
    r = client.post("/api/alert-rules", headers=kaga.auth,
                    json={"name": f"監査 {uuid.uuid4().hex[:6]}", "sensor_id": "snow-kaga-01", "attribute": "snowDepth",
                          "op": ">", "threshold": 20, "recipients": ["duty@kaga.example.jp"]})
    assert r.status_code == 201, r.get_json()
    r = client.post("/api/sources", headers=kaga.auth, data=orjson.dumps(
        {"name": f"audit-src {uuid.uuid4().hex[:6]}", "base_url": "http://127.0.0.1:9/", "entity_type": "X",
         "token": "secret-token-value"}), content_type="application/json")
    assert r.status_code == 201, r.get_json()
    sid = r.get_json()["id"]
    assert client.patch(f"/api/sources/{sid}", headers=kaga.auth, json={"interval_s": 120}).status_code == 200
    assert client.delete(f"/api/sources/{sid}", headers=kaga.auth).status_code == 204
    slug = f"audit-{uuid.uuid4().hex[:8]}"
    body = {"slug": slug, "title_ja": "監査", "visibility": "private", "time": {"from": "now-24h", "to": "now"},
            "panels": [{"id": "note", "type": "text", "title_ja": "説明", "options": {"markdown": "x"}}]}
    assert client.post("/api/dashboards", json=body, headers=kaga.auth).status_code == 201
    r = client.put(f"/api/dashboards/{slug}", json={**body, "title_ja": "監査2"}, headers=kaga.auth)
    assert r.status_code == 200
    assert client.delete(f"/api/dashboards/{slug}", headers=kaga.auth).status_code == 204

    got = api_audit(client, who["admin"], actor=kaga.email).get_json()["entries"]
    kinds = [e["action"] for e in reversed(got)]
    assert kinds == ["layer.upload", "layer.visibility", "rule.create", "source.create", "source.update",
                     "source.delete", "dashboard.create", "dashboard.update", "dashboard.delete"]
    assert all(e["actor"] == kaga.email and e["via"] == "token" and e["organisation"] == "kaga" for e in got)
    assert not api_audit(client, who["admin"], actor=hakui.email).get_json()["entries"]  # refused: nothing
    upd = next(e for e in got if e["action"] == "source.update")
    assert upd["changes"] == {"interval_s": [60.0, 120.0]}
    made = next(e for e in got if e["action"] == "source.create")
    assert made["changes"]["token"] == ["***", "***"] and "secret-token-value" not in str(got)
    dash = next(e for e in got if e["action"] == "dashboard.update")
    assert dash["changes"] == {"title_ja": ["監査", "監査2"]}


def test_log_ins_and_failed_log_ins(client, who):
    from tests.staff_helpers import login

    person = who["hakui"]
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"email": person.email, "password": "wrong password", "csrf": csrf})
    assert r.status_code == 401
    login(client, person.email)
    client.post("/logout", data={"csrf": csrf})
    got = api_audit(client, who["admin"], action="auth", actor=person.email).get_json()["entries"]
    assert [e["action"] for e in reversed(got)][:2] == ["auth.login_failed", "auth.login"]
    assert all(e["actor"] == person.email and e["organisation"] == "hakui" and e["via"] == "session" for e in got)
    # a failed log-in for an address nobody has: admins only
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"email": "nobody-here@example.jp", "password": "x" * 10, "csrf": csrf})
    assert api_audit(client, who["admin"], actor="nobody-here").get_json()["total"] == 1
    assert api_audit(client, who["hakui_admin"], actor="nobody-here").get_json()["total"] == 0


def test_organisation_scope_of_the_api(client, app_db, who):
    hakui, kaga_admin, hakui_admin = who["hakui"], who["kaga_admin"], who["hakui_admin"]
    own = upload(client, who["kaga"], GEOJSON, visibility="private", name="加賀の記録用レイヤ")
    assert own.status_code == 201  # 加賀市 has an entry of its own, whichever tests ran before
    r = upload(client, hakui, GEOJSON, visibility="private", name="羽咋の秘密レイヤ")
    assert r.status_code == 201
    lid = r.get_json()["id"]
    mine = api_audit(client, hakui_admin).get_json()
    assert any(e["target"] == f"layer:{lid}" for e in mine["entries"])
    theirs = api_audit(client, kaga_admin, limit=1000).get_json()
    assert any(e["target"] == f"layer:{own.get_json()['id']}" for e in theirs["entries"])
    assert all("kaga" in (e["organisation"], e["actor_organisation"]) for e in theirs["entries"])
    assert lid not in str(theirs) and "羽咋の秘密レイヤ" not in str(theirs)
    r = api_audit(client, kaga_admin, organisation="hakui")
    assert r.status_code == 403 and r.get_json()["error"] == "forbidden"
    assert api_audit(client, kaga_admin, organisation="kaga").status_code == 200
    assert api_audit(client, who["admin"], organisation="hakui").status_code == 200
    assert lid in str(api_audit(client, who["admin"], organisation="hakui").get_json())
    # editors, anonymous, bad filters
    assert api_audit(client, who["kaga"]).status_code == 403
    assert client.get("/api/audit").status_code == 401
    assert api_audit(client, who["admin"], organisation="atlantis").status_code == 400
    assert api_audit(client, who["admin"], action="layer.explode").status_code == 400
    assert api_audit(client, who["admin"], since="yesterday").status_code == 400
    assert api_audit(client, who["admin"], limit="0").status_code == 400
    since = (utcnow() + timedelta(days=1)).astimezone(JST).strftime("%Y-%m-%d")  # dates are Japan's
    assert api_audit(client, who["admin"], since=since).get_json()["total"] == 0


def test_csv_and_the_page_view_keep_the_scope(dash_app, app_db, who):
    from pages.staff_audit import view
    from tests.staff_helpers import login

    admin_client, kaga_client = dash_app.server.test_client(), dash_app.server.test_client()
    r = upload(admin_client, who["hakui"], GEOJSON, visibility="private", name='=HYPERLINK("x")')
    assert r.status_code == 201
    lid = r.get_json()["id"]
    login(admin_client, who["admin"].email)
    body = admin_client.get("/staff/audit.csv?organisation=hakui&lang=en").get_data(as_text=True)
    assert body.startswith("\ufeffTime,Who") and lid in body and "HYPERLINK" in body
    import csv
    import io

    assert not any(c.startswith(("=", "+", "-", "@")) for row in csv.reader(io.StringIO(body)) for c in row)
    login(kaga_client, who["kaga_admin"].email)
    assert lid not in kaga_client.get("/staff/audit.csv").get_data(as_text=True)
    assert kaga_client.get("/staff/audit.csv?organisation=hakui").status_code == 403
    assert dash_app.server.test_client().get("/staff/audit.csv").status_code == 401
    # what the page's callback answers (it checks the caller itself, then calls view)
    staff = staff_for(app_db, who["kaga_admin"])
    with dash_app.server.test_request_context():
        assert view(staff, "ja", 1, "hakui", None, None, None, None)[4].children == "他の組織の監査ログは見られません。"
        assert lid not in str(view(staff, "ja", 1, None, None, None, None, None)[0])
        assert lid in str(view(staff_for(app_db, who["admin"]), "ja", 1, "hakui", None, None, None, None)[0])
        editor = staff_for(app_db, who["kaga"])
        assert view(editor, "en", 1, None, None, None, None, None)[4].children.startswith("Only prefecture admins")


def test_cameras_through_the_service(db, people, tmp_path):
    from layers import cameras_manage

    kaga, hakui = people["kaga"], people["hakui"]
    hosts = ["127.0.0.1"]
    cam = cameras_manage.register(db, kaga, {"name": "加賀カメラ", "lon": 136.3, "lat": 36.3,
                                             "url": "http://user:pw@127.0.0.1:9/snap.jpg?key=secret"},
                                  allowed_hosts=hosts)
    cameras_manage.update(db, kaga, cam["id"], {"interval_s": 600}, allowed_hosts=hosts)
    with pytest.raises(Refused):  # another organisation: 403, nothing written
        cameras_manage.update(db, hakui, cam["id"], {"interval_s": 900}, allowed_hosts=hosts)
    cameras_manage.remove(db, kaga, cam["id"], tmp_path)
    got = entries(db)
    assert [(e.action, e.actor_email) for e in got] == [("camera.create", kaga.email), ("camera.update", kaga.email),
                                                        ("camera.delete", kaga.email)]
    assert got[0].changes["url"] == [None, "http://127.0.0.1:9/snap.jpg"]
    assert got[1].changes == {"interval_s": [300, 600]}
    assert "secret" not in str([e.changes for e in got]) and "pw" not in str([e.changes for e in got])


def test_an_orion_subscription_is_recorded(client, who, orion, loopback_sources):
    kaga = who["kaga"]
    r = client.post("/api/sources", headers=kaga.auth, content_type="application/json", data=orjson.dumps(
        {"name": f"audit-sub {uuid.uuid4().hex[:6]}", "base_url": orion.url, "entity_type": "WeatherObserved"}))
    assert r.status_code == 201, r.get_json()
    sid = r.get_json()["id"]
    r = client.post(f"/api/sources/{sid}/subscription", headers=kaga.auth)
    assert r.status_code == 201
    got = api_audit(client, who["admin"], action="source.subscribe", actor=kaga.email).get_json()["entries"]
    assert [(e["target"], e["changes"]) for e in got] == [
        (f"source:{sid}", {"subscription_id": ["", r.get_json()["subscription_id"]]})]
    assert client.delete(f"/api/sources/{sid}", headers=kaga.auth).status_code == 204
