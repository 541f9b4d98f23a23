"""Organisation walls with the roles org_admin and viewer: a 加賀市 org_admin can do nothing to
羽咋市's users, layers, rules, sources or dashboards — through the API and through crafted Dash
callbacks (every server-side callback the app has, as tests/test_security.py walks them) — and a
viewer changes nothing, not even in their own organisation."""
from __future__ import annotations

import io
import uuid

import orjson
import pytest

from store import dashboards as sd
from store.alerts import AlertRule
from store.brokers import Source
from store.models import Layer, Organisation
from store.users import EDITOR, ORG_ADMIN, VIEWER, User
from tests.staff_helpers import login, make_person, upload
from tests.test_security import _entry, _outputs, private_csv

PAGES = ["/", "/staff/layers", "/staff/upload", "/staff/groups", "/staff/account", "/staff/organisations",
         "/staff/sources", "/staff/alerts", "/staff/dashboards", "/staff/cameras", "/o/hakui", "/o/kaga"]


def _json(client, method, url, person, body):
    return getattr(client, method)(url, data=orjson.dumps(body), headers=person.auth, content_type="application/json")


@pytest.fixture
def world(client, app_db, loopback_sources):
    """羽咋市's editor with a private and a public layer, a rule, a source and a private dashboard;
    加賀市's org_admin, viewer and editor with a private layer of their own."""
    hakui = make_person(app_db, "hakui", EDITOR)
    tag = uuid.uuid4().hex[:8]
    private_id = upload(client, hakui, data=private_csv("H" + tag), filename="h.csv", visibility="private").json["id"]
    public_id = upload(client, hakui, data=private_csv("P" + tag), filename="p.csv", visibility="public").json["id"]
    rule = client.post("/api/alert-rules", headers=hakui.auth, json={
        "name": f"羽咋 {tag}", "layer_id": private_id, "attribute": "snowDepth", "op": ">", "threshold": 1,
        "recipients": ["duty@hakui.example.jp"]})
    assert rule.status_code == 201, rule.json
    src = _json(client, "post", "/api/sources", hakui, {"name": f"api-test {tag}", "base_url": "http://127.0.0.1:1026",
                                                         "entity_type": "WeatherObserved", "interval_s": 600})
    assert src.status_code == 201, src.json
    slug = f"hakui-{tag}"
    dash = client.post("/api/dashboards", headers=hakui.auth, json={
        "slug": slug, "title_ja": "羽咋", "visibility": "private", "time": {"from": "now-24h", "to": "now"},
        "panels": [{"id": "t", "type": "text", "title_ja": "t", "options": {"markdown": "x"}}]})
    assert dash.status_code == 201, dash.json
    kaga_editor = make_person(app_db, "kaga", EDITOR)
    kaga_layer = upload(client, kaga_editor, data=private_csv("K" + tag), filename="k.csv",
                        visibility="private").json["id"]
    yield {"hakui": hakui, "boss": make_person(app_db, "kaga", ORG_ADMIN),
           "viewer": make_person(app_db, "kaga", VIEWER), "kaga_editor": kaga_editor, "private": private_id,
           "public": public_id, "rule": rule.json["id"],
           "source": src.json["id"], "slug": slug, "kaga_layer": kaga_layer}
    with app_db.session() as s:
        s.query(Source).filter(Source.id == src.json["id"]).delete()


def snapshot(db, w) -> dict:
    with db.session() as s:
        def layer(i):
            x = s.get(Layer, i)
            return None if x is None else (x.name_ja, x.name_en, x.visibility, x.version, x.group, dict(x.options))

        rule = s.get(AlertRule, w["rule"])
        src = s.get(Source, w["source"])
        dash = sd.by_slug(s, w["slug"])
        hakui_org = s.query(Organisation).filter_by(code="hakui").one()
        return {
            "layers": [layer(i) for i in (w["private"], w["public"], w["kaga_layer"])],
            "rule": None if rule is None else (rule.name, rule.threshold, rule.paused, rule.public, rule.recipients),
            "source": None if src is None else (src.name, src.interval_s, src.enabled, src.base_url),
            "dashboard": None if dash is None else (dash.version, dash.visibility, dash.title_ja),
            "hakui_users": sorted((u.email, u.role, u.active, u.password_hash, u.session_generation)
                                  for u in s.query(User).filter_by(organisation_id=hakui_org.id)),
            "kaga_users": sorted((u.email, u.role, u.active) for u in s.query(User).filter(User.email.like("kaga-%"))),
            "organisations": sorted((o.code, o.active, o.name_ja, o.boundary) for o in s.query(Organisation)),
        }


def test_kaga_org_admin_cannot_touch_hakui_through_the_api(client, app_db, world):
    boss, w = world["boss"], world
    before = snapshot(app_db, w)
    for layer_id, status in ((w["public"], 403), (w["private"], 404)):
        assert _json(client, "patch", f"/api/layers/{layer_id}", boss, {"name": "HACKED"}).status_code == status
        assert client.delete(f"/api/layers/{layer_id}", headers=boss.auth).status_code == status
        assert client.post(f"/api/layers/{layer_id}/rollback", headers=boss.auth).status_code == status
        resp = client.put(f"/api/layers/{layer_id}/data", headers=boss.auth, content_type="multipart/form-data",
                          data={"file": (io.BytesIO(private_csv("x")), "x.csv")})
        assert resp.status_code == status
    assert client.get(f"/api/layers/{w['private']}/download.geojson", headers=boss.auth).status_code == 404
    assert upload(client, boss, data=private_csv("x"), filename="x.csv", organisation="hakui").status_code == 403
    rid = w["rule"]
    assert client.get(f"/api/alert-rules/{rid}", headers=boss.auth).status_code == 404
    assert _json(client, "patch", f"/api/alert-rules/{rid}", boss, {"threshold": 99}).status_code == 404
    assert client.delete(f"/api/alert-rules/{rid}", headers=boss.auth).status_code == 404
    sid = w["source"]
    assert client.get(f"/api/sources/{sid}", headers=boss.auth).status_code == 404
    assert _json(client, "patch", f"/api/sources/{sid}", boss, {"interval_s": 60}).status_code == 404
    assert client.delete(f"/api/sources/{sid}", headers=boss.auth).status_code == 404
    assert client.post(f"/api/sources/{sid}/poll", headers=boss.auth).status_code == 404
    assert sid not in [x["id"] for x in client.get("/api/sources", headers=boss.auth).json["sources"]]
    assert _json(client, "post", "/api/sources", boss, {"name": "api-test x", "base_url": "http://127.0.0.1:1026",
                                                        "organisation": "hakui"}).status_code == 400
    slug = w["slug"]
    assert client.get(f"/api/dashboards/{slug}", headers=boss.auth).status_code == 404
    assert client.delete(f"/api/dashboards/{slug}", headers=boss.auth).status_code == 404
    doc = {"slug": slug, "title_ja": "HACKED", "visibility": "public",
           "panels": [{"id": "t", "type": "text", "title_ja": "t", "options": {"markdown": "x"}}]}
    assert client.put(f"/api/dashboards/{slug}", headers=boss.auth, json=doc).status_code == 404
    assert client.post("/api/dashboards", headers=boss.auth, json={
        "slug": "x-" + slug, "title_ja": "x", "organisation": "hakui", "visibility": "public",
        "panels": []}).status_code == 403
    assert client.get("/api/organisations/hakui/export.zip", headers=boss.auth).status_code == 404
    assert snapshot(app_db, w) == before
    # control: within 加賀市 the org_admin may (its own editor's layer)
    assert _json(client, "patch", f"/api/layers/{w['kaga_layer']}", boss, {"name_en": "ok"}).status_code == 200


def _walk(client, dash_app, pid: str, pages: list[str]) -> int:
    """Every server-side callback, every input "clicked", values "HACKED", ids = pid."""
    client.get("/")
    n = 0
    for key, spec in dash_app.callback_map.items():
        if spec.get("clientside_function") or "callback" not in spec:
            continue  # runs in the browser only
        for path in (pages if "_pages_content" in key else ["/"]):
            payload = {"output": key, "outputs": _outputs(key, pid),
                       "inputs": [_entry(i["id"], i["property"], pid, path) for i in spec["inputs"]],
                       "state": [_entry(i["id"], i["property"], pid, path) for i in spec.get("state", [])],
                       "changedPropIds": [f"{i['id']}.{i['property']}" for i in spec["inputs"]]}
            try:
                client.post("/_dash-update-component", json=payload)
            except Exception:  # noqa: BLE001  a page that breaks on nonsense input: not what is tested here
                pass
            n += 1
    return n


def _callback(client, output: str, inputs: list, state: list) -> str:
    many = output.startswith("..")
    outs = [o.split("@")[0].rsplit(".", 1) for o in output.strip(".").split("...")] if many \
        else [output.split("@")[0].rsplit(".", 1)]
    payload = {"output": output, "outputs": [{"id": i, "property": p} for i, p in outs] if output.startswith("..")
               else {"id": outs[0][0], "property": outs[0][1]},
               "inputs": inputs, "state": state, "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"]
               if isinstance(inputs[0], dict) else []}
    return client.post("/_dash-update-component", json=payload).get_data(as_text=True)


def test_kaga_org_admin_cannot_touch_hakui_through_crafted_callbacks(dash_app, app_db, world):
    w = world
    before = snapshot(app_db, w)
    boss = login(dash_app.server.test_client(), w["boss"].email)
    assert _walk(boss, dash_app, w["public"], PAGES) >= 20
    _walk(boss, dash_app, w["private"], ["/staff/layers"])
    with app_db.session() as s:
        hakui_user = s.query(User).filter_by(email=w["hakui"].email).one().id
    # the account page's user management with 羽咋市's user id: refused like an unknown user
    lang = {"id": "staff-account-lang", "property": "data", "value": "en"}
    for kind, value in (("staff-account-active", 1), ("staff-account-reset", 1), ("staff-account-role", "admin")):
        body = _callback(boss, "..staff-account-users.children...staff-account-users-message.children..."
                               "staff-account-new-email.value...staff-account-new-password.value..", [
            {"id": "staff-account-add", "property": "n_clicks", "value": None},
            [{"id": {"type": "staff-account-active", "id": hakui_user}, "property": "n_clicks",
              "value": value if kind == "staff-account-active" else None}],
            [{"id": {"type": "staff-account-role", "id": hakui_user}, "property": "value",
              "value": value if kind == "staff-account-role" else None}],
            [{"id": {"type": "staff-account-reset", "id": hakui_user}, "property": "n_clicks",
              "value": value if kind == "staff-account-reset" else None}]], [
            {"id": "staff-account-new-email", "property": "value", "value": "x@example.jp"},
            {"id": "staff-account-new-org", "property": "value", "value": "hakui"},
            {"id": "staff-account-new-role", "property": "value", "value": "editor"},
            {"id": "staff-account-new-password", "property": "value", "value": "long enough pw"},
            [{"id": {"type": "staff-account-newpw", "id": hakui_user}, "property": "value", "value": "new password 1"}],
            [{"id": {"type": "staff-account-newpw", "id": hakui_user}, "property": "id",
              "value": {"type": "staff-account-newpw", "id": hakui_user}}], lang])
        assert w["hakui"].email not in body
    # adding a user to 羽咋市
    body = _callback(boss, "..staff-account-users.children...staff-account-users-message.children..."
                           "staff-account-new-email.value...staff-account-new-password.value..", [
        {"id": "staff-account-add", "property": "n_clicks", "value": 1}, [], [], []], [
        {"id": "staff-account-new-email", "property": "value", "value": "intruder@example.jp"},
        {"id": "staff-account-new-org", "property": "value", "value": "hakui"},
        {"id": "staff-account-new-role", "property": "value", "value": "org_admin"},
        {"id": "staff-account-new-password", "property": "value", "value": "long enough pw"}, [], [], lang])
    assert "staff-error" in body
    # the organisations page: deactivate 羽咋市, invite into it
    key = next(k for k in dash_app.callback_map if "staff-orgs-leave-message" in k)
    body = _callback(boss, key, [
        {"id": "staff-orgs-deactivate", "property": "n_clicks", "value": 1},
        {"id": "staff-orgs-reactivate", "property": "n_clicks", "value": None}], [
        {"id": "staff-orgs-leave-org", "property": "value", "value": "hakui"},
        {"id": "staff-orgs-leave-data", "property": "value", "value": "unpublish"},
        {"id": "staff-orgs-lang", "property": "data", "value": "en"}])
    assert "Only the prefecture" in body
    with app_db.session() as s:
        assert s.query(User).filter_by(email="intruder@example.jp").count() == 0
    assert snapshot(app_db, w) == before


def test_viewer_changes_nothing(client, dash_app, app_db, world):
    w, viewer = world, world["viewer"]
    with app_db.session() as s:  # other tests may name their own uploads HACKED in the shared app
        hacked_before = s.query(Layer).filter(Layer.name_ja == "HACKED").count()
    # sees the organisation's private layer and dashboards ...
    assert client.get(f"/api/layers/{w['kaga_layer']}/download.geojson", headers=viewer.auth).status_code == 200
    kaga_dash = client.post("/api/dashboards", headers=w["kaga_editor"].auth, json={
        "slug": "kaga-" + w["slug"], "title_ja": "加賀", "visibility": "private",
        "panels": [{"id": "t", "type": "text", "title_ja": "t", "options": {"markdown": "x"}}]})
    assert kaga_dash.status_code == 201
    assert client.get(f"/api/dashboards/kaga-{w['slug']}", headers=viewer.auth).status_code == 200
    before = snapshot(app_db, w)
    # ... and changes nothing through the API
    lid = w["kaga_layer"]
    assert _json(client, "patch", f"/api/layers/{lid}", viewer, {"name": "HACKED"}).status_code == 403
    assert client.delete(f"/api/layers/{lid}", headers=viewer.auth).status_code == 403
    assert upload(client, viewer, data=private_csv("x"), filename="x.csv").status_code == 403
    assert client.post("/api/alert-rules", headers=viewer.auth, json={
        "name": "x", "layer_id": lid, "attribute": "snowDepth", "op": ">", "threshold": 1,
        "recipients": ["a@example.jp"]}).status_code == 403
    assert _json(client, "post", "/api/sources", viewer, {"name": "api-test v", "base_url": "http://127.0.0.1:1026"}
                 ).status_code == 403
    assert client.post("/api/dashboards", headers=viewer.auth, json={"slug": "v-" + w["slug"], "title_ja": "v",
                                                                     "panels": []}).status_code == 403
    assert client.delete(f"/api/dashboards/kaga-{w['slug']}", headers=viewer.auth).status_code == 403
    assert _json(client, "post", "/api/cameras", viewer, {"name": "v", "lon": 136.3, "lat": 36.3,
                                                          "url": "http://198.51.100.7/x.jpg"}).status_code == 403
    assert client.post("/api/readings", headers=viewer.auth, json=[
        {"sensor_id": "viewer-" + w["slug"], "attribute": "snowDepth", "value": 1, "time": "2026-01-01T00:00:00Z",
         "lon": 136.3, "lat": 36.3}]).status_code == 403
    assert client.get("/api/organisations/kaga/export.zip", headers=viewer.auth).status_code == 404
    # ... nor through any callback (every one "clicked", on its own organisation's layer)
    session = login(dash_app.server.test_client(), viewer.email)
    assert _walk(session, dash_app, lid, PAGES) >= 20
    assert snapshot(app_db, w) == before
    with app_db.session() as s:
        assert sd.by_slug(s, f"kaga-{w['slug']}") is not None
        assert s.query(Layer).filter(Layer.name_ja == "HACKED").count() == hacked_before


def test_viewer_refused_by_the_services_too(app_db, world):
    """The Dash pages call these services: each refuses a viewer by itself."""
    from alerts import rules
    from layers.manage import publish_result
    from refusal import Refused
    from sources.readers import read_upload
    from store.users import get_user_by_email, staff_of

    with app_db.session() as s:
        viewer = staff_of(s, get_user_by_email(s, world["viewer"].email))
    result = read_upload(private_csv("v"), "v.csv")
    with pytest.raises(Refused) as exc:
        publish_result(app_db, viewer, result, "v.csv", {"name_ja": "v", "group": "bousai"})
    assert exc.value.status == 403
    with pytest.raises(Refused) as exc, app_db.session() as s:
        rules.create(s, viewer, {"name": "v", "layer_id": world["kaga_layer"], "attribute": "snowDepth", "op": ">",
                                 "threshold": 1, "recipients": ["a@example.jp"]})
    assert exc.value.status == 403
