"""The index page before the scripts run: `<html lang>` in the page's language, the static first view
of the map pages (their title, the language link, a loading line), and AG Grid's main bundle only
on pages that may show a grid."""
from __future__ import annotations

import re

import pytest

from i18n import t
from tests.staff_helpers import find_props, pages_router


def _entry(page: str) -> str:
    match = re.search(r'<div id="react-entry-point">(.*?)</div>\s*<footer>', page, re.S)
    assert match, "no entry point"
    return match.group(1)


@pytest.mark.parametrize("path,key", [("/", "app.title"), ("/snow", "snow.title")])
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_map_pages_paint_their_title_before_the_scripts(client, path, key, lang):
    page = client.get(f"{path}?lang={lang}").get_data(as_text=True)
    assert f'<html lang="{lang}">' in page
    entry = _entry(page)
    assert '<h1 class="app-title">' in entry and t(key, lang) in entry
    assert 'role="status"' in entry and t("app.loading", lang) in entry
    other = "en" if lang == "ja" else "ja"
    assert f'href="{path}?lang={other}"' in entry and t("lang.switch", lang) in entry
    # the other language's words are not there
    assert t(key, other) not in entry


def test_the_language_link_keeps_the_rest_of_the_query(client):
    entry = _entry(client.get("/?lat=36.5&lon=136.6&z=12").get_data(as_text=True))
    assert 'href="/?lat=36.5&amp;lon=136.6&amp;z=12&amp;lang=en"' in entry


def test_the_first_view_escapes_what_the_query_brings(client):
    entry = _entry(client.get('/?x="><script>alert(1)</script>').get_data(as_text=True))
    assert "<script>" not in entry


def test_other_pages_say_loading_in_their_language(client):
    page = client.get("/sensors?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in page
    entry = _entry(page)
    assert t("app.loading", "en") in entry and "<h1" not in entry


def _has_grid_bundle(page: str) -> bool:
    return re.search(r'/_dash-component-suites/dash_ag_grid/dash_ag_grid[^"]*\.js"', page) is not None


@pytest.mark.parametrize("path", ["/", "/snow"])
def test_pages_without_grids_leave_ag_grid_out(client, path):
    page = client.get(path).get_data(as_text=True)
    assert not _has_grid_bundle(page)
    assert "dash_leaflet" in page  # the other bundles are still there


@pytest.mark.parametrize("path", ["/sensors", "/staff/layers", "/staff/upload", "/staff/explore", "/staff/audit",
                                  "/staff/usage", "/dashboards/hakui-snow", "/catalog"])
def test_other_pages_load_ag_grid(client, path):
    assert _has_grid_bundle(client.get(path).get_data(as_text=True))


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_snow_paints_its_demo_notice_and_back_link_first(client, lang):
    entry = _entry(client.get(f"/snow?lang={lang}").get_data(as_text=True))
    assert f'<p class="snow-demo">{t("snow.demo", lang)}</p>' in entry
    assert f'href="/?lang={lang}"' in entry and t("app.short", lang) in entry


# --- the first layout carries the page it was asked from (components/shell.py routed_page_container) ---

def _first_layout(client, referer: str | None) -> dict:
    headers = {"Referer": referer} if referer else {}
    resp = client.get("/_dash-layout", headers=headers)
    assert resp.status_code == 200
    return resp.get_json()


def _router(client, path: str, search: str):
    """What Dash's pages router answers for the same page (the way it was built before)."""
    return pages_router(client, path, search).get_json()["response"]


@pytest.mark.parametrize("path,search", [("/", ""), ("/", "?lang=en"), ("/", "?lat=36.5&lon=136.6&z=12&layers=aed"),
                                         ("/", "?lang=ja&x=%22%3E%3Cscript%3E")])
def test_the_first_layout_holds_the_same_page_as_the_router(client, path, search):
    layout = _first_layout(client, f"http://localhost{path}{search}")
    location = find_props(layout, "_pages_location")
    assert location["pathname"] == path and location["search"] == search and location["hash"] == ""
    routed = _router(client, path, search)
    assert find_props(layout, "_pages_content")["children"] == routed["_pages_content"]["children"]
    assert find_props(layout, "_pages_store")["data"] == routed["_pages_store"]["data"]


def test_the_first_layout_of_snow_is_the_snow_page_in_the_pages_language(client):
    layout = _first_layout(client, "http://localhost/snow?lang=en")
    assert find_props(layout, "snow-map") is not None and find_props(layout, "snow-lang")["data"] == "en"
    assert find_props(layout, "_pages_store")["data"]["title"].startswith(t("snow.title", "en"))


@pytest.mark.parametrize("referer", [None, "", "https://elsewhere.example/snow", "not a url",
                                     # other pages than the public maps: as before
                                     "http://localhost/catalog", "http://localhost/staff/layers?lang=en",
                                     "http://localhost/no-such-page"])
def test_without_a_same_origin_referer_the_router_builds_the_page(client, referer):
    layout = _first_layout(client, referer)
    assert not find_props(layout, "_pages_content").get("children")
    assert find_props(layout, "_pages_location").get("pathname") is None  # the router starts as before


def test_a_page_that_fails_to_build_leaves_it_to_the_router(client, monkeypatch, caplog):
    from dash import _pages

    page = next(p for p in _pages.PAGE_REGISTRY.values() if p["path"] == "/")

    def broken(**_kw):
        raise RuntimeError("broken page")

    monkeypatch.setitem(page, "layout", broken)
    layout = _first_layout(client, "http://localhost/?lang=en")
    assert not find_props(layout, "_pages_content").get("children")
    assert "broken page" in caplog.text


def test_the_first_layout_keeps_private_layers_private(client, private_layer):
    import json

    for path in ("/", "/?lang=en&layers=private-test", "/snow"):
        content = find_props(_first_layout(client, f"http://localhost{path}"), "_pages_content")["children"]
        body = json.dumps(content, ensure_ascii=False)
        assert content and "非公開テスト" not in body and "Private" not in body and "秘密" not in body
        # the id shows only where the link named it: in the notice that it cannot be shown
        assert private_layer not in body.replace("(private-test)", "")


def test_the_first_layout_shows_a_citys_private_layer_to_its_staff_only(dash_app, app_db):
    """A 加賀市 private layer: in the first layout of / for 加賀市's staff, not for 羽咋市's staff or
    anonymous visitors — the same rule as the pages router."""
    import json
    import uuid

    from store.users import EDITOR
    from tests.staff_helpers import login, make_person, upload

    kaga = make_person(app_db, "kaga", EDITOR)
    name = "加賀の非公開" + uuid.uuid4().hex[:6]
    layer = upload(dash_app.server.test_client(), kaga, data="名称,緯度,経度\nA,36.30,136.31\n".encode(),
                   filename="k.csv", name=name, visibility="private").json["id"]
    hakui = login(dash_app.server.test_client(), make_person(app_db, "hakui", EDITOR).email)
    own = login(dash_app.server.test_client(), kaga.email)
    for client, sees in ((own, True), (hakui, False), (dash_app.server.test_client(), False)):
        for search in ("", f"?layers={layer}"):
            content = find_props(_first_layout(client, f"http://localhost/{search}"), "_pages_content")["children"]
            assert content == _router(client, "/", search)["_pages_content"]["children"]
            assert (name in json.dumps(content, ensure_ascii=False)) is sees, (search, sees)


@pytest.mark.parametrize("path", ["/", "/snow", "/sensors", "/staff/layers"])
def test_pages_load_no_dash_table_bundle(client, path):
    scripts = re.findall(r'<script src="([^"]+)"', client.get(path).get_data(as_text=True))
    assert any("dash_core_components" in src for src in scripts)
    assert not [src for src in scripts if "dash_table" in src]


def test_no_page_draws_a_dash_table():
    """dash_table's scripts are left out of every page (components/shell.py lean_dash_scripts): a
    DataTable would not draw. Tables are HTML or AG Grid."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    users = [str(p.relative_to(root)) for folder in ("pages", "components", "dashboards", "layers", "api")
             for p in (root / folder).rglob("*.py")
             if p.name != "shell.py" and re.search(r"\bdash_table\b|DataTable\(", p.read_text(encoding="utf-8"))]
    assert users == []
