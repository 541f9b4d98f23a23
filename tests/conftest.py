"""Shared fixtures. The suite runs on SQLite always, and on PostgreSQL too when TEST_DATABASE_URL is set."""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("DASH_TEST_CHROMEPATH", shutil.which("chromium") or "/usr/bin/chromium")

from plugins import register_all  # noqa: E402
from settings import Settings  # noqa: E402
from store.db import Database  # noqa: E402
from store.schema import create_all  # noqa: E402

register_all()  # the suite composes the app as create_app and the worker do (tests use kinds and jobs directly)

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def _pg_url_with_schema(base_url: str, schema: str) -> str:
    sep = "&" if "?" in base_url else "?"
    return f"{base_url}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A fresh, empty database per test: a SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    import sqlalchemy as sa

    from store.db import normalize_url

    base = os.environ["TEST_DATABASE_URL"]
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(normalize_url(base))
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield _pg_url_with_schema(base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def db(db_url):
    database = Database(db_url)
    create_all(database)
    yield database
    database.dispose()


def make_settings(tmp: Path, url: str, **over) -> Settings:
    env = {"DATABASE_URL": url, "INSTANCE_PATH": str(tmp), "SECRET_KEY": "test-secret"}
    return Settings.from_env(env, **over)


@pytest.fixture(scope="session")
def dash_app(tmp_path_factory):
    """The one Dash app of the test session (Dash callbacks attach to the first app built)."""
    from app import create_app

    tmp = tmp_path_factory.mktemp("app")
    settings = make_settings(tmp, f"sqlite:///{tmp / 'app.sqlite3'}")
    app = create_app(settings)
    from sources import demo_snow
    from store.db import utcnow

    demo_snow.tick(app.server.extensions["ishikawa.db"], settings.data_path, utcnow())
    return app


@pytest.fixture
def client(dash_app):
    return dash_app.server.test_client()


@pytest.fixture
def app_db(dash_app) -> Database:
    return dash_app.server.extensions["ishikawa.db"]


@pytest.fixture
def loopback_sources(request, monkeypatch):
    """Staff-registered sources may be fetched from 127.0.0.1 (the fake brokers and CKAN sites of
    the tests), as an operator allows an internal broker: `SOURCE_HOSTS=127.0.0.1`, in the
    environment and, when the test uses the shared app, in its settings. By default the server
    refuses loopback and private addresses (sources/url_guard.py)."""
    import dataclasses

    monkeypatch.setenv("SOURCE_HOSTS", "127.0.0.1")
    if "dash_app" in request.fixturenames:
        ext = request.getfixturevalue("dash_app").server.extensions
        monkeypatch.setitem(ext, "ishikawa.settings",
                            dataclasses.replace(ext["ishikawa.settings"], source_hosts="127.0.0.1"))




@pytest.fixture
def people(db) -> dict:
    """Staff in a fresh store (`db`), keyed by organisation code: editors of 加賀市 ("kaga") and
    羽咋市 ("hakui"), and a prefecture admin ("ishikawa"), as `store.users.Staff`; each logs in as
    `<code>@example.jp` with `tests.staff_helpers.PEOPLE_PASSWORD`. (Tests of the shared app make theirs with
    `tests.staff_helpers.make_people`, which also gives API tokens.)"""
    from layers.builtin import ORGANISATIONS
    from store.layers import ensure_organisation
    from store.users import ADMIN, EDITOR, create_user, staff_of
    from tests.staff_helpers import PEOPLE_PASSWORD

    with db.session() as s:
        for code, ja, en in ORGANISATIONS:
            ensure_organisation(s, code, ja, en)
        out = {}
        for org, role in (("kaga", EDITOR), ("hakui", EDITOR), ("ishikawa", ADMIN)):
            user = create_user(s, f"{org}@example.jp", PEOPLE_PASSWORD, org, role)
            out[org] = staff_of(s, user)
    return out


@pytest.fixture
def alerts_world(db):
    """Alert rules in a fresh store (`db`) at a moment the test controls: `(db, cfg, clock, staff)` —
    an `AlertConfig` whose clock is a `tests.alert_helpers.Clock` at `T0` (12:00 JST), its evaluation
    hooks installed on `db`, and staff of 加賀市 ("kaga"), 羽咋市 ("hakui") and a prefecture admin
    ("admin") as `store.users.Staff`. Each test file adds its own layers, sensors or devices."""
    from alerts.config import AlertConfig
    from alerts.hooks import install
    from store.layers import ensure_organisation
    from store.users import ADMIN, create_user, staff_of
    from tests.alert_helpers import Clock

    clock = Clock()
    cfg = AlertConfig(base_url="http://map.example", mail_from="alerts@ishikawa.example", secret_key="k", clock=clock)
    install(db, cfg)
    with db.session() as s:
        for code, ja, en in (("ishikawa", "石川県", "Ishikawa"), ("kaga", "加賀市", "Kaga"),
                             ("hakui", "羽咋市", "Hakui")):
            ensure_organisation(s, code, ja, en)
        users = {"kaga": create_user(s, "k@kaga.example.jp", "password123", "kaga"),
                 "hakui": create_user(s, "h@hakui.example.jp", "password123", "hakui"),
                 "admin": create_user(s, "a@pref.example.jp", "password123", "ishikawa", ADMIN)}
        s.flush()
        staff = {k: staff_of(s, u) for k, u in users.items()}
    return db, cfg, clock, staff


@pytest.fixture
def source(app_db, request):
    """A staff-registered broker source in the shared app that receives Orion notifications (`POST
    /ngsi/notify/<id>`): `(source id, notify secret)`. Its layers are named `<prefix>-…`, the prefix
    being the test file's `SOURCE_PREFIX` (so files never share layers); after the test the source,
    its layers and their sensors are deleted."""
    from store.brokers import Source
    from store.models import Layer, Sensor

    prefix = request.module.SOURCE_PREFIX
    with app_db.session() as s:
        src = Source(name=f"{prefix} push", base_url="http://127.0.0.1:1", layer_prefix=prefix, target="auto")
        s.add(src)
        s.flush()
        sid, secret = src.id, src.notify_secret
    yield sid, secret
    with app_db.session() as s:
        for layer in s.query(Layer).filter(Layer.id.like(f"{prefix}-%")):
            s.query(Sensor).filter(Sensor.layer_id == layer.id).delete()
            s.delete(layer)
        s.flush()
        s.delete(s.get(Source, sid))


@pytest.fixture
def private_layer(app_db):
    """A private AED layer of the shared app with one item (id "x", name 秘密): its id. Nobody but its
    organisation's staff may learn of it; deleted after the test."""
    from store.features import replace_features
    from store.layers import upsert_layer
    from store.models import PRIVATE, Layer

    with app_db.session() as s:
        layer = upsert_layer(s, "private-test", kind="aed", name_ja="非公開テスト", name_en="Private",
                             group="iryou", visibility=PRIVATE, options={})
        replace_features(s, layer, [{"type": "Feature", "id": "x", "properties": {"name": "秘密"},
                                     "geometry": {"type": "Point", "coordinates": [136.6, 36.5]}}])
    yield "private-test"
    with app_db.session() as s:
        s.delete(s.get(Layer, "private-test"))


@pytest.fixture
def cleanup(app_db, request):
    """Deletes, after the test, the sources it registered in the shared app — those whose name starts
    with the test file's `SOURCE_NAME` — and the layers they made."""
    from store.brokers import Source
    from store.models import Layer

    yield
    with app_db.session() as s:
        for src in s.query(Source).filter(Source.name.like(f"{request.module.SOURCE_NAME}%")):
            for layer in s.query(Layer).all():
                if (layer.options or {}).get("source_id") == src.id:
                    s.delete(layer)
            s.delete(src)


@pytest.fixture
def orion():
    """A fake FIWARE Orion broker (NGSI v2, `tests.fake_orion`) on a loopback port; set its
    `entities`, read its `requests`; stopped after the test."""
    from tests.fake_orion import FakeOrion

    server = FakeOrion().start()
    yield server
    server.stop()


@pytest.fixture
def kaga(app_db):
    """An editor of 加賀市 in the shared app (`app_db`), with an API token: a
    `tests.staff_helpers.Person` (`.email`, `.token`, `.auth` headers); a new person for each test."""
    from tests.staff_helpers import make_person

    return make_person(app_db, "kaga")


@pytest.fixture
def hakui(app_db):
    """An editor of 羽咋市 in the shared app, like `kaga`: the other organisation, who must see
    nothing private of 加賀市."""
    from tests.staff_helpers import make_person

    return make_person(app_db, "hakui")


@pytest.fixture
def admin(app_db):
    """A prefecture admin (石川県, "ishikawa") in the shared app, like `kaga`."""
    from store.users import ADMIN
    from tests.staff_helpers import make_person

    return make_person(app_db, "ishikawa", ADMIN)


@pytest.fixture
def app_people(kaga, hakui, admin) -> dict:
    """The three people of `kaga`, `hakui` and `admin` keyed "kaga", "hakui", "admin": staff of the
    shared app with API tokens (`people` is their counterpart in a fresh store)."""
    return {"kaga": kaga, "hakui": hakui, "admin": admin}


@pytest.fixture(scope="module")
def who(dash_app) -> dict:
    """Staff of the shared app with API tokens, made once per test file: "kaga", "hakui" (editors),
    "admin" (prefecture admin), "kaga_admin" and "hakui_admin" (their organisations' managers), as
    `tests.staff_helpers.Person`."""
    from tests.staff_helpers import make_org_admin, make_people

    db = dash_app.server.extensions["ishikawa.db"]
    people = make_people(db)
    people["kaga_admin"] = make_org_admin(db, "kaga")
    people["hakui_admin"] = make_org_admin(db, "hakui")
    return people
