"""Every URL parameter of every page is clamped or ignored, never a 500: each registered page is
laid out (the pages callback, as the browser asks for it) with every query parameter any page reads
set to numbers no float holds, huge integers, non-numbers and overlong text — for anonymous
visitors, an editor and a prefecture admin."""
from __future__ import annotations

from urllib.parse import urlencode

import dash
import pytest

from tests.staff_helpers import login, make_person, pages_router

PARAMS = ("z", "lat", "lon", "base", "layers", "op", "lang", "from", "to", "refresh", "var-area", "sensors",
          "sensor", "attr", "range", "start", "end", "agg", "rule", "slug", "add_sensor", "type", "layer",
          "month", "code", "days", "kind", "page", "limit", "offset", "q")
BAD = ("inf", "-1e309", "nan", "9" * 40, "-1", "abc", "x" * 3000, "<script>'\"", "aed:1e309,shelters:inf")
PATHS = {"/dashboards/<slug>": ["/dashboards/shelters-aed", "/dashboards/" + "9" * 40],
         "/embed/dashboards/<slug>": ["/embed/dashboards/shelters-aed"],
         "/o/<code>": ["/o/kaga", "/o/inf"]}


def _paths() -> list[str]:
    out = []
    for page in dash.page_registry.values():
        template = page.get("path_template") or page["path"]
        out += PATHS.get(template, [template] if "<" not in template else [])
    return sorted(set(out))


@pytest.mark.parametrize("who", ["anonymous", "editor", "admin"])
def test_every_page_survives_every_bad_parameter(dash_app, app_db, who):
    from store.users import ADMIN, EDITOR

    client = dash_app.server.test_client()
    if who != "anonymous":
        person = make_person(app_db, "kaga" if who == "editor" else "ishikawa", EDITOR if who == "editor" else ADMIN)
        login(client, person.email)
    paths = _paths()
    assert "/" in paths and "/sensors" in paths and "/dashboards/shelters-aed" in paths and len(paths) > 20
    failed = []
    for path in paths:
        for value in BAD:
            r = pages_router(client, path, "?" + urlencode({p: value for p in PARAMS}), check=False)
            if r.status_code != 200:
                failed.append((path, value[:20], r.status_code))
    assert not failed, failed
