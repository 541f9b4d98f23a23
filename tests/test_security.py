"""Security of staff data (log-in, uploads, layers), one test per point.

- a private layer is 404 (never 403) to anonymous visitors and other organisations' editors on
  every route the app registers (Flask url_map) and through every server-side Dash callback;
- an editor cannot change another organisation's layer or group (API and callbacks), nor any
  other account (tests/test_accounts.py: users are changed by admins only);
- uploaded text is escaped (API side here; tests/test_browser_staff.py runs a payload file);
- type from content, bounded archives, one transaction (see also test_upload_readers / test_staff_api).
"""
from __future__ import annotations

import io
import json
import uuid

import pytest

from store.edit_error import EditError
from store.menu_groups import MenuGroup, create_menu_group, update_menu_group
from store.models import Layer
from store.users import get_user_by_email, staff_of
from tests.staff_helpers import login, make_people, pages_router, upload


def _plain(body: str) -> str:
    """Dash writes "/" as \\u002f in JSON: undo that so a leaked URL cannot hide."""
    return body.replace("\\u002f", "/").replace("\\/", "/")


def marker() -> str:
    return "PRIVATE-" + uuid.uuid4().hex[:10]


def private_csv(secret: str) -> bytes:
    return (f"名称,緯度,経度,備考\n{secret}-1,36.5,136.6,{secret}-note\n{secret}-2,36.6,136.7,x\n").encode()


@pytest.fixture
def setup(client, app_db):
    people = make_people(app_db)
    secret = marker()
    resp = upload(client, people["kaga"], data=private_csv(secret), filename="p.csv", name=f"{secret} layer",
                  visibility="private")
    assert resp.status_code == 201, resp.json
    public = upload(client, people["kaga"], data=private_csv("public-" + secret), filename="q.csv",
                    visibility="public").json["id"]
    return {"people": people, "secret": secret, "pid": resp.json["id"], "public_id": public}


def _snapshot(db, layer_id):
    with db.session() as s:
        layer = s.get(Layer, layer_id)
        return None if layer is None else (layer.name_ja, layer.visibility, layer.version, layer.feature_count,
                                           dict(layer.options))


# --- every Flask route ---

def _url_for_rule(rule, pid: str) -> str:
    url = rule.rule
    for arg in rule.arguments:
        url = url.replace(f"<{arg}>", pid)
        for conv in ("string", "path", "int", "any"):
            url = url.replace(f"<{conv}:{arg}>", pid)
    return url + f"?layer={pid}&layers={pid}&lang=ja"


def walk_routes(client, server, pid: str, secret: str, headers: dict, who: str) -> list[str]:
    checked = []
    for rule in server.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if rule.rule == "/login" and method == "POST":
                continue  # logging in is not a way to read a layer (and would end the session)
            url = _url_for_rule(rule, pid)
            kwargs = {"headers": headers}
            if method in ("POST", "PUT", "PATCH"):
                if rule.rule.startswith("/_dash"):
                    continue  # the callback walk below covers Dash with real payloads
                kwargs["data"] = {"file": (io.BytesIO(private_csv("x")), "x.csv"), "name": "HACKED",
                                  "visibility": "public", "group": "bousai"}
                kwargs["content_type"] = "multipart/form-data"
            resp = client.open(url, method=method, **kwargs)
            body = _plain(resp.get_data().decode("utf-8", "replace"))
            assert secret not in body, (who, method, url, resp.status_code)
            assert f"layers/{pid}/features" not in body or rule.rule.startswith("/_dash-component"), (who, method, url)
            if "layer_id" in rule.arguments:
                expected = {404} | ({401} if method != "GET" and "Authorization" not in headers else set())
                assert resp.status_code in expected, (who, method, url, resp.status_code)
            assert resp.status_code != 403 or "layer_id" not in rule.arguments
            checked.append(f"{method} {rule.rule}")
    return checked


def test_private_layer_is_404_on_every_route(dash_app, setup, app_db):
    server = dash_app.server
    pid, secret, people = setup["pid"], setup["secret"], setup["people"]
    before = _snapshot(app_db, pid)
    anon = server.test_client()
    checked = walk_routes(anon, server, pid, secret, {}, "anonymous")
    other_token = walk_routes(server.test_client(), server, pid, secret, people["hakui"].auth, "hakui token")
    other_session = login(server.test_client(), people["hakui"].email)
    walk_routes(other_session, server, pid, secret, {}, "hakui session")
    # the walk really covered the layer routes
    for route in ["GET /api/layers/<layer_id>/features", "GET /api/layers/<layer_id>/download.csv",
                  "GET /api/layers/<layer_id>/download.geojson", "PATCH /api/layers/<layer_id>",
                  "DELETE /api/layers/<layer_id>", "PUT /api/layers/<layer_id>/data", "GET /",
                  "GET /<path:path>", "GET /api/layers"]:
        assert route in checked, route
    assert len(other_token) == len(checked)
    assert _snapshot(app_db, pid) == before
    # control: the owner's organisation does see it, so the checks above can fail
    owner = server.test_client()
    resp = owner.get(f"/api/layers/{pid}/features", headers=people["kaga"].auth)
    assert resp.status_code == 200 and secret in resp.get_data(as_text=True)
    assert resp.headers["Cache-Control"].startswith("private")
    admin = server.test_client()
    assert admin.get(f"/api/layers/{pid}/download.csv", headers=people["admin"].auth).status_code == 200
    listed = {x["id"] for x in owner.get("/api/layers", headers=people["kaga"].auth).json["layers"]}
    assert pid in listed
    assert pid not in {x["id"] for x in anon.get("/api/layers").json["layers"]}


# --- every server-side Dash callback ---

def _concrete(id_str: str, pid: str):
    if not id_str.startswith("{"):
        return id_str, False
    d = json.loads(id_str)
    many = any(v == ["ALL"] for v in d.values())
    out = {}
    for k, v in d.items():
        if isinstance(v, list):
            out[k] = "bousai" if k == "group" else pid
        else:
            out[k] = v
    return out, many


def _value(id_, prop: str, pid: str, path: str):
    name = id_ if isinstance(id_, str) else id_.get("type", "")
    if prop in ("n_clicks", "submit_n_clicks", "n_intervals"):
        return 1
    if prop == "pathname":
        return path
    if prop == "search":
        return f"?layer={pid}&layers={pid},aed&lang=ja"
    if prop == "zoom":
        return 12
    if prop == "center":
        return [36.6, 136.7]
    if prop == "clickData":
        return {"latlng": {"lat": 36.6, "lng": 136.7}}
    if prop == "id":
        return id_
    if prop == "url":
        return f"/api/layers/{pid}/features"
    if prop == "data":
        if name.endswith("-id"):
            return pid
        if name.endswith("-lang"):
            return "ja"
        if name.endswith("-token"):
            return {"token": "A" * 32}
        if name.endswith("-shown"):
            return ["2", "3"]
        if name.endswith("-items"):
            return []
        if name.endswith("-click-pos"):
            return {"lon": 136.7, "lat": 36.6}
        return []
    if prop == "value":
        if name == "home-layers":
            return [pid, "aed"]
        if name == "home-basemap":
            return "std"
        if name == "home-opacity":
            return 0.5
        if name.endswith("-group"):
            return "bousai"
        if name.endswith("-visibility"):
            return "public"
        if name.endswith("-color"):
            return "#000000"
        if name.endswith("-shape"):
            return "circle"
        if name.endswith("-skip"):
            return ["skip"]
        if name.endswith("-popup"):
            return []
        return "HACKED"
    return None


def _entry(id_str, prop, pid, path, with_value=True):
    id_, many = _concrete(id_str, pid)
    one = {"id": id_, "property": prop}
    if with_value:
        one["value"] = _value(id_, prop, pid, path)
    return [one] if many else one


def _outputs(key: str, pid: str):
    parts = key.strip(".").split("...") if key.startswith("..") else [key]
    outs = []
    for part in parts:
        part = part.split("@")[0]
        id_str, prop = part.rsplit(".", 1)
        id_, many = _concrete(id_str, "aed")  # outputs: a harmless concrete id
        outs.append([{"id": id_, "property": prop}] if many else {"id": id_, "property": prop})
    return outs if key.startswith("..") else outs[0]


def walk_callbacks(client, dash_app, pid: str, secret: str, who: str) -> int:
    client.get("/")  # the callback map is complete after the first request
    n = 0
    for key, spec in dash_app.callback_map.items():
        if spec.get("clientside_function"):
            continue
        pages = ["/", "/staff/layers", "/staff/upload", "/sensors", "/staff/groups", "/staff/account"]
        for path in (pages if "_pages_content" in key else ["/"]):
            inputs = [_entry(i["id"], i["property"], pid, path) for i in spec["inputs"]]
            state = [_entry(i["id"], i["property"], pid, path) for i in spec.get("state", [])]
            changed = [f"{i['id']}.{i['property']}" for i in spec["inputs"]]
            payload = {"output": key, "outputs": _outputs(key, pid), "inputs": inputs, "state": state,
                       "changedPropIds": changed}
            resp = client.post("/_dash-update-component", json=payload)
            body = _plain(resp.get_data(as_text=True))
            assert secret not in body, (who, key, path)
            assert f"layers/{pid}/features" not in body, (who, key, path)
            assert (f"layer={pid}" not in body or "_pages_content" not in key
                    or "staff-layers-editor" not in body), (who, key)
            n += 1
    return n


def test_private_layer_never_reaches_a_dash_callback(dash_app, setup, app_db):
    server = dash_app.server
    pid, secret, people = setup["pid"], setup["secret"], setup["people"]
    before = _snapshot(app_db, pid)
    n = walk_callbacks(server.test_client(), dash_app, pid, secret, "anonymous")
    assert n >= 15
    walk_callbacks(login(server.test_client(), people["hakui"].email), dash_app, pid, secret, "hakui session")
    assert _snapshot(app_db, pid) == before
    # control: the owner's editor gets the layer into the public map callback
    owner = login(server.test_client(), people["kaga"].email)
    payload = {"output": "..home-base.children...home-overlays.children...home-vectors.children..",
               "outputs": [{"id": "home-base", "property": "children"}, {"id": "home-overlays", "property": "children"},
                           {"id": "home-vectors", "property": "children"}],
               "inputs": [[{"id": {"type": "home-layers", "group": "bousai"}, "property": "value", "value": [pid]}],
                          {"id": "home-basemap", "property": "value", "value": "std"}, []],
               "state": [[], {"id": "home-lang", "property": "data", "value": "ja"},
                         {"id": "home-map", "property": "zoom", "value": 10}],
               "changedPropIds": ["home-basemap.value"]}
    body = _plain(owner.post("/_dash-update-component", json=payload).get_data(as_text=True))
    assert f"layers/{pid}/features" in body
    anon_body = _plain(server.test_client().post("/_dash-update-component", json=payload).get_data(as_text=True))
    assert f"layers/{pid}/features" not in anon_body and "home-vectors" in anon_body


# --- other organisations' layers and groups ---

def test_editor_cannot_change_another_organisations_layer(client, setup, app_db):
    pid, public_id, people = setup["pid"], setup["public_id"], setup["people"]
    hakui = people["hakui"]
    before = {i: _snapshot(app_db, i) for i in (pid, public_id)}
    for layer_id, status in ((public_id, 403), (pid, 404)):
        resp = client.patch(f"/api/layers/{layer_id}", json={"name": "HACKED"}, headers=hakui.auth)
        assert resp.status_code == status
        assert client.delete(f"/api/layers/{layer_id}", headers=hakui.auth).status_code == status
        assert client.post(f"/api/layers/{layer_id}/rollback", headers=hakui.auth).status_code == status
        resp = client.put(f"/api/layers/{layer_id}/data", headers=hakui.auth, content_type="multipart/form-data",
                          data={"file": (io.BytesIO(private_csv("x")), "x.csv")})
        assert resp.status_code == status
    # nor make one in another organisation's name
    resp = upload(client, hakui, data=private_csv("x"), filename="x.csv", organisation="kaga")
    assert resp.status_code == 403
    assert {i: _snapshot(app_db, i) for i in (pid, public_id)} == before
    # admins may
    resp = client.patch(f"/api/layers/{public_id}", json={"name_en": "ok"}, headers=people["admin"].auth)
    assert resp.status_code == 200
    # and the owner may
    assert client.patch(f"/api/layers/{pid}", json={"name_en": "ok"}, headers=people["kaga"].auth).status_code == 200


def test_editor_cannot_change_another_organisations_layer_through_the_page(dash_app, setup, app_db):
    """The /staff/layers callbacks check the layer themselves (a crafted callback with another id)."""
    pid, public_id, people = setup["pid"], setup["public_id"], setup["people"]
    hakui = login(dash_app.server.test_client(), people["hakui"].email)
    before = _snapshot(app_db, public_id)
    payload = {"output": "staff-layers-delete-result.children",
               "outputs": {"id": "staff-layers-delete-result", "property": "children"},
               "inputs": [{"id": "staff-layers-confirm", "property": "submit_n_clicks", "value": 1}],
               "state": [{"id": "staff-layers-id", "property": "data", "value": public_id},
                         {"id": "staff-layers-lang", "property": "data", "value": "en"}],
               "changedPropIds": ["staff-layers-confirm.submit_n_clicks"]}
    body = hakui.post("/_dash-update-component", json=payload).get_data(as_text=True)
    assert "You may not change this layer" in body
    assert _snapshot(app_db, public_id) == before
    page = pages_router(hakui, "/staff/layers", f"?layer={pid}&lang=en").get_data(as_text=True)
    assert "No such layer" in page and setup["secret"] not in page and "staff-layers-editor" not in page


def test_editor_cannot_change_another_organisations_group(app_db, setup):
    people = setup["people"]
    with app_db.session() as s:
        kaga = staff_of(s, get_user_by_email(s, people["kaga"].email))
        hakui = staff_of(s, get_user_by_email(s, people["hakui"].email))
        admin = staff_of(s, get_user_by_email(s, people["admin"].email))
        key = create_menu_group(s, kaga, f"加賀の観光-{uuid.uuid4().hex[:6]}", "Kaga sights").key
    with app_db.session() as s:
        with pytest.raises(EditError):
            update_menu_group(s, hakui, key, "HACKED")
    with app_db.session() as s:
        assert s.get(MenuGroup, key).label_en == "Kaga sights"
        update_menu_group(s, admin, key, "加賀の観光", "Kaga sightseeing")
    with app_db.session() as s:
        assert s.get(MenuGroup, key).label_en == "Kaga sightseeing"


# --- escaping (server side) ---

def test_uploaded_text_is_served_as_data_not_markup(client, setup):
    people = setup["people"]
    payload = '<img src=x onerror="alert(1)">'
    data = f'名称,緯度,経度\n"{payload.replace(chr(34), chr(34) * 2)}",36.5,136.6\n'.encode()
    layer_id = upload(client, people["kaga"], data=data, filename="x.csv", name=payload).json["id"]
    resp = client.get(f"/api/layers/{layer_id}/features")
    assert resp.mimetype == "application/geo+json"  # JSON, never HTML
    assert resp.json["features"][0]["properties"]["名称"] == payload  # kept as typed, escaped where shown
    dl = client.get(f"/api/layers/{layer_id}/download.geojson")
    assert dl.headers["X-Content-Type-Options"] == "nosniff" and "attachment" in dl.headers["Content-Disposition"]
