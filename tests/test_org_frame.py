"""Staff of an organisation with a municipal boundary see their own area first: `/` (when the link
names no position) and the staff map pickers are framed on it; others see the whole prefecture."""
from __future__ import annotations

import orjson

from components.map_state import DEFAULT_CENTER, DEFAULT_ZOOM
from store.users import ADMIN, EDITOR, VIEWER
from tests.staff_helpers import find_props, login, make_person, pages_router, upload


def _page(client, path: str, search: str = "?lang=ja") -> dict:
    return orjson.loads(pages_router(client, path, search).get_data())["response"]["_pages_content"]["children"]


def _map(tree, map_id: str) -> dict:
    props = find_props(tree, map_id)
    assert props is not None, f"no {map_id}"
    return props


def _in_kaga(props) -> bool:
    lat, lon = props["center"]
    return 36.15 < lat < 36.45 and 136.2 < lon < 136.55 and props["zoom"] > DEFAULT_ZOOM


def test_city_staff_see_their_city_first(dash_app, app_db, client):
    editor = make_person(app_db, "kaga", EDITOR)
    session = login(dash_app.server.test_client(), editor.email)
    assert _in_kaga(_map(_page(session, "/"), "home-map"))
    assert _in_kaga(_map(_page(session, "/staff/upload"), "staff-upload-map"))
    layer = upload(client, editor, data="名称,緯度,経度\nA,36.30,136.31\n".encode(), filename="k.csv").json["id"]
    assert _in_kaga(_map(_page(session, "/staff/layers", f"?lang=ja&layer={layer}"), "staff-layers-map"))
    # a viewer of the same city too
    viewer = login(dash_app.server.test_client(), make_person(app_db, "kaga", VIEWER).email)
    assert _in_kaga(_map(_page(viewer, "/"), "home-map"))
    # a position in the link wins
    shared = _map(_page(session, "/", "?lat=37.30000&lon=136.90000&z=11&lang=ja"), "home-map")
    assert shared["center"] == [37.3, 136.9] and shared["zoom"] == 11


def test_prefecture_and_anonymous_see_the_whole_prefecture(dash_app, app_db):
    anonymous = dash_app.server.test_client()
    props = _map(_page(anonymous, "/"), "home-map")
    assert props["center"] == list(DEFAULT_CENTER) and props["zoom"] == DEFAULT_ZOOM
    admin = login(dash_app.server.test_client(), make_person(app_db, "ishikawa", ADMIN).email)
    props = _map(_page(admin, "/"), "home-map")
    assert props["center"] == list(DEFAULT_CENTER) and props["zoom"] == DEFAULT_ZOOM
