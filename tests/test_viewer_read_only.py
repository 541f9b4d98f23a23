"""A viewer sees the staff pages read-only: no upload, edit, delete or save controls, a "閲覧のみ"
note instead — and the actions stay refused on the server (crafted callbacks change nothing)."""
from __future__ import annotations

import uuid

import orjson
import pytest

from store.models import Layer
from store.users import EDITOR, VIEWER
from tests.staff_helpers import login, make_person, pages_router, upload

PAGES = ["/staff/upload", "/staff/layers", "/staff/groups", "/staff/sources", "/staff/alerts",
         "/staff/cameras", "/staff/road-info", "/staff/dashboards", "/staff/dashboards/edit"]
# component types that change something, as they appear in a rendered page
CONTROLS = ('"type":"Button"', '"type":"Input"', '"type":"Dropdown"', '"type":"Textarea"',
            '"type":"Checklist"', '"type":"RadioItems"', '"type":"ConfirmDialog"', '"type":"Form"',
            "staff-file-slot")


def _page(client, path: str, search: str) -> str:
    return pages_router(client, path, search).get_data(as_text=True)


def _content(body: str) -> str:
    """The page content without the staff top bar (its log-out button is not an edit control)."""
    def drop_header(node):
        if isinstance(node, list):
            return [drop_header(n) for n in node if not (isinstance(n, dict) and n.get("type") == "Header")]
        if isinstance(node, dict) and isinstance(node.get("props"), dict):
            props = node["props"]
            if "children" in props:
                props["children"] = drop_header(props["children"])
        return node

    data = orjson.loads(body)["response"]["_pages_content"]["children"]
    return orjson.dumps(drop_header(data)).decode()


@pytest.fixture
def kaga(client, app_db):
    editor = make_person(app_db, "kaga", EDITOR)
    name = "加賀閲覧" + uuid.uuid4().hex[:6]
    layer_id = upload(client, editor, data="名称,緯度,経度\nA,36.30,136.31\n".encode(), filename="k.csv",
                      name=name, visibility="private").json["id"]
    return {"editor": editor, "viewer": make_person(app_db, "kaga", VIEWER), "layer": layer_id, "name": name}


@pytest.mark.parametrize("lang,note", [("ja", "閲覧のみ"), ("en", "View only")])
def test_viewer_sees_no_edit_controls(dash_app, kaga, lang, note):
    session = login(dash_app.server.test_client(), kaga["viewer"].email)
    for path in PAGES:
        body = _content(_page(session, path, f"?lang={lang}"))
        assert note in body, path
        for control in CONTROLS:
            assert control not in body, (path, control)
    # the viewer still sees the organisation's private layer and its settings (as text)
    body = _content(_page(session, "/staff/layers", f"?lang={lang}&layer={kaga['layer']}"))
    assert kaga["name"] in body and "staff-read-value" in body


def test_editor_still_has_the_controls(dash_app, kaga):
    session = login(dash_app.server.test_client(), kaga["editor"].email)
    for path in PAGES:
        body = _content(_page(session, path, "?lang=ja"))
        assert "閲覧のみ" not in body, path
    assert '"type":"Button"' in _content(_page(session, "/staff/layers", f"?lang=ja&layer={kaga['layer']}"))
    assert "staff-file-slot" in _content(_page(session, "/staff/upload", "?lang=ja"))


def test_viewer_crafted_save_changes_nothing(dash_app, app_db, kaga):
    """The layer settings' save callback, posted by hand by a viewer: refused, the layer unchanged."""
    session = login(dash_app.server.test_client(), kaga["viewer"].email)
    session.get("/")
    key = next(k for k, spec in dash_app.callback_map.items()
               if any(i["id"] == "staff-layers-save" for i in spec["inputs"]))
    spec = dash_app.callback_map[key]
    values = {"staff-layers-id": kaga["layer"], "staff-layers-name": "HACKED", "staff-layers-lang": "en",
              "staff-layers-visibility": "public"}
    outs = [o.split("@")[0].rsplit(".", 1) for o in key.strip(".").split("...")] if key.startswith("..") \
        else [key.split("@")[0].rsplit(".", 1)]
    payload = {"output": key,
               "outputs": [{"id": i, "property": p} for i, p in outs] if key.startswith("..")
               else {"id": outs[0][0], "property": outs[0][1]},
               "inputs": [{"id": i["id"], "property": i["property"], "value": 1} for i in spec["inputs"]],
               "state": [{"id": s["id"], "property": s["property"], "value": values.get(s["id"])}
                         for s in spec.get("state", [])],
               "changedPropIds": [f"{i['id']}.{i['property']}" for i in spec["inputs"]]}
    resp = session.post("/_dash-update-component", json=payload)
    assert resp.status_code in (200, 204, 403)
    with app_db.session() as s:
        layer = s.get(Layer, kaga["layer"])
        assert layer.name_ja != "HACKED" and layer.visibility == "private"
