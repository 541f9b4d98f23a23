"""Log-in throttling that can be neither raced nor turned into a lock-out, and sessions and tokens
that end when they should — through the real routes (/login, /logout, the account page's
callbacks, a Bearer-token API route)."""
from __future__ import annotations

import json
import logging
import random
import re
import threading
import uuid

import pytest
from flask import Flask, jsonify

from layers.builtin import ORGANISATIONS
from store.layers import ensure_organisation
from store.users import ADMIN, EDITOR, create_token, create_user, get_user_by_email
from tests.staff_helpers import PASSWORD, make_person

REDIS_URL = "redis://127.0.0.1:6379/0"


def _addr() -> str:
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def _csrf(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def _try(client, email, password, addr, csrf=None):
    return client.post("/login", data={"email": email, "password": password, "csrf": csrf or _csrf(client)},
                       environ_base={"REMOTE_ADDR": addr})


def _logged_in(client) -> bool:
    return client.get("/login").status_code == 302  # /login sends a logged-in person on


def _parallel_wrong_passwords(server, email, addr, n=24) -> list[int]:
    """n clients post a wrong password for one account from one address at the same moment."""
    clients = [server.test_client() for _ in range(n)]
    tokens = [_csrf(c) for c in clients]
    barrier = threading.Barrier(n)
    codes: list[int] = []

    def one(client, csrf):
        barrier.wait()
        codes.append(_try(client, email, "wrong password!", addr, csrf).status_code)

    threads = [threading.Thread(target=one, args=pair) for pair in zip(clients, tokens)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return codes


# --- throttling (embedded default: in-process counters) ---

def test_parallel_wrong_passwords_get_no_more_tries_than_the_limit(dash_app, app_db):
    person = make_person(app_db, "kaga")
    codes = _parallel_wrong_passwords(dash_app.server, person.email, _addr())
    assert sorted(codes) == [401] * 5 + [429] * (len(codes) - 5)


def test_an_attacker_elsewhere_cannot_lock_the_owner_out(dash_app, app_db, caplog):
    person = make_person(app_db, "hakui")
    attacker = dash_app.server.test_client()
    with caplog.at_level(logging.WARNING, logger="ishikawa.auth"):
        codes = [_try(attacker, person.email, f"guess {i}", "198.51.100.66").status_code for i in range(12)]
    assert codes == [401] * 5 + [429] * 7
    assert sum("log-in failed" in r.getMessage() and person.email in r.getMessage() for r in caplog.records) == 5
    assert any("throttled" in r.getMessage() for r in caplog.records)
    # the owner, from their own office, logs in at once
    owner = dash_app.server.test_client()
    assert _try(owner, person.email, PASSWORD, _addr()).status_code == 302 and _logged_in(owner)
    # the attacker still waits, even with the right password
    assert _try(attacker, person.email, PASSWORD, "198.51.100.66").status_code == 429


@pytest.fixture
def small_limits(db, tmp_path):
    """/login with LOGIN_LIMIT=3 per 15 minutes and LOGIN_LIMIT_ADDRESS=6 per 15 minutes."""
    with db.session() as s:
        for code, ja, en in ORGANISATIONS:
            ensure_organisation(s, code, ja, en)
        email = f"office-{uuid.uuid4().hex[:8]}@example.jp"
        create_user(s, email, PASSWORD, "nomi", EDITOR)
    return _bare_app(db, tmp_path, login_limit="3 per 15 minutes", login_limit_address="6 per 15 minutes"), email


def test_one_address_spraying_many_accounts_is_stopped(small_limits):
    server, email = small_limits
    addr = _addr()
    codes = [_try(server.test_client(), f"nobody-{i}@example.jp", "password1", addr).status_code for i in range(6)]
    assert codes == [401] * 6
    assert _try(server.test_client(), f"nobody-{uuid.uuid4().hex[:6]}@example.jp", "password1", addr).status_code == 429
    assert _try(server.test_client(), email, PASSWORD, addr).status_code == 429  # not even checked
    assert _try(server.test_client(), email, PASSWORD, _addr()).status_code == 302  # from elsewhere: fine


def test_successful_log_ins_do_not_use_up_the_address(small_limits):
    """An office behind one proxy: only failures count against the shared address."""
    server, email = small_limits
    addr = _addr()
    for _ in range(2):  # failures, then a success starts this account's count again
        assert _try(server.test_client(), email, "typo typo", addr).status_code == 401
    for _ in range(8):
        assert _try(server.test_client(), email, PASSWORD, addr).status_code == 302
    codes = [_try(server.test_client(), email, "typo typo", addr).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]  # the account's 3; the address has used 2 + 3 of its 6


# --- throttling shared through Redis (CACHE_REDIS_URL), as several gunicorn workers do ---

def _redis_or_skip():
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    return redis.Redis.from_url(REDIS_URL)


def _bare_app(db, tmp_path, **settings):
    """What a gunicorn worker runs for /login: Flask + init_auth, with its own settings."""
    from auth import current_staff, init_auth
    from tests.conftest import make_settings

    server = Flask(__name__)
    server.config["SECRET_KEY"] = "test-secret"
    server.extensions["ishikawa.db"] = db
    init_auth(server, make_settings(tmp_path, db.url, **settings))

    @server.get("/api/test-who")
    def who():
        staff = current_staff()
        return jsonify({"email": staff.email if staff else None})

    return server


@pytest.fixture
def two_workers(db, tmp_path):
    _redis_or_skip()
    with db.session() as s:
        for code, ja, en in ORGANISATIONS:
            ensure_organisation(s, code, ja, en)
        email = f"redis-{uuid.uuid4().hex[:8]}@example.jp"
        create_user(s, email, PASSWORD, "kaga", EDITOR)
    return _bare_app(db, tmp_path, cache_redis_url=REDIS_URL), _bare_app(db, tmp_path, cache_redis_url=REDIS_URL), email


def test_workers_count_together_in_redis(two_workers):
    one, two, email = two_workers
    assert one.extensions["ishikawa.login_throttle"].backend == "RedisStorage"
    addr = _addr()
    codes = [_try((one if i % 2 else two).test_client(), email, "wrong password!", addr).status_code
             for i in range(7)]
    assert codes == [401] * 5 + [429] * 2
    keys = _redis_or_skip().keys(f"LIMITS:LIMITER/ishikawa-login/account/{email}/{addr}/*")
    assert len(keys) == 1
    # another address is not affected, on either worker
    assert _try(two.test_client(), email, PASSWORD, _addr()).status_code == 302


def test_parallel_wrong_passwords_through_redis(two_workers):
    one, _, email = two_workers
    codes = _parallel_wrong_passwords(one, email, _addr(), n=16)
    assert sorted(codes) == [401] * 5 + [429] * 11


def test_unreachable_redis_still_throttles(db, tmp_path, caplog):
    with db.session() as s:
        for code, ja, en in ORGANISATIONS:
            ensure_organisation(s, code, ja, en)
        email = f"down-{uuid.uuid4().hex[:8]}@example.jp"
        create_user(s, email, PASSWORD, "kaga", EDITOR)
    server = _bare_app(db, tmp_path, cache_redis_url="redis://127.0.0.1:9/0")  # nothing listens there
    addr = _addr()
    with caplog.at_level(logging.ERROR, logger="ishikawa.auth"):
        codes = [_try(server.test_client(), email, "wrong password!", addr).status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    assert any("storage unreachable" in r.getMessage() for r in caplog.records)
    assert _try(server.test_client(), email, PASSWORD, _addr()).status_code == 302


# --- sessions and tokens end when they should ---

def _login(server, email, password=PASSWORD):
    client = server.test_client()
    assert _try(client, email, password, _addr()).status_code == 302
    return client


def _copy(server, client):
    """Another browser holding a copy of this client's session cookie."""
    thief = server.test_client()
    cookie = client.get_cookie("session")
    thief.set_cookie("session", cookie.value, domain=cookie.domain)
    return thief


def test_a_copied_session_cookie_stops_working_after_log_out(dash_app, app_db):
    server = dash_app.server
    person = make_person(app_db, "kaga")
    client = _login(server, person.email)
    other_device = _login(server, person.email)
    thief = _copy(server, client)
    assert _logged_in(thief)
    page = client.get("/logout").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    assert client.post("/logout", data={"csrf": csrf}).status_code == 302
    assert not _logged_in(client) and not _logged_in(thief) and not _logged_in(other_device)
    # the person logs in again: a new session works, the copied one stays dead
    again = _login(server, person.email)
    assert _logged_in(again) and not _logged_in(thief)
    assert _api(server, person.token) == 200  # log-out leaves API tokens alone


def _manage(client, victim_id, trigger, new_password=""):
    """Click a button of the admin table on /staff/account (the manage_users callback)."""
    one = lambda t: [{"id": {"type": f"staff-account-{t}", "id": victim_id}, "property": "n_clicks",  # noqa: E731
                      "value": 1 if t == trigger else None}]
    outputs = [{"id": "staff-account-users", "property": "children"},
               {"id": "staff-account-users-message", "property": "children"},
               {"id": "staff-account-new-email", "property": "value"},
               {"id": "staff-account-new-password", "property": "value"}]
    state = [{"id": "staff-account-new-email", "property": "value", "value": ""},
             {"id": "staff-account-new-org", "property": "value", "value": ""},
             {"id": "staff-account-new-role", "property": "value", "value": ""},
             {"id": "staff-account-new-password", "property": "value", "value": ""},
             [{"id": {"type": "staff-account-newpw", "id": victim_id}, "property": "value", "value": new_password}],
             [{"id": {"type": "staff-account-newpw", "id": victim_id}, "property": "id",
               "value": {"type": "staff-account-newpw", "id": victim_id}}],
             {"id": "staff-account-lang", "property": "data", "value": "en"}]
    inputs = [{"id": "staff-account-add", "property": "n_clicks", "value": None},
              one("active"), one("role"), one("reset")]
    changed = [json.dumps({"id": victim_id, "type": f"staff-account-{trigger}"}, separators=(",", ":")) + ".n_clicks"]
    resp = client.post("/_dash-update-component", json={
        "output": "..staff-account-users.children...staff-account-users-message.children..."
                  "staff-account-new-email.value...staff-account-new-password.value..",
        "outputs": outputs, "inputs": inputs, "state": state, "changedPropIds": changed})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return resp.get_data(as_text=True)


def _api(server, token):
    return server.test_client().get("/api/alert-rules", headers={"Authorization": f"Bearer {token}"}).status_code


def test_admin_password_reset_ends_sessions_and_tokens_for_good(dash_app, app_db):
    server = dash_app.server
    admin = make_person(app_db, "ishikawa", ADMIN)
    victim = make_person(app_db, "kaga")
    with app_db.session() as s:
        victim_id = get_user_by_email(s, victim.email).id
    victims_browser = _login(server, victim.email)
    assert _api(server, victim.token) == 200
    body = _manage(_login(server, admin.email), victim_id, "reset", "brand new password")
    assert "changed" in body or "変更" in body
    assert not _logged_in(victims_browser)
    assert _api(server, victim.token) == 401
    # the new password works; the old token does not come back
    assert _logged_in(_login(server, victim.email, "brand new password"))
    assert _api(server, victim.token) == 401


def test_deactivation_ends_sessions_and_tokens_and_reactivation_brings_neither_back(dash_app, app_db):
    server = dash_app.server
    admin = make_person(app_db, "ishikawa", ADMIN)
    victim = make_person(app_db, "hakui")
    with app_db.session() as s:
        victim_id = get_user_by_email(s, victim.email).id
    victims_browser = _login(server, victim.email)
    admins_browser = _login(server, admin.email)
    _manage(admins_browser, victim_id, "active")  # deactivate
    assert not _logged_in(victims_browser) and _api(server, victim.token) == 401
    _manage(admins_browser, victim_id, "active")  # re-activate
    with app_db.session() as s:
        assert get_user_by_email(s, victim.email).active
    assert not _logged_in(victims_browser)  # the old session stays ended
    assert _api(server, victim.token) == 401  # and the old token stays revoked
    fresh = _login(server, victim.email)
    assert _logged_in(fresh)
    with app_db.session() as s:
        token = create_token(s, get_user_by_email(s, victim.email), "new")
    assert _api(server, token) == 200


def test_own_password_change_ends_every_other_session(dash_app, app_db):
    server = dash_app.server
    person = make_person(app_db, "nomi")
    here = _login(server, person.email)
    elsewhere = _login(server, person.email)
    copied = _copy(server, here)
    resp = here.post("/_dash-update-component", json={
        "output": "..staff-account-password-message.children...staff-account-current.value..."
                  "staff-account-new.value...staff-account-confirm.value..",
        "outputs": [{"id": "staff-account-password-message", "property": "children"},
                    {"id": "staff-account-current", "property": "value"},
                    {"id": "staff-account-new", "property": "value"},
                    {"id": "staff-account-confirm", "property": "value"}],
        "inputs": [{"id": "staff-account-password-save", "property": "n_clicks", "value": 1}],
        "state": [{"id": "staff-account-current", "property": "value", "value": PASSWORD},
                  {"id": "staff-account-new", "property": "value", "value": "another long password"},
                  {"id": "staff-account-confirm", "property": "value", "value": "another long password"},
                  {"id": "staff-account-lang", "property": "data", "value": "en"}],
        "changedPropIds": ["staff-account-password-save.n_clicks"]})
    assert resp.status_code == 200
    assert _logged_in(here)  # the session that changed it goes on
    assert not _logged_in(elsewhere) and not _logged_in(copied)


def test_older_databases_get_the_session_generation_column(tmp_path):
    import sqlalchemy as sa

    from store.db import Database
    from store.schema import create_all

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # the users table as the first release made it
        conn.execute(sa.text("CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(254) UNIQUE, "
                             "password_hash VARCHAR(300), organisation_id INTEGER, role VARCHAR(20), "
                             "active BOOLEAN, created_at VARCHAR, last_login_at VARCHAR)"))
        conn.execute(sa.text("INSERT INTO users VALUES (1, 'old@example.jp', 'x', 1, 'editor', 1, NULL, NULL)"))
        conn.execute(sa.text("CREATE TABLE login_failures (key VARCHAR PRIMARY KEY, count INTEGER)"))
    engine.dispose()
    db = Database(url)
    create_all(db)
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT session_generation FROM users WHERE id = 1")).scalar() == 0
        assert "login_failures" not in sa.inspect(conn).get_table_names()
    db.dispose()
