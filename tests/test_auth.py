"""Staff log-in, API tokens, roles and throttling."""
from __future__ import annotations

import logging
import re
import uuid

import pytest
from flask import Flask, jsonify

from layers.builtin import ORGANISATIONS
from store.layers import ensure_organisation
from store.models import PRIVATE, PUBLIC, Layer
from store.users import (
    ADMIN,
    EDITOR,
    ApiToken,
    Staff,
    User,
    check_password,
    create_token,
    create_user,
    ensure_first_admin,
    get_user_by_email,
    may_edit_layer,
    may_see_layer,
    user_for_token,
)

PASSWORD = "correct horse battery"


def _orgs(s):
    return {code: ensure_organisation(s, code, ja, en) for code, ja, en in ORGANISATIONS}


def _email(prefix="u"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.jp"


# --- store ---

def test_passwords_and_tokens_are_stored_hashed(db):
    with db.session() as s:
        _orgs(s)
        user = create_user(s, "Staff@Kaga.example.jp", PASSWORD, "kaga", EDITOR)
        token = create_token(s, user, "test")
    with db.session() as s:
        user = get_user_by_email(s, "staff@kaga.example.jp")
        assert user.email == "staff@kaga.example.jp"
        assert PASSWORD not in user.password_hash and user.password_hash.startswith(("scrypt:", "pbkdf2:"))
        assert check_password(user, PASSWORD) and not check_password(user, PASSWORD + "x")
        rows = s.query(ApiToken).all()
        assert len(rows) == 1 and token not in rows[0].token_hash and len(rows[0].token_hash) == 64
        assert user_for_token(s, token).id == user.id
        assert user_for_token(s, token + "x") is None
        assert user_for_token(s, "") is None
        assert rows[0].last_used_at is not None


def test_create_user_validates(db):
    with db.session() as s:
        _orgs(s)
        with pytest.raises(ValueError, match="organisation"):
            create_user(s, _email(), PASSWORD, "nowhere", EDITOR)
        with pytest.raises(ValueError, match="role"):
            create_user(s, _email(), PASSWORD, "kaga", "root")
        with pytest.raises(ValueError, match="password"):
            create_user(s, _email(), "short", "kaga", EDITOR)
        # organisations by Japanese name too
        user = create_user(s, "a@example.jp", PASSWORD, "羽咋市", EDITOR)
        with pytest.raises(ValueError, match="exists"):
            create_user(s, "A@example.jp", PASSWORD, "hakui", EDITOR)
        assert user.organisation_id == _orgs(s)["hakui"].id


def test_first_admin_only_once(db):
    with db.session() as s:
        _orgs(s)
        assert ensure_first_admin(s, "", "") is None
        admin = ensure_first_admin(s, "boss@pref.example.jp", PASSWORD)
        assert admin.role == ADMIN
        assert ensure_first_admin(s, "other@pref.example.jp", PASSWORD) is None
        assert s.query(User).count() == 1


def test_private_layers_only_for_admins_and_own_organisation():
    layer = Layer(id="x", kind="uploaded", name_ja="x", group="g", organisation_id=2, visibility=PRIVATE)
    admin = Staff(1, "a@x", 1, "ishikawa", ADMIN)
    own = Staff(2, "b@x", 2, "kaga", EDITOR)
    other = Staff(3, "c@x", 3, "hakui", EDITOR)
    assert may_see_layer(admin, layer) and may_see_layer(own, layer)
    assert not may_see_layer(other, layer) and not may_see_layer(None, layer)
    assert may_edit_layer(admin, layer) and may_edit_layer(own, layer) and not may_edit_layer(other, layer)
    layer.visibility = PUBLIC
    assert may_see_layer(None, layer) and may_see_layer(other, layer)
    assert not may_edit_layer(other, layer) and not may_edit_layer(None, layer)


# --- web: /login, /logout ---

@pytest.fixture
def staff_user(app_db):
    email = _email("kaga")
    with app_db.session() as s:
        create_user(s, email, PASSWORD, "kaga", EDITOR)
    return email


def _csrf(client, path="/login"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def _post_login(client, email, password, addr="127.0.0.1", **extra):
    return client.post("/login", data={"email": email, "password": password, "csrf": _csrf(client), **extra},
                       environ_base={"REMOTE_ADDR": addr})


def test_login_page_in_japanese_and_english(client):
    ja = client.get("/login")
    assert ja.status_code == 200 and "職員ログイン" in ja.get_data(as_text=True)
    assert 'lang="ja"' in ja.get_data(as_text=True)
    en = client.get("/login?lang=en").get_data(as_text=True)
    assert "Staff log-in" in en and "E-mail address" in en and 'href="/login?lang=ja"' in en
    assert ja.headers["Cache-Control"] == "no-store"


def test_login_sets_a_safe_session_cookie_and_logout_ends_it(dash_app, staff_user):
    client = dash_app.server.test_client()
    resp = _post_login(client, staff_user, PASSWORD)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/staff/layers")
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http in tests; on with COOKIE_SECURE / https PUBLIC_BASE_URL
    # logged in: /login sends us on
    assert client.get("/login").status_code == 302
    # log-out needs the form's CSRF token
    assert client.post("/logout", data={}).status_code == 302
    assert client.get("/login").status_code == 302  # still logged in
    resp = client.post("/logout", data={"csrf": _csrf(client, "/logout")})
    assert resp.status_code == 302 and "bye=1" in resp.headers["Location"]
    assert client.get("/login").status_code == 200


def test_login_refuses_wrong_password_and_missing_csrf(dash_app, staff_user, caplog):
    client = dash_app.server.test_client()
    with caplog.at_level(logging.WARNING, logger="ishikawa.auth"):
        resp = _post_login(client, staff_user, "wrong password", addr="10.1.1.1")
    assert resp.status_code == 401 and "パスワードが違います" in resp.get_data(as_text=True)
    assert any("log-in failed" in r.getMessage() and staff_user in r.getMessage() for r in caplog.records)
    resp = client.post("/login", data={"email": staff_user, "password": PASSWORD})
    assert resp.status_code == 400
    assert client.get("/login").status_code == 200  # not logged in


def test_login_throttles_after_repeated_failures(dash_app, staff_user, caplog):
    client = dash_app.server.test_client()
    # LOGIN_LIMIT: 5 tries per 15 minutes at one account from one address
    codes = [_post_login(client, staff_user, "nope-nope", addr="10.2.2.2").status_code for _ in range(5)]
    assert codes == [401] * 5
    # now even the right password waits: the try is not checked at all
    with caplog.at_level(logging.WARNING, logger="ishikawa.auth"):
        resp = _post_login(client, staff_user, PASSWORD, addr="10.2.2.2")
    assert resp.status_code == 429 and "秒後" in resp.get_data(as_text=True)
    assert any("throttled" in r.getMessage() for r in caplog.records)


def test_login_next_must_be_a_local_path(dash_app, staff_user):
    for bad in ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"]:
        client = dash_app.server.test_client()
        resp = _post_login(client, staff_user, PASSWORD, next=bad)
        assert resp.status_code == 302
        assert resp.headers["Location"].startswith("/staff/layers"), bad
    client = dash_app.server.test_client()
    resp = _post_login(client, staff_user, PASSWORD, next="/staff/upload?lang=en")
    assert resp.headers["Location"] == "/staff/upload?lang=en"


def test_login_page_escapes_what_was_typed(client):
    body = client.post("/login", data={"email": '"><script>alert(1)</script>', "password": "x",
                                       "csrf": _csrf(client)}).get_data(as_text=True)
    assert "<script>alert(1)" not in body and "&lt;script&gt;" in body


# --- Bearer tokens for API blueprints ---

@pytest.fixture
def token_app(db, tmp_path):
    """A bare Flask app with init_auth, the API's error handling and one route using require_token()."""
    from api.errors import install as install_errors
    from auth import current_staff, init_auth, require_token
    from tests.conftest import make_settings

    server = Flask(__name__)
    server.extensions["ishikawa.db"] = db
    settings = make_settings(tmp_path, db.url, admin_email="boss@pref.example.jp", admin_password=PASSWORD)
    with db.session() as s:
        _orgs(s)
    init_auth(server, settings)
    install_errors(server)

    @server.post("/api/test-write")
    def write():
        staff = require_token()
        return jsonify({"email": staff.email, "org": staff.organisation_code, "role": staff.role})

    @server.get("/api/test-who")
    def who():
        staff = current_staff()
        return jsonify({"email": staff.email if staff else None})

    return server


def test_require_token(token_app, db):
    with db.session() as s:
        admin = get_user_by_email(s, "boss@pref.example.jp")  # created by init_auth from ADMIN_EMAIL
        assert admin is not None and admin.role == ADMIN
        token = create_token(s, admin)
    c = token_app.test_client()
    ok = c.post("/api/test-write", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and ok.json == {"email": "boss@pref.example.jp", "org": "ishikawa", "role": "admin"}
    for headers in [{}, {"Authorization": "Bearer imt_wrong"}, {"Authorization": f"Basic {token}"}]:
        resp = c.post("/api/test-write", headers=headers)
        assert resp.status_code == 401
        assert resp.json["error"] == "unauthorized" and "トークン" in resp.json["message"]
        assert resp.json["details"] == [] and resp.headers["WWW-Authenticate"].startswith("Bearer")
    en = c.post("/api/test-write", headers={"Accept-Language": "en"})
    assert "token" in en.json["message"]
    assert c.get("/api/test-who", headers={"Authorization": f"Bearer {token}"}).json["email"] == admin.email
    assert c.get("/api/test-who", headers={"Authorization": "Bearer nope"}).json["email"] is None


def test_cli_create_user_and_token(dash_app, app_db):
    runner = dash_app.server.test_cli_runner()
    email = _email("cli")
    result = runner.invoke(args=["create-user", email, "--org", "nomi", "--role", "editor",
                                 "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["create-user", _email("cli"), "--org", "nomi", "--role", "editor"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    bad = runner.invoke(args=["create-user", _email("cli"), "--org", "atlantis", "--role", "editor",
                              "--password", PASSWORD])
    assert bad.exit_code != 0 and "atlantis" in bad.output
    result = runner.invoke(args=["create-token", email])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    with app_db.session() as s:
        user = user_for_token(s, token)
        assert user is not None and user.email == email and user.role == EDITOR


def test_cookies_are_secure_behind_https(tmp_path, db):
    from auth import init_auth
    from tests.conftest import make_settings

    https = make_settings(tmp_path, db.url, public_base_url="https://map.pref.ishikawa.example")
    assert https.cookie_secure is False  # overrides skip from_env's derivation…
    from settings import Settings

    derived = Settings.from_env({"DATABASE_URL": db.url, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path),
                                 "PUBLIC_BASE_URL": "https://map.pref.ishikawa.example"})
    assert derived.cookie_secure is True  # …from the environment it follows PUBLIC_BASE_URL
    server = Flask(__name__)
    server.extensions["ishikawa.db"] = db
    init_auth(server, derived)
    assert server.config["SESSION_COOKIE_SECURE"] and server.config["REMEMBER_COOKIE_SECURE"]
    assert server.config["SESSION_COOKIE_HTTPONLY"] and server.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    plain = Settings.from_env({"DATABASE_URL": db.url, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path),
                               "PUBLIC_BASE_URL": "http://127.0.0.1:8050", "COOKIE_SECURE": "1"})
    assert plain.cookie_secure is True


def test_forwarded_headers_only_from_trusted_proxies():
    from flask import Flask, request

    from auth.core import trust_proxies

    def make(count):
        app = Flask(__name__)
        app.add_url_rule("/who", "who", lambda: f"{request.remote_addr} {request.scheme}")
        trust_proxies(app, count)
        return app.test_client()

    headers = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
    # by default a client cannot choose its address (and so escape the log-in throttling)
    assert make(0).get("/who", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"}).text == "10.0.0.2 http"
    assert make(1).get("/who", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"}).text == "198.51.100.7 https"
    # two clients behind one proxy: two addresses
    spoofed = {"X-Forwarded-For": "203.0.113.9, 198.51.100.8", "X-Forwarded-Proto": "https"}
    answer = make(1).get("/who", headers=spoofed, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert answer.text.startswith("198.51.100.8")
