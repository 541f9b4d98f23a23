"""Users, tokens and uploads for the staff tests."""
from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from store.users import ADMIN, EDITOR, ORG_ADMIN, create_token, create_user

PASSWORD = "correct horse battery"  # make_person
PEOPLE_PASSWORD = "long enough password"  # the `people` fixture of conftest.py
FIX = Path(__file__).parent / "fixtures" / "uploads"
CP932_CSV = FIX / "ishikawa_noto_doctorheli_rendezvous_cp932.csv"
BOM_CSV = FIX / "ishikawa_noto_doctorheli_rendezvous_utf8bom.csv"
KML = FIX / "ishikawa_noto_doctorheli_rendezvous.kml"
GEOJSON = FIX / "hakui_doctorheli_rendezvous.geojson"


@dataclass
class Person:
    email: str
    token: str
    org: str
    role: str

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


def make_person(db, org: str, role: str = EDITOR) -> Person:
    email = f"{org}-{role}-{uuid.uuid4().hex[:8]}@example.jp"
    with db.session() as s:
        user = create_user(s, email, PASSWORD, org, role)
        token = create_token(s, user)
    return Person(email, token, org, role)


def make_org_admin(db, org: str) -> Person:
    """An organisation's manager (role org_admin), with an API token."""
    email = f"{org}-orgadmin-{uuid.uuid4().hex[:8]}@example.jp"
    with db.session() as s:
        user = create_user(s, email, PASSWORD, org, EDITOR)
        user.role = ORG_ADMIN
        token = create_token(s, user)
    return Person(email, token, org, ORG_ADMIN)


def make_people(db) -> dict[str, Person]:
    return {"kaga": make_person(db, "kaga"), "hakui": make_person(db, "hakui"),
            "admin": make_person(db, "ishikawa", ADMIN)}


def upload(client, person: Person | None, path: Path | None = None, data: bytes | None = None,
           filename: str | None = None, **form):
    body = data if data is not None else path.read_bytes()
    fields = {"name": "テストレイヤ", "visibility": "public", "group": "bousai", **form}
    fields["file"] = (io.BytesIO(body), filename or (path.name if path else "upload.bin"))
    headers = person.auth if person else {}
    return client.post("/api/layers", data=fields, headers=headers, content_type="multipart/form-data")


def login(client, email: str, password: str = PASSWORD):
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    resp = client.post("/login", data={"email": email, "password": password, "csrf": csrf})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return client


def pages_router(client, path: str, search: str = "?lang=ja", check: bool = True):
    """Dash's pages router's answer for the page at `path` + `search`, asked as the browser asks it
    (POST /_dash-update-component); the response, checked to be 200 unless `check` is False."""
    resp = client.post("/_dash-update-component", json={
        "output": ".._pages_content.children..._pages_store.data..",
        "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
        "inputs": [{"id": "_pages_location", "property": "pathname", "value": path},
                   {"id": "_pages_location", "property": "search", "value": search}],
        "state": [], "changedPropIds": ["_pages_location.pathname"]})
    assert not check or resp.status_code == 200, (path, resp.get_data(as_text=True)[:300])
    return resp


def find_props(tree, wanted: str) -> dict | None:
    """The props of the component with id `wanted` in a layout as JSON (None when it is not there)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            props = node.get("props") or {}
            if props.get("id") == wanted:
                return props
            stack.append(props.get("children"))
    return None
