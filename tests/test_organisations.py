"""Organisations as data: adding one (service and CLI), invites by e-mail (one use, expiring), the
roles org_admin and viewer in account management, deactivation (log-ins, tokens, unpublishing),
the export archive and the city portal /o/<code>."""
from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import timedelta

import pytest

from auth.accounts import AccountError, add_user, change_user, users
from auth.organisations import (
    MailConfig,
    accept_invite,
    add_organisation,
    invite,
    invite_facts,
    set_organisation_active,
)
from refusal import Refused
from store import organisations as so
from store.alerts import OutboxMail
from store.db import utcnow
from store.models import PRIVATE, PUBLIC, Layer, Organisation
from store.schema import create_all
from store.users import (
    ADMIN,
    EDITOR,
    ORG_ADMIN,
    VIEWER,
    create_token,
    create_user,
    get_user_by_email,
    may_log_in,
    staff_of,
    user_for_token,
)
from tests.staff_helpers import PASSWORD, login, make_person, pages_router, upload

MAIL = MailConfig("map@example.jp", "http://map.example.jp")


def _code() -> str:
    return "t" + uuid.uuid4().hex[:8]


def _staff(db, email):
    with db.session() as s:
        return staff_of(s, get_user_by_email(s, email))


def test_seed_organisations_have_their_boundaries(db, people):
    with db.session() as s:
        got = {o.code: (o.boundary, o.active) for o in so.all_organisations(s)}
    assert got["kaga"] == ("加賀市", True) and got["hakui"] == ("羽咋市", True) and got["nomi"] == ("能美市", True)
    assert got["ishikawa"] == ("", True)
    assert len(so.boundary_names()) == 19 and "七尾市" in so.boundary_names()
    minx, miny, maxx, maxy = so.boundary_bbox("七尾市")
    assert 136.7 < minx < maxx < 137.2 and 36.9 < miny < maxy < 37.3


def test_admin_adds_an_organisation_and_mistakes_are_named(db, people):
    admin = people["ishikawa"]
    assert add_organisation(db, admin, "nanao", "七尾市", "Nanao City", "七尾市") == "nanao"
    with db.session() as s:
        org = so.get_by_code(s, "nanao")
        assert (org.name_ja, org.name_en, org.boundary, org.active) == ("七尾市", "Nanao City", "七尾市", True)
    for args, field in ((("nanao", "別の市"), "code"), (("Bad Code", "x"), "code"), (("x", "x"), "code"),
                        (("wajima", ""), "name_ja"), (("wajima", "七尾市"), "name_ja"),
                        (("wajima", "輪島市", "", "東京都"), "boundary")):
        with pytest.raises(Refused) as exc:
            add_organisation(db, admin, *args)
        assert exc.value.status == 400 and exc.value.details[0]["field"] == field, args
    for who in (people["kaga"], None):  # editors and anonymous: no
        with pytest.raises(Refused) as exc:
            add_organisation(db, who, "wajima", "輪島市")
        assert exc.value.status in (401, 403)


def test_invite_is_mailed_used_once_and_expires(db, people):
    admin = people["ishikawa"]
    add_organisation(db, admin, "nanao", "七尾市", "Nanao City", "七尾市")
    url = invite(db, admin, "nanao", "Boss@Nanao.example.jp", MAIL)
    token = url.split("/invite/")[1].split("?")[0]
    with db.session() as s:
        mail = s.query(OutboxMail).filter_by(to_addr="boss@nanao.example.jp").one()
        assert mail.kind == "invite" and mail.organisation_id is None and url in mail.body_text
        assert "七尾市" in mail.subject and url in mail.body_html
        stored = s.query(so.Invite).one()
        assert token not in (stored.token_hash, stored.email)  # only its hash is kept
    assert invite_facts(db, token)["email"] == "boss@nanao.example.jp"
    with pytest.raises(Refused):
        accept_invite(db, token, "short", "short")
    with pytest.raises(Refused):
        accept_invite(db, token, PASSWORD, PASSWORD + "x")
    staff = accept_invite(db, token, PASSWORD, PASSWORD)
    assert (staff.email, staff.organisation_code, staff.role) == ("boss@nanao.example.jp", "nanao", ORG_ADMIN)
    with pytest.raises(Refused) as exc:  # one use
        accept_invite(db, token, PASSWORD, PASSWORD)
    assert exc.value.message_key == "orgs.invite.invalid"
    assert invite_facts(db, token) is None and invite_facts(db, "imi_nonsense") is None
    # an expired link
    with db.session() as s:
        org = so.get_by_code(s, "nanao")
        old = so.create_invite(s, org, "late@nanao.example.jp", EDITOR, now=utcnow() - timedelta(days=8))
    assert invite_facts(db, old) is None
    with pytest.raises(Refused):
        accept_invite(db, old, PASSWORD, PASSWORD)


def test_who_may_invite_whom(db, people):
    admin, kaga = people["ishikawa"], people["kaga"]
    with pytest.raises(Refused) as exc:  # an editor invites nobody
        invite(db, kaga, "kaga", "new@kaga.example.jp", MAIL, EDITOR)
    assert exc.value.status == 403
    with db.session() as s:
        boss = create_user(s, "boss@kaga.example.jp", PASSWORD, "kaga", ORG_ADMIN)
        boss = staff_of(s, boss)
    invite(db, boss, "kaga", "new@kaga.example.jp", MAIL, EDITOR)  # own organisation: yes
    for org, role in (("hakui", EDITOR), ("kaga", ADMIN)):  # another organisation, or a prefecture admin: no
        with pytest.raises(Refused):
            invite(db, boss, org, "x@example.jp", MAIL, role)
    with pytest.raises(Refused):  # an existing account
        invite(db, admin, "kaga", "kaga@example.jp", MAIL)
    with pytest.raises(Refused):
        invite(db, admin, "nowhere", "x@example.jp", MAIL)


def test_invite_mail_reaches_an_smtp_server(db, people):
    from alerts.sender import send_due
    from tests.smtp_helpers import SmtpSink

    sink = SmtpSink().start()
    try:
        url = invite(db, people["ishikawa"], "hakui", "chief@hakui.example.jp", MAIL, lang="en")
        assert send_due(db, sink.url, MAIL.mail_from)["sent"] == 1
    finally:
        sink.stop()
    msg = sink.messages[0]
    assert msg["To"] == "chief@hakui.example.jp" and "Hakui City" in msg["Subject"]
    assert url in msg.get_body(("plain",)).get_content()


def test_org_admin_manages_only_their_own_organisation(db, people):
    with db.session() as s:
        boss = staff_of(s, create_user(s, "boss@kaga.example.jp", PASSWORD, "kaga", ORG_ADMIN))
        hakui_id = get_user_by_email(s, "hakui@example.jp").id
        admin_id = get_user_by_email(s, "ishikawa@example.jp").id
    add_user(db, boss, "ed@kaga.example.jp", "kaga", EDITOR, PASSWORD)
    add_user(db, boss, "look@kaga.example.jp", "kaga", VIEWER, PASSWORD)
    assert {u["email"] for u in users(db, boss)} == {"boss@kaga.example.jp", "ed@kaga.example.jp",
                                                     "look@kaga.example.jp", "kaga@example.jp"}
    with pytest.raises(AccountError):
        add_user(db, boss, "x@hakui.example.jp", "hakui", EDITOR, PASSWORD)
    with pytest.raises(AccountError):
        add_user(db, boss, "x@kaga.example.jp", "kaga", ADMIN, PASSWORD)
    for change in ({"active": False}, {"role": VIEWER}, {"password": "another password"}):
        for uid in (hakui_id, admin_id):
            with pytest.raises(AccountError):
                change_user(db, boss, uid, **change)
    with pytest.raises(AccountError):  # not themself
        change_user(db, boss, boss.id, role=EDITOR)
    ed = _staff(db, "ed@kaga.example.jp")
    change_user(db, boss, ed.id, role=VIEWER)
    with pytest.raises(AccountError):  # nor move someone to another organisation
        change_user(db, boss, ed.id, org_code="hakui")
    assert _staff(db, "ed@kaga.example.jp").role == VIEWER
    for who in (people["kaga"], _staff(db, "look@kaga.example.jp")):  # editors and viewers: nobody else
        with pytest.raises(AccountError):
            users(db, who)
        with pytest.raises(AccountError):
            add_user(db, who, "y@kaga.example.jp", "kaga", VIEWER, PASSWORD)


def test_deactivation_locks_out_and_optionally_unpublishes(db, people):
    from store.layers import upsert_layer

    admin = people["ishikawa"]
    with db.session() as s:
        org = so.get_by_code(s, "hakui")
        upsert_layer(s, "hakui-open", kind="uploaded", name_ja="公開", group="bousai", organisation_id=org.id,
                     visibility=PUBLIC)
        user = get_user_by_email(s, "hakui@example.jp")
        token = create_token(s, user)
    changed = set_organisation_active(db, admin, "hakui", False, unpublish=False)
    with db.session() as s:
        assert not may_log_in(s, get_user_by_email(s, "hakui@example.jp"))
        assert user_for_token(s, token) is None
        assert s.get(Layer, "hakui-open").visibility == PUBLIC and changed["layers"] == 0
    set_organisation_active(db, admin, "hakui", True)
    with db.session() as s:
        assert may_log_in(s, get_user_by_email(s, "hakui@example.jp")) and user_for_token(s, token) is not None
    changed = set_organisation_active(db, admin, "hakui", False, unpublish=True)
    with db.session() as s:
        assert s.get(Layer, "hakui-open").visibility == PRIVATE and changed["layers"] == 1
        assert s.get(Organisation, s.get(Layer, "hakui-open").organisation_id).active is False
    with pytest.raises(Refused):  # an invite into a deactivated organisation
        invite(db, admin, "hakui", "new@hakui.example.jp", MAIL)
    with pytest.raises(Refused):  # never one's own organisation
        set_organisation_active(db, admin, "ishikawa", False)
    with pytest.raises(Refused):
        set_organisation_active(db, people["kaga"], "hakui", True)


def test_create_organisation_cli(dash_app):
    runner = dash_app.server.test_cli_runner()
    code = _code()
    result = runner.invoke(args=["create-organisation", code, "--name", f"テスト町{code}", "--name-en", "Test Town",
                                 "--boundary", "志賀町"])
    assert result.exit_code == 0, result.output
    assert f"created organisation {code}" in result.output
    with dash_app.server.extensions["ishikawa.db"].session() as s:
        org = so.get_by_code(s, code)
        assert (org.name_en, org.boundary) == ("Test Town", "羽咋郡志賀町")
    bad = runner.invoke(args=["create-organisation", _code(), "--name", "x" + _code(), "--boundary", "東京都"])
    assert bad.exit_code != 0 and "七尾市" in bad.output  # names the 19 outlines


def test_export_archive_holds_every_layer_rule_source_and_dashboard(client, app_db):
    boss = make_person(app_db, "nomi", ORG_ADMIN)
    editor = make_person(app_db, "nomi", EDITOR)
    csv = "名称,緯度,経度\n能美A,36.45,136.5\n能美B,36.46,136.51\n".encode()
    layer_id = upload(client, editor, data=csv, filename="n.csv", visibility="private").json["id"]
    rule = client.post("/api/alert-rules", headers=editor.auth, json={
        "name": "能美 export", "layer_id": layer_id, "attribute": "snowDepth", "op": ">", "threshold": 1,
        "recipients": ["duty@nomi.example.jp"]})
    assert rule.status_code == 201, rule.json
    resp = client.get("/api/organisations/nomi/export.zip", headers=boss.auth)
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(resp.data))
    names = set(zf.namelist())
    assert {f"layers/{layer_id}.geojson", f"layers/{layer_id}.csv", "rules.json", "sources.json",
            "dashboards.json", "organisation.json"} <= names
    fc = json.loads(zf.read(f"layers/{layer_id}.geojson"))
    assert len(fc["features"]) == 2
    assert "能美A" in zf.read(f"layers/{layer_id}.csv").decode("utf-8-sig")
    assert any(r["name"] == "能美 export" for r in json.loads(zf.read("rules.json")))
    manifest = json.loads(zf.read("organisation.json"))
    assert manifest["organisation"]["code"] == "nomi" and layer_id in {x["id"] for x in manifest["layers"]}
    # an editor, another organisation's org_admin and anonymous visitors get nothing
    other = make_person(app_db, "kaga", ORG_ADMIN)
    for headers in (editor.auth, other.auth, {}):
        assert client.get("/api/organisations/nomi/export.zip", headers=headers).status_code == 404
    assert client.get("/api/organisations/nowhere/export.zip", headers=boss.auth).status_code == 404
    # the page's link works with a log-in too
    session = login(client.application.test_client(), boss.email)
    assert session.get("/api/organisations/nomi/export.zip").status_code == 200
    # the list is public
    listed = client.get("/api/organisations").json["organisations"]
    assert {"code": "kaga", "name_ja": "加賀市", "name_en": "Kaga City", "boundary": "加賀市",
            "portal": "/o/kaga"} in listed


def _page(client, path: str, search: str = "?lang=ja") -> str:
    return pages_router(client, path, search).get_data(as_text=True).replace("\\u002f", "/")


def test_city_portal_frames_the_city_and_puts_its_layers_first(client, app_db):
    editor = make_person(app_db, "hakui", EDITOR)
    name = "羽咋ポータル" + uuid.uuid4().hex[:6]
    layer_id = upload(client, editor, data="名称,緯度,経度\nA,36.89,136.78\n".encode(), filename="h.csv",
                      name=name, visibility="public").json["id"]
    secret = "PRIV-" + uuid.uuid4().hex[:6]
    private_id = upload(client, editor, data="名称,緯度,経度\nB,36.89,136.78\n".encode(), filename="p.csv",
                        name=secret, visibility="private").json["id"]
    body = _page(client, "/o/hakui")
    assert "portal-map" in body and name in body and f"layers/{layer_id}/features" in body
    assert secret not in body and private_id not in body
    # the map is framed on 羽咋市 (around 36.9 N, 136.8 E), not the whole prefecture
    center = body.split('"center":[')[1].split("]")[0]
    lat, lon = (float(x) for x in center.split(","))
    assert 36.8 < lat < 37.0 and 136.7 < lon < 136.9
    zoom = int(body.split('"zoom":')[1].split(",")[0].rstrip("}"))
    assert zoom >= 9
    # its own group comes first, and its layer is shown at once
    assert body.index(name) < body.index("AED")
    assert any(layer_id in v.split("]")[0] for v in body.split('"value":[')[1:])  # checked (with others of its group)
    assert "portal-not-found" in _page(client, "/o/nowhere") and "portal-map" not in _page(client, "/o/nowhere")
    en = _page(client, "/o/hakui", "?lang=en")
    assert "Hakui City map" in en
    assert json.loads(body)["response"]["_pages_store"]["data"]["title"] == "羽咋市 の地図 — いしかわマップ"
    # staff of the city see their private layer there too, others do not
    assert secret in _page(login(app_db_client(client), editor.email), "/o/hakui")


def app_db_client(client):
    return client.application.test_client()


def test_a_database_from_before_organisations_were_data_is_upgraded(db_url):
    """The organisations table of an older release gains boundary / active / created_at, and the
    three cities the product started with get their boundaries."""
    import sqlalchemy as sa

    from store.db import Database, normalize_url

    engine = sa.create_engine(normalize_url(db_url))
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE organisations (id INTEGER PRIMARY KEY, code VARCHAR(40) UNIQUE, "
                             "name_ja VARCHAR(200), name_en VARCHAR(200))"))
        conn.execute(sa.text("INSERT INTO organisations (id, code, name_ja, name_en) VALUES "
                             "(1, 'ishikawa', '石川県', 'Ishikawa Prefecture'), (2, 'kaga', '加賀市', 'Kaga City')"))
    engine.dispose()
    database = Database(db_url)
    create_all(database)
    create_all(database)  # twice: nothing left to do
    with database.session() as s:
        got = {o.code: (o.boundary, o.active) for o in so.all_organisations(s)}
    database.dispose()
    assert got == {"ishikawa": ("", True), "kaga": ("加賀市", True)}


def test_a_city_may_embed_its_portal(client):
    """EMBED_ORIGINS may frame /o/<code> (a city's home page), and nothing else of the staff side."""
    settings = client.application.extensions["ishikawa.settings"]
    client.application.extensions["ishikawa.settings"] = settings.with_(embed_origins=("https://www.city.kaga.example",))
    try:
        portal = client.get("/o/kaga")
        staff = client.get("/staff/organisations")
    finally:
        client.application.extensions["ishikawa.settings"] = settings
    assert "frame-ancestors 'self' https://www.city.kaga.example" in portal.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in portal.headers
    assert "frame-ancestors 'none'" in staff.headers["Content-Security-Policy"]
    assert staff.headers["X-Frame-Options"] == "DENY"


def test_org_admin_invites_a_colleague_from_the_account_page(dash_app, app_db):
    boss = make_person(app_db, "nomi", ORG_ADMIN)
    session = login(dash_app.server.test_client(), boss.email)
    email = f"new-{uuid.uuid4().hex[:6]}@city.nomi.example.jp"

    def send(org, role):
        return session.post("/_dash-update-component", json={
            "output": "staff-account-invite-message.children",
            "outputs": {"id": "staff-account-invite-message", "property": "children"},
            "inputs": [{"id": "staff-account-invite", "property": "n_clicks", "value": 1}],
            "state": [{"id": "staff-account-new-email", "property": "value", "value": email},
                      {"id": "staff-account-new-org", "property": "value", "value": org},
                      {"id": "staff-account-new-role", "property": "value", "value": role},
                      {"id": "staff-account-lang", "property": "data", "value": "en"}],
            "changedPropIds": ["staff-account-invite.n_clicks"]}).get_data(as_text=True)

    assert "staff-error" in send("kaga", EDITOR)  # another organisation
    assert "staff-error" in send("nomi", ADMIN)  # a role above their own
    assert f"Invite sent to {email}" in send("nomi", VIEWER)
    with app_db.session() as s:
        inv = s.query(so.Invite).filter_by(email=email).one()
        assert inv.role == VIEWER and s.get(Organisation, inv.organisation_id).code == "nomi"
        assert s.query(OutboxMail).filter_by(to_addr=email, kind="invite").count() == 1


def test_onboarding_steps_are_in_the_audit_log_with_the_right_person(db, people):
    from store.audit import AuditEntry

    admin = people["ishikawa"]
    add_organisation(db, admin, "nanao", "七尾市", "Nanao City", "七尾市")
    url = invite(db, admin, "nanao", "boss@nanao.example.jp", MAIL)
    boss = accept_invite(db, url.split("/invite/")[1].split("?")[0], PASSWORD, PASSWORD)
    set_organisation_active(db, admin, "nanao", False, unpublish=True)
    with pytest.raises(Refused):  # refused: nothing recorded
        set_organisation_active(db, people["kaga"], "nanao", True)
    with db.session() as s:
        nanao = so.get_by_code(s, "nanao")
        rows = [(e.action, e.actor_email, e.organisation_id)
                for e in s.query(AuditEntry).filter(AuditEntry.action.like("org.%")).order_by(AuditEntry.id)]
    assert rows == [("org.create", admin.email, nanao.id), ("org.invite", admin.email, nanao.id),
                    ("org.invite_accept", boss.email, nanao.id), ("org.deactivate", admin.email, nanao.id)]
