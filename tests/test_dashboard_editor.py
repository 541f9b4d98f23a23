"""The staff pages of dashboards (/staff/dashboards, /staff/dashboards/edit): the layout model of the
editor, the panel form, preview, and the walls between organisations through the Dash callbacks
(anyone can POST to /_dash-update-component, so each callback must ask who is logged in itself)."""
from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import pytest

from dashboards import service
from dashboards.examples import SHELTERS, SNOW
from dashboards.model import parse_dashboard
from refusal import Refused
from store import dashboards as sd
from store.users import get_user_by_email, staff_of
from tests.staff_helpers import login, make_person, pages_router
from tests.test_dashboards import private_sensor

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def staff(db, person):
    with db.session() as s:
        return staff_of(s, get_user_by_email(s, person.email))


def new_slug() -> str:
    return f"ed-{uuid.uuid4().hex[:10]}"


def snapshot(db, slug):
    with db.session() as s:
        d = sd.by_slug(s, slug)
        return None if d is None else (d.version, d.visibility, d.title_ja, json.dumps(d.doc, sort_keys=True))


# --- calling a page's callback as the browser would ------------------------------------------------

def _spec(dash_app, output_part: str):
    keys = [k for k in dash_app.callback_map if k.startswith((output_part, ".." + output_part))]
    assert len(keys) == 1, (output_part, keys)
    return keys[0], dash_app.callback_map[keys[0]]


def _id_key(id_str: str):
    if id_str.startswith("{"):
        return json.loads(id_str)["type"]
    return id_str


def _outputs(key: str):
    parts = key.strip(".").split("...") if key.startswith("..") else [key]
    outs = []
    for part in parts:
        id_str, prop = part.split("@")[0].rsplit(".", 1)
        if id_str.startswith("{"):
            outs.append([])  # wildcard outputs: no concrete component here
        else:
            outs.append({"id": id_str, "property": prop})
    return outs if key.startswith("..") else outs[0]


def call(client, dash_app, output_part: str, values: dict, trigger: str):
    """POST one callback: `values` maps "id.prop" (or "type.prop" of a wildcard id, given as a list of
    (concrete id, value)) to the value the browser would send; `trigger` is the "id.prop" changed."""
    key, spec = _spec(dash_app, output_part)

    def entries(items):
        out = []
        for i in items:
            name = f"{_id_key(i['id'])}.{i['property']}"
            if i["id"].startswith("{"):
                out.append([{"id": cid, "property": i["property"], "value": v} for cid, v in values.get(name, [])])
            else:
                out.append({"id": i["id"], "property": i["property"], "value": values.get(name)})
        return out

    changed = trigger
    if trigger.startswith("{"):
        changed = trigger
    payload = {"output": key, "outputs": _outputs(key), "inputs": entries(spec["inputs"]),
               "state": entries(spec.get("state", [])), "changedPropIds": [changed]}
    resp = client.post("/_dash-update-component", json=payload)
    return resp.status_code, resp.get_data(as_text=True).replace("\\u002f", "/")  # Dash writes "/" as \\u002f


def private_doc(slug: str, sensor: str | None = None) -> dict:
    panels = [{"id": "note", "type": "text", "title_ja": "加賀の内部メモ",
               "options": {"markdown": "KAGA-INTERNAL-NOTE"}, "grid": {"x": 0, "y": 0, "w": 6, "h": 3}}]
    if sensor:
        panels.append({"id": "p", "type": "stat", "title_ja": "秘密", "grid": {"x": 6, "y": 0, "w": 3, "h": 4},
                       "query": {"kind": "sensor_latest", "sensors": [sensor]}})
    return {"slug": slug, "title_ja": "加賀の非公開ダッシュボード", "visibility": "private", "panels": panels}


# --- the layout model and the panel form -----------------------------------------------------------

def _cells(panels):
    cells = set()
    for p in panels:
        g = p["grid"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, ("overlap", p["id"])
                cells.add((x, y))
    return cells


def test_reflow_move_and_resize_never_overlap_and_follow_list_order():
    from dashboards.editing import in_grid_order, move, reflow, resize

    panels = in_grid_order(parse_dashboard(SNOW)["panels"])
    flowed = reflow(panels)
    _cells(flowed)
    assert [p["id"] for p in flowed] == [p["id"] for p in panels]
    assert flowed[0]["grid"] == {"x": 0, "y": 0, "w": 3, "h": 4}
    assert flowed[1]["grid"] == {"x": 3, "y": 0, "w": 9, "h": 6}
    assert flowed[2]["grid"]["y"] == 6  # the next row starts below the tallest panel of the row
    moved = move(flowed, 1, -1)
    assert [p["id"] for p in moved[:2]] == [flowed[1]["id"], flowed[0]["id"]]
    assert moved[0]["grid"]["x"] == 0 and moved[1]["grid"]["x"] == 9
    _cells(moved)
    assert move(flowed, 0, -1) == flowed and move(flowed, len(flowed) - 1, 1) == flowed
    wide = resize(flowed, 0, w=12)
    assert wide[0]["grid"]["w"] == 12 and wide[1]["grid"] == {**flowed[1]["grid"], "x": 0, "y": 4}
    _cells(wide)
    for p in reflow([{"id": str(i), "grid": {"w": w, "h": h}} for i, (w, h) in
                     enumerate([(5, 2), (8, 3), (4, 16), (12, 2), (1, 5), (11, 2)])]):
        assert 0 <= p["grid"]["x"] and p["grid"]["x"] + p["grid"]["w"] <= 12
    parse_dashboard({**SNOW, "panels": wide})  # still a valid document


def test_every_example_panel_survives_the_form_round_trip():
    from dashboards.editing import form_from_panel, panel_from_form

    for data in (SNOW, SHELTERS):
        doc = parse_dashboard(data)
        names = {v["name"] for v in doc["variables"]}
        for panel in doc["panels"]:
            again = panel_from_form(form_from_panel(panel), panel["id"], panel["grid"])
            from dashboards.model import parse_query

            assert parse_query(again["type"], again["query"], names) == panel["query"], panel["id"]
            assert again["options"] == {k: v for k, v in panel["options"].items() if k != "orientation"}, panel["id"]
            assert (again["title_ja"], again["title_en"], again["grid"]) == (
                panel["title_ja"], panel["title_en"], panel["grid"])


def test_a_layer_items_panel_with_filters_from_the_form():
    from dashboards.editing import blank_form, panel_from_form

    f = blank_form("table", "layer_items")
    f.update(layer="shelters", columns=["施設・場所名"], f0_prop="都道府県名及び市町村名", f0_op="eq",
             f0_value="石川県加賀市", f1_prop=None, limit=20)
    panel = panel_from_form(f, "t1")
    assert panel["query"] == {"kind": "layer_items", "layer": "shelters", "columns": ["施設・場所名"], "limit": 20,
                              "filters": [{"property": "都道府県名及び市町村名", "op": "eq", "value": "石川県加賀市"}]}


# --- preview ------------------------------------------------------------------------------------------

def test_preview_computes_an_unsaved_panel_with_the_staff_members_eyes(client, app_db, app_people):
    kaga, hakui = staff(app_db, app_people["kaga"]), staff(app_db, app_people["hakui"])
    secret = private_sensor(client, app_people["kaga"], value=654.25)
    panel = {"id": "p1", "type": "stat", "query": {"kind": "sensor_latest", "sensors": [secret]},
             "grid": {"x": 0, "y": 0, "w": 3, "h": 4}}
    doc = {"slug": new_slug(), "title_ja": "x", "visibility": "private"}
    params = service.ViewParams(lang="ja")
    # the owner's editor sees their own private sensor in a private dashboard's preview
    answer = service.preview_panel(app_db, kaga, doc, panel, params)
    assert answer["data"]["rows"][0]["value"] == 654.25
    # …but not in a public dashboard's: the same rule as saving
    with pytest.raises(Refused) as exc:
        service.preview_panel(app_db, kaga, {**doc, "visibility": "public"}, panel, params)
    assert exc.value.status == 422 and exc.value.details[0]["field"] == "query.sensors"
    # another organisation: refused exactly like an unknown sensor, nothing computed
    with pytest.raises(Refused) as exc:
        service.preview_panel(app_db, hakui, doc, panel, params)
    unknown = {**panel, "query": {"kind": "sensor_latest", "sensors": ["no-such-sensor"]}}
    with pytest.raises(Refused) as exc2:
        service.preview_panel(app_db, hakui, doc, unknown, params)
    assert exc.value.status == exc2.value.status == 400
    assert exc.value.details[0]["message_key"] == exc2.value.details[0]["message_key"] == "dash.err.unknown_ref"
    # through a custom variable that names it: computed with hakui's eyes, "no access"
    hidden = {**panel, "query": {"kind": "sensor_latest", "sensors": ["$s"]}}
    with_var = {**doc, "variables": [{"name": "s", "type": "custom", "options": [secret]}]}
    answer = service.preview_panel(app_db, hakui, with_var, hidden, params)
    assert answer.get("denied") is True and "654.25" not in json.dumps(answer)
    # bad panels name their field; anonymous gets nothing
    with pytest.raises(Refused) as exc:
        service.preview_panel(app_db, kaga, doc, {**panel, "type": "text"}, params)
    assert exc.value.details[0]["field"] == "query.kind"
    with pytest.raises(Refused) as exc:
        service.preview_panel(app_db, None, doc, panel, params)
    assert exc.value.status == 401
    for junk in (None, [], "x", {"id": "BAD ID", "type": "stat"}):
        with pytest.raises(Refused):
            service.preview_panel(app_db, kaga, doc, junk, params)


def _form_values(panel_form: dict) -> dict:
    from dashboards.editing import FORM

    return {f"{FORM[k]}.value": v for k, v in panel_form.items()}


def test_preview_callback_leaks_no_private_value_to_another_organisation(dash_app, client, app_db, app_people):
    from dashboards.editing import blank_form

    secret = private_sensor(client, app_people["kaga"], value=321.75)
    form = blank_form("stat", "sensor_latest")
    form.update(sensors=[secret], title_ja="p")
    values = {**_form_values(form), "dbe-preview.n_clicks": 1, "dbe-lang.data": "ja",
              "dbe-editing.data": {"index": None, "id": "p1"}, "dbe-doc.data": {"panels": []},
              "dbe-base.data": {}, "dbe-visibility.value": "private", "dbe-range.value": "now-24h",
              "dbe-slug.value": new_slug(), "dbe-title.value": "x"}
    owner = login(dash_app.server.test_client(), app_people["kaga"].email)
    status, body = call(owner, dash_app, "dbe-preview-box.children@", values, "dbe-preview.n_clicks")
    assert status == 200 and "321.75" in body  # the control: the owner sees the value
    for who in (login(dash_app.server.test_client(), app_people["hakui"].email), dash_app.server.test_client()):
        status, body = call(who, dash_app, "dbe-preview-box.children@", values, "dbe-preview.n_clicks")
        assert "321.75" not in body and "秘密の観測点" not in body
        assert status == 204 or "見つかりません" in body or "ログイン" in body


# --- the walls through the callbacks -------------------------------------------------------------------

def test_another_organisation_cannot_change_a_private_dashboard_through_the_pages(dash_app, client, app_db, app_people):
    slug = new_slug()
    service.create(app_db, staff(app_db, app_people["kaga"]), private_doc(slug))
    before = snapshot(app_db, slug)
    hakui = login(dash_app.server.test_client(), app_people["hakui"].email)
    anonymous = dash_app.server.test_client()
    save_values = {"dbe-save.n_clicks": 1, "dbe-orig.data": slug, "dbe-doc.data": {"panels": []}, "dbe-base.data": {},
                   "dbe-slug.value": slug, "dbe-title.value": "HACKED", "dbe-visibility.value": "public",
                   "dbe-range.value": "now-24h", "dbe-refresh.value": "off", "dbe-lang.data": "en"}
    # anonymous: asked to log in; hakui: "not found", the same as a slug that does not exist
    _, body = call(anonymous, dash_app, "dbe-save-result.children", save_values, "dbe-save.n_clicks")
    assert "please log in" in body.lower()
    _, body = call(hakui, dash_app, "dbe-save-result.children", save_values, "dbe-save.n_clicks")
    _, missing = call(hakui, dash_app, "dbe-save-result.children", {**save_values, "dbe-orig.data": "no-such-dash"},
                      "dbe-save.n_clicks")
    assert "Dashboard not found." in body and body.replace(slug, "X") == missing.replace("no-such-dash", "X")
    # delete (the confirm dialog's submit), duplicate, restore, export, history
    for who in (hakui, anonymous):
        refused = "ダッシュボードが見つかりません。" if who is hakui else "ログインが必要です"
        _, body = call(who, dash_app, "sdash-list.children", {"sdash-confirm.submit_n_clicks": 1,
                                                               "sdash-pending.data": slug, "sdash-lang.data": "ja"},
                       "sdash-confirm.submit_n_clicks")
        assert refused in body
        for kind, extra in (("sdash-dup", {}), ("sdash-restore", {"v": 1})):
            cid = {"type": kind, "slug": slug, **extra}
            trig = json.dumps(cid, sort_keys=True, separators=(",", ":")) + ".n_clicks"
            _, body = call(who, dash_app, "sdash-list.children", {f"{kind}.n_clicks": [(cid, 1)],
                                                                   "sdash-lang.data": "ja"}, trig)
            assert refused in body, (kind, body[:300])
            assert "KAGA-INTERNAL-NOTE" not in body and "加賀の非公開" not in body
        for kind, output in (("sdash-export", "sdash-download.data"), ("sdash-history", "sdash-history.children"),
                             ("sdash-delete", "sdash-pending.data")):
            cid = {"type": kind, "slug": slug}
            trig = json.dumps(cid, sort_keys=True, separators=(",", ":")) + ".n_clicks"
            _, body = call(who, dash_app, output, {f"{kind}.n_clicks": [(cid, 1)], "sdash-lang.data": "ja"}, trig)
            assert "KAGA-INTERNAL-NOTE" not in body and "加賀の非公開" not in body, (kind, body[:300])
    # the editor page itself: not found, no title
    page = pages_router(hakui, "/staff/dashboards/edit", f"?slug={slug}").get_data(as_text=True)
    assert "dbe-refused" in page and "加賀の非公開" not in page and "KAGA-INTERNAL-NOTE" not in page
    assert snapshot(app_db, slug) == before
    # the control: kaga's own editor may save through the same callback
    kaga = login(dash_app.server.test_client(), app_people["kaga"].email)
    _status, body = call(kaga, dash_app, "dbe-save-result.children",
                         {**save_values, "dbe-visibility.value": "private", "dbe-title.value": "新しい題"},
                         "dbe-save.n_clicks")
    assert "Saved" in body
    assert snapshot(app_db, slug)[2] == "新しい題"


def test_a_refused_save_names_each_field_and_keeps_the_edits(dash_app, client, app_db, app_people):
    slug = new_slug()
    secret = private_sensor(client, app_people["kaga"], value=11.5)
    service.create(app_db, staff(app_db, app_people["kaga"]), private_doc(slug, secret))
    before = snapshot(app_db, slug)
    kaga = login(dash_app.server.test_client(), app_people["kaga"].email)
    panels = service.get_document(app_db, staff(app_db, app_people["kaga"]), slug)["panels"]
    values = {"dbe-save.n_clicks": 1, "dbe-orig.data": slug, "dbe-doc.data": {"panels": panels}, "dbe-base.data": {},
              "dbe-slug.value": slug, "dbe-title.value": "", "dbe-visibility.value": "private",
              "dbe-range.value": "now-24h", "dbe-refresh.value": "off", "dbe-lang.data": "ja",
              "dbe-v-name.value": [({"type": "dbe-v-name", "i": 0}, "Bad Name")],
              "dbe-v-type.value": [({"type": "dbe-v-type", "i": 0}, "area")],
              "dbe-v-label_ja.value": [({"type": "dbe-v-label_ja", "i": 0}, "")],
              "dbe-v-label_en.value": [({"type": "dbe-v-label_en", "i": 0}, "")],
              "dbe-v-options.value": [({"type": "dbe-v-options", "i": 0}, "")],
              "dbe-v-default.value": [({"type": "dbe-v-default", "i": 0}, "")]}
    _, body = call(kaga, dash_app, "dbe-save-result.children", values, "dbe-save.n_clicks")
    assert "タイトル（日本語）: 短すぎます。" in body
    assert "変数1「Bad Name」 › 名前: 使えない文字" in body
    assert snapshot(app_db, slug) == before
    # public with a private sensor: the panel is named
    _, body = call(kaga, dash_app, "dbe-save-result.children",
                   {**values, "dbe-title.value": "題", "dbe-visibility.value": "public", "dbe-v-name.value": [],
                    "dbe-v-type.value": [], "dbe-v-label_ja.value": [], "dbe-v-label_en.value": [],
                    "dbe-v-options.value": [], "dbe-v-default.value": []}, "dbe-save.n_clicks")
    assert "パネル2「秘密」 › センサー: 非公開のデータです。" in body
    assert snapshot(app_db, slug) == before


# --- import ---------------------------------------------------------------------------------------------

def _upload(data) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False).encode()
    return "data:application/json;base64," + base64.b64encode(raw).decode()


def test_import_of_a_bad_json_lists_each_problem_and_stores_nothing(dash_app, app_db, app_people):
    kaga = login(dash_app.server.test_client(), app_people["kaga"].email)
    with app_db.session() as s:
        count = len(sd.listed(s, None)) + len(list(s.scalars(__import__("sqlalchemy").select(sd.Dashboard))))
    bad = {"slug": "Bad Slug!", "title_ja": "", "refresh": "2s", "visibility": "secret",
           "panels": [{"id": "a", "type": "stat", "query": {"kind": "sensor_series", "sensors": ["x"]}},
                      {"id": "b", "type": "bar", "query": {"kind": "layer_stats", "layer": "shelters"}}]}
    _, body = call(kaga, dash_app, "sdash-import-result.children",
                   {"sdash-upload.contents": _upload(bad), "sdash-upload.filename": "bad.json",
                    "sdash-lang.data": "en"},
                   "sdash-upload.contents")
    for line in ("URL name: ", "Title (Japanese): Too short.", "Auto-refresh: Not one of the allowed values.",
                 "Visibility: "):
        assert line in body, line
    _, body = call(kaga, dash_app, "sdash-import-result.children",
                   {"sdash-upload.contents": _upload({**bad, "slug": "fine-slug", "title_ja": "x", "refresh": "off",
                                                       "visibility": "private"}),
                    "sdash-lang.data": "ja"}, "sdash-upload.contents")
    assert "パネル1 › データの種類: このパネルの種類では使えないデータです。" in body
    assert "パネル2 › 区分: 入力してください。" in body
    for junk in (b"not json at all", b"\xff\xfe\x00", json.dumps([1, 2]).encode()):
        _, body = call(kaga, dash_app, "sdash-import-result.children",
                       {"sdash-upload.contents": _upload(junk), "sdash-lang.data": "ja"}, "sdash-upload.contents")
        assert "staff-error" in body
    with app_db.session() as s:
        assert len(sd.listed(s, None)) + len(list(s.scalars(__import__("sqlalchemy").select(sd.Dashboard)))) == count
    # a good export imports into the importer's own organisation
    theirs = service.get_document(app_db, None, "hakui-snow") if _exists(app_db, "hakui-snow") else None
    doc = theirs or parse_dashboard({"slug": "x-y", "title_ja": "例", "organisation": "hakui"})
    doc = {**doc, "slug": new_slug()}
    _, body = call(kaga, dash_app, "sdash-import-result.children",
                   {"sdash-upload.contents": _upload(doc), "sdash-lang.data": "ja"}, "sdash-upload.contents")
    assert "読み込みました" in body
    assert service.get_document(app_db, staff(app_db, app_people["kaga"]), doc["slug"])["organisation"] == "kaga"
    # anonymous: nothing
    anon = dash_app.server.test_client()
    _, body = call(anon, dash_app, "sdash-import-result.children",
                   {"sdash-upload.contents": _upload({**doc, "slug": new_slug()}), "sdash-lang.data": "ja"},
                   "sdash-upload.contents")
    assert "ログイン" in body


def _exists(db, slug) -> bool:
    with db.session() as s:
        return sd.by_slug(s, slug) is not None


def test_list_page_create_duplicate_restore_delete_for_the_owner(dash_app, app_db, app_people):
    kaga = login(dash_app.server.test_client(), app_people["kaga"].email)
    slug = new_slug()
    _, body = call(kaga, dash_app, "sdash-create-result.children",
                   {"sdash-create.n_clicks": 1, "sdash-new-title.value": "新しい盤", "sdash-new-title-en.value": "",
                    "sdash-new-slug.value": slug, "sdash-new-org.value": "kaga", "sdash-lang.data": "ja"},
                   "sdash-create.n_clicks")
    assert f"/staff/dashboards/edit?slug={slug}" in body
    # an editor cannot create one in another organisation's name
    _, body = call(kaga, dash_app, "sdash-create-result.children",
                   {"sdash-create.n_clicks": 1, "sdash-new-title.value": "x", "sdash-new-slug.value": new_slug(),
                    "sdash-new-org.value": "hakui", "sdash-lang.data": "ja"}, "sdash-create.n_clicks")
    assert "自分の団体" in body
    k = staff(app_db, app_people["kaga"])
    service.replace(app_db, k, slug, {**service.get_document(app_db, k, slug), "title_ja": "二版"})
    cid = {"type": "sdash-restore", "slug": slug, "v": 1}
    _, body = call(kaga, dash_app, "sdash-list.children",
                   {"sdash-restore.n_clicks": [(cid, 1)], "sdash-lang.data": "ja"},
                   json.dumps(cid, sort_keys=True, separators=(",", ":")) + ".n_clicks")
    assert "第1版の内容を新しい版として保存しました" in body
    assert service.get_document(app_db, k, slug)["title_ja"] == "新しい盤"
    cid = {"type": "sdash-export", "slug": slug}
    _, body = call(kaga, dash_app, "sdash-download.data",
                   {"sdash-export.n_clicks": [(cid, 1)], "sdash-lang.data": "ja"},
                   json.dumps(cid, sort_keys=True, separators=(",", ":")) + ".n_clicks")
    exported = json.loads(json.loads(body)["response"]["sdash-download"]["data"]["content"])
    assert exported["slug"] == slug and exported["organisation"] == "kaga"
    call(kaga, dash_app, "sdash-list.children", {"sdash-confirm.submit_n_clicks": 1, "sdash-pending.data": slug,
                                                 "sdash-lang.data": "ja"}, "sdash-confirm.submit_n_clicks")
    assert not _exists(app_db, slug)


def test_the_editor_without_a_slug_creates_on_save(dash_app, app_db, app_people):
    kaga = login(dash_app.server.test_client(), app_people["kaga"].email)
    slug = new_slug()
    panel = {"id": "p1", "type": "bar", "title_ja": "避難所", "grid": {"x": 0, "y": 0, "w": 6, "h": 4},
             "query": {"kind": "layer_stats", "layer": "shelters", "group_by": "@area"}, "options": {}}
    values = {"dbe-save.n_clicks": 1, "dbe-orig.data": "", "dbe-doc.data": {"panels": [panel]}, "dbe-base.data": {},
              "dbe-slug.value": slug, "dbe-title.value": "新規", "dbe-visibility.value": "public",
              "dbe-range.value": "now-7d", "dbe-refresh.value": "5m", "dbe-org.value": "kaga", "dbe-lang.data": "ja"}
    _, body = call(kaga, dash_app, "dbe-save-result.children", values, "dbe-save.n_clicks")
    assert "保存しました" in body and f"/dashboards/{slug}" in body
    doc = service.get_document(app_db, None, slug)
    assert doc["organisation"] == "kaga" and doc["time"] == {"from": "now-7d", "to": "now"} and doc["refresh"] == "5m"
    assert doc["panels"][0]["query"]["group_by"] == "@area"
    # saving again under the same slug from a fresh editor is refused (taken), nothing changes
    _, body = call(kaga, dash_app, "dbe-save-result.children", {**values, "dbe-title.value": "別物"},
                   "dbe-save.n_clicks")
    assert "URL名: このURL名（スラッグ）は既に使われています。" in body
    assert service.get_document(app_db, None, slug)["title_ja"] == "新規"


def test_tab_titles_follow_the_language(client):
    def title(path, search):
        body = pages_router(client, path, search).json
        return body["response"]["_pages_store"]["data"]["title"]

    assert title("/staff/dashboards", "?lang=en").startswith("Manage dashboards")
    assert title("/staff/dashboards", "").startswith("ダッシュボードの管理")
    assert title("/staff/dashboards/edit", "?slug=x&lang=en").startswith("Edit dashboard")
    assert title("/staff/dashboards/edit", "?slug=x").startswith("ダッシュボードの編集")
    page = client.get("/staff/dashboards?lang=en").get_data(as_text=True)
    assert 'og:title" content="Manage dashboards' in page


# --- in the browser ------------------------------------------------------------------------------------

def _pick(dash_duo, dropdown_id: str, text: str, search: str | None = None) -> None:
    from tests.browser_helpers import wait_until

    box = dash_duo.find_element(f"#{dropdown_id}")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
    box.click()
    if search:
        dash_duo.driver.switch_to.active_element.send_keys(search)
    option = wait_until(lambda: next((o for o in dash_duo.find_elements("[role='option']") if text in o.text), None),
                        what=f"option {text}")
    option.click()
    if dash_duo.find_elements("[role='option']"):  # a multi-select stays open
        dash_duo.driver.switch_to.active_element.send_keys("\ue00c")  # Escape


def _click(dash_duo, selector: str) -> None:
    el = dash_duo.find_element(selector)
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
    el.click()


@pytest.mark.browser
def test_build_a_dashboard_in_the_browser_and_see_it_public(dash_duo, dash_app, app_db):
    from tests.browser_helpers import app_errors, free_port, wait_until
    from tests.staff_helpers import PASSWORD

    person = make_person(app_db, "kaga")
    slug = new_slug()
    dash_duo.driver.set_window_size(1280, 1100)
    dash_duo.start_server(dash_app, port=free_port())
    dash_duo.driver.get(f"{dash_duo.server_url}/login?next=/staff/dashboards")
    dash_duo.wait_for_element("#login-email", timeout=10).send_keys(person.email)
    dash_duo.find_element("#login-password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    dash_duo.wait_for_element("#sdash-create", timeout=15)

    # create: title, slug → the editor opens
    dash_duo.find_element("#sdash-new-title").send_keys("加賀の積雪と避難所")
    dash_duo.find_element("#sdash-new-title-en").send_keys("Snow and shelters in Kaga")
    assert dash_duo.find_element("#sdash-new-slug").get_attribute("placeholder") == "snow-and-shelters-in-kaga"
    dash_duo.find_element("#sdash-new-slug").send_keys(slug)
    dash_duo.find_element("#sdash-create").click()
    dash_duo.wait_for_element("#dbe-heading", timeout=15)
    assert f"slug={slug}" in dash_duo.driver.current_url

    # a stat panel over one snow sensor, previewed
    _click(dash_duo, "#dbe-add")
    wait_until(lambda: dash_duo.find_element("#dbe-form").is_displayed(), what="panel form")
    _pick(dash_duo, "dbe-p-type", "数値")
    _pick(dash_duo, "dbe-p-sensors", "積雪", search="snow-kaga-01")
    dash_duo.find_element("#dbe-p-title").send_keys("錦城小の積雪深")
    _click(dash_duo, "#dbe-preview")
    value = dash_duo.wait_for_element("#dbe-preview-box .dash-stat-value", timeout=15)
    assert "cm" in value.text
    _click(dash_duo, "#dbe-apply")
    dash_duo.wait_for_contains_text("#dbe-panel-list", "錦城小の積雪深", timeout=10)

    # a bar panel: shelters counted per municipality
    _click(dash_duo, "#dbe-add")
    wait_until(lambda: dash_duo.find_element("#dbe-form").is_displayed(), what="panel form")
    _pick(dash_duo, "dbe-p-type", "棒グラフ")
    _pick(dash_duo, "dbe-p-kind", "レイヤの集計")
    wait_until(lambda: dash_duo.find_element("#dbe-g-layer").is_displayed(), what="layer field")
    _pick(dash_duo, "dbe-p-layer", "避難")
    _pick(dash_duo, "dbe-p-propgroup", "市町ごと")
    dash_duo.find_element("#dbe-p-title").send_keys("市町別の避難所")
    _click(dash_duo, "#dbe-preview")
    dash_duo.wait_for_element("#dbe-preview-box .js-plotly-plot", timeout=15)
    _click(dash_duo, "#dbe-apply")
    dash_duo.wait_for_contains_text("#dbe-panel-list", "市町別の避難所", timeout=10)
    rows = dash_duo.find_elements(".dbe-panel-row")
    assert len(rows) == 2 and len(dash_duo.find_elements("#dbe-sketch .dbe-sketch-box")) == 2

    # public, saved
    _click(dash_duo, "#dbe-visibility input[value=public]")
    _click(dash_duo, "#dbe-save")
    dash_duo.wait_for_contains_text("#dbe-save-result", "保存しました", timeout=15)
    with app_db.session() as s:
        saved = sd.by_slug(s, slug)
        assert saved.visibility == "public" and [p["type"] for p in saved.doc["panels"]] == ["stat", "bar"]
    shots = Path(__file__).resolve().parents[1] / "screenshots"
    if shots.is_dir():
        dash_duo.driver.save_screenshot(str(shots / "dashboard_editor.png"))

    # logged out: the public page shows both panels
    _click(dash_duo, "button.staff-logout-btn")
    dash_duo.wait_for_element("#login-email", timeout=10)
    dash_duo.driver.get(f"{dash_duo.server_url}/dashboards/{slug}")
    dash_duo.wait_for_element(".dash-panel-stat .dash-stat-value", timeout=15)
    dash_duo.wait_for_element(".dash-panel-bar .js-plotly-plot", timeout=15)
    titles = [e.text for e in dash_duo.find_elements(".dash-panel-title")]
    assert titles == ["錦城小の積雪深", "市町別の避難所"]
    assert not dash_duo.find_elements("#dashv-edit-link")
    assert not app_errors(dash_duo)


def test_callbacks_answer_any_input_without_a_server_error(dash_app, app_db, app_people):
    """Anyone can POST anything to /_dash-update-component: wrong types get an answer, never a 500."""
    kaga = login(dash_app.server.test_client(), app_people["kaga"].email)
    kaga.get("/")
    checked = 0
    for key, spec in dash_app.callback_map.items():
        if not ("dbe-" in key or "sdash-" in key) or "callback" not in spec:
            continue  # the pages' clientside callbacks run in the browser only
        for junk in ("HACKED", None, 5, ["x", 3], {"a": 1}, "", -1):
            def entries(items, junk=junk):
                out = []
                for i in items:
                    value = 1 if i["property"] == "n_clicks" else junk
                    if i["id"].startswith("{"):
                        cid = {k: (0 if v == ["ALL"] else v) for k, v in json.loads(i["id"]).items()}
                        cid.update({k: v for k, v in (("slug", "hakui-snow"), ("v", 1)) if k in cid})
                        out.append([{"id": cid, "property": i["property"], "value": value}])
                    else:
                        out.append({"id": i["id"], "property": i["property"], "value": value})
                return out
            inputs = entries(spec["inputs"])
            first = spec["inputs"][0]
            changed = (json.dumps(inputs[0][0]["id"], sort_keys=True, separators=(",", ":"))
                       if first["id"].startswith("{") else first["id"]) + "." + first["property"]
            resp = kaga.post("/_dash-update-component", json={
                "output": key, "outputs": _outputs(key), "inputs": inputs, "state": entries(spec.get("state", [])),
                "changedPropIds": [changed]})
            assert resp.status_code < 500, (key, junk, resp.get_data(as_text=True)[-300:])
            checked += 1
    assert checked >= 15 * 7
