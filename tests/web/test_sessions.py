"""Sessions that cannot be forged or kept: the secret key, log-in lockout and limits, revocation, idle expiry."""

from __future__ import annotations

import hashlib
import re
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from werkzeug.security import generate_password_hash

from tests.conftest import DATA_KEY
from web import create_app
from web.extensions import db
from workflows.demo import DEMO_PASSWORD
from workflows.settings import SETTINGS

OLD_DEFAULT_KEY = "dev-only-change-me"


@contextmanager
def another_app(config: dict):
    """An app of its own configuration on the test database and its data key; its pool closed afterwards."""
    app = create_app({"DATA_ENCRYPTION_KEY": DATA_KEY, **config})
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()  # or PostgreSQL connections leak into the next test


@pytest.fixture
def quick_hash(session, person):
    """The applicant's password "demo" behind a one-round hash, so many attempts take no seconds."""
    person("applicant").password_hash = generate_password_hash("demo", method="pbkdf2:sha256:1")
    session.commit()


def page_login(client, username="applicant", password=DEMO_PASSWORD):
    return client.post("/login", data={"username": username, "password": password})


def api_login(client, username="applicant", password=DEMO_PASSWORD):
    return client.post("/api/v1/login", json={"username": username, "password": password})


def bearer(response) -> dict:
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)[1]


def flashes(html: str) -> list[str]:
    return re.findall(r'<p class="flash error" role="status">([^<]*)</p>', html)


def signed_in(client) -> bool:
    return client.get("/applications/mine").status_code == 200


# --- the secret key ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [None, "", OLD_DEFAULT_KEY])
def test_production_refuses_to_start_without_a_real_secret_key(database_url, key):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": key})


def test_a_session_or_token_signed_with_the_old_default_key_is_refused(database_url, person):
    admin = person("admin")
    forger = Flask("forger")
    with another_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url}) as app:
        assert app.secret_key and app.secret_key != OLD_DEFAULT_KEY  # testing: a key of its own, made up

        def forged_session(key):
            forger.secret_key = key
            return SecureCookieSessionInterface().get_signing_serializer(forger).dumps(
                {"_user_id": admin.get_id(), "_fresh": True})

        def forged_token(key):
            return URLSafeTimedSerializer(key, salt="api-token").dumps({"uid": admin.id,
                                                                        "gen": admin.session_generation})

        client = app.test_client()
        client.set_cookie("session", forged_session(OLD_DEFAULT_KEY))
        assert client.get("/admin/schedules").status_code == 302
        bad = client.get("/api/v1/schedules", headers={"Authorization": f"Bearer {forged_token(OLD_DEFAULT_KEY)}"})
        assert bad.status_code == 401
        # The same forgeries with the app's real key pass: the refusal above is the key's doing.
        client.set_cookie("session", forged_session(app.secret_key))
        assert client.get("/admin/schedules").status_code == 200
        good = client.get("/api/v1/schedules", headers={"Authorization": f"Bearer {forged_token(app.secret_key)}"})
        assert good.status_code == 200


def test_make_run_writes_a_secret_key_once_readable_by_the_owner_only(tmp_path):
    from web.secret_key import ensure_secret_key

    config = tmp_path / "instance" / "config.py"
    assert ensure_secret_key(config) is True
    first = config.read_text()
    assert ensure_secret_key(config) is False and config.read_text() == first
    assert config.stat().st_mode & 0o777 == 0o600
    key = {}
    exec(first, key)  # noqa: S102 - the file Flask's from_pyfile reads, read the same way
    assert len(key["SECRET_KEY"]) == 64
    other = tmp_path / "other.py"  # settings written by hand stay, and get a key of their own
    other.write_text("MAIL_SERVER = 'smtp.example'")
    other.chmod(0o644)
    assert ensure_secret_key(other) is True
    assert other.read_text().startswith("MAIL_SERVER = 'smtp.example'\nSECRET_KEY = ")
    assert other.stat().st_mode & 0o777 == 0o600


# --- log-in: one answer for every failure, lockout, per-address limit ---------------------------------------

def test_unknown_user_and_wrong_password_get_the_same_answer_after_the_same_hash(client, monkeypatch,
                                                                                 real_password_checks):
    hashed = []
    real = hashlib.scrypt

    def spy(password, **kwargs):
        hashed.append(password)
        return real(password, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", spy)
    unknown, wrong = page_login(client, "nobody", "guess-1"), page_login(client, "applicant", "guess-2")
    assert unknown.status_code == wrong.status_code == 200
    assert flashes(unknown.text) == flashes(wrong.text) == ["帳號或密碼錯誤"]
    api_unknown, api_wrong = api_login(client, "nobody", "guess-3"), api_login(client, "applicant", "guess-4")
    assert api_unknown.status_code == api_wrong.status_code == 401
    assert api_unknown.get_json() == api_wrong.get_json()
    assert [p for p in hashed if p.startswith(b"guess")] == [b"guess-1", b"guess-2", b"guess-3", b"guess-4"]


def test_five_wrong_passwords_lock_the_account_for_the_page_and_the_api_until_an_administrator_unlocks(
        client, api, quick_hash):
    for _ in range(3):
        assert "帳號或密碼錯誤" in page_login(client, password="wrong").text
    for _ in range(2):
        assert api_login(client, password="wrong").status_code == 401
    # The 6th attempt, with the right password: refused, with the same answer as a wrong one.
    assert "帳號或密碼錯誤" in page_login(client).text
    assert api_login(client).status_code == 401
    admin = api.as_("admin")
    assert api.as_("manager").post("/api/v1/people/applicant/unlock").status_code == 403
    unlocked = admin.post("/api/v1/people/applicant/unlock")
    assert unlocked.status_code == 200 and unlocked.get_json()["locked_until"] is None
    assert page_login(client).status_code == 302
    audit = admin.get("/api/v1/audit-events?subject_type=person").get_json()["items"]
    assert [e["event_type"] for e in audit] == ["person_unlocked", "person_locked"]


def test_the_lock_lifts_by_itself_after_15_minutes(client, quick_hash):
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(5):
            page_login(client, password="wrong")
        clock.shift(timedelta(minutes=14))
        assert page_login(client).status_code == 200  # still locked
        clock.shift(timedelta(minutes=2))
        assert page_login(client).status_code == 302


def test_failed_log_ins_per_address_are_limited_across_usernames(app):
    config = {**app.config, "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per 15 minutes"}
    with another_app(config) as limited:
        client = limited.test_client()
        for _ in range(4):  # successes are not counted
            assert api_login(client).status_code == 200
        # Password spraying: one guess for each of several accounts, none of which locks.
        assert page_login(client, "sw_staff", "Passw0rd!").status_code == 200
        assert api_login(client, "manager", "Passw0rd!").status_code == 401
        assert page_login(client, "sw_head", "Passw0rd!").status_code == 200
        refused = api_login(client)  # the right password, but from this address nothing more for now
        assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
        assert refused.headers["Retry-After"]
        page = page_login(client)
        assert page.status_code == 429 and "登入失敗次數過多" in page.text
        elsewhere = limited.test_client()
        elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.99"
        assert page_login(elsewhere).status_code == 302


def test_behind_a_proxy_each_client_address_counts_on_its_own(app):
    config = {**app.config, "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "1 per 15 minutes", "PROXY_COUNT": 1}
    with another_app(config) as limited:
        client = limited.test_client()
        one, other = {"X-Forwarded-For": "192.0.2.1"}, {"X-Forwarded-For": "192.0.2.2"}
        login = {"username": "applicant", "password": "wrong"}
        assert client.post("/api/v1/login", json=login, headers=one).status_code == 401
        assert client.post("/api/v1/login", json=login, headers=one).status_code == 429
        assert client.post("/api/v1/login", json=login, headers=other).status_code == 401


def test_an_address_refused_log_ins_keeps_using_the_api_and_the_pages_it_is_signed_in_to(app):
    """Only log-in attempts are limited: the rest skips the limiter (nothing counted, no limit headers)."""
    config = {**app.config, "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "1 per 15 minutes"}
    with another_app(config) as limited:
        client = limited.test_client()
        token = bearer(api_login(client))
        assert page_login(client).status_code == 302
        assert api_login(client, "manager", "Passw0rd!").status_code == 401
        assert api_login(client).status_code == 429 and page_login(client).status_code == 429
        for _ in range(3):
            answer = client.get("/api/v1/tasks", headers=token)
            assert answer.status_code == 200 and "X-RateLimit-Limit" not in answer.headers
            page = client.get("/")
            assert page.status_code == 200 and "X-RateLimit-Limit" not in page.headers
        assert client.post("/api/v1/logout", headers=token).status_code == 204  # not a log-in: not limited
        refused = api_login(client)
        assert refused.status_code == 429 and refused.headers["X-RateLimit-Limit"] == "1"


def test_the_limit_is_off_while_testing_unless_asked_for(app):
    """The suite logs the same people in from one address all day long."""
    assert app.config["RATELIMIT_ENABLED"] is False
    assert "limiter" not in app.extensions  # Flask-Limiter attaches no hooks when disabled


# --- revocation -------------------------------------------------------------------------------------------

def test_log_out_ends_the_session_and_every_api_token_of_the_person(app, client):
    token = bearer(api_login(client))
    other_device = app.test_client()
    page_login(other_device)
    page_login(client)
    assert client.get("/api/v1/tasks", headers=token).status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/api/v1/tasks", headers=token).status_code == 401
    assert not signed_in(other_device)
    fresh = bearer(api_login(client))
    assert client.post("/api/v1/logout", headers=fresh).status_code == 204
    assert client.get("/api/v1/tasks", headers=fresh).status_code == 401


def test_deactivation_ends_the_page_session_and_the_token_at_once(client, api):
    token = bearer(api_login(client))
    page_login(client)
    assert signed_in(client)
    response = api.as_("admin").post("/api/v1/people/applicant/deactivate")
    assert response.status_code == 200 and response.get_json()["active"] is False
    assert not signed_in(client)
    assert client.get("/api/v1/tasks", headers=token).status_code == 401
    assert page_login(client).status_code == 200 and "帳號或密碼錯誤" in page_login(client).text


def test_an_inactive_person_is_refused_even_when_the_flag_is_set_directly(client, session, person):
    page_login(client)
    person("applicant").active = False  # e.g. by an SQL script: the generation is not bumped
    session.commit()
    assert not signed_in(client)


# --- idle expiry, CSRF, cookies -----------------------------------------------------------------------------

def test_an_idle_session_expires_and_each_request_restarts_the_idle_time(app, client):
    """SESSION_IDLE_MINUTES: 30 by default."""
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False) as clock:
        page_login(client)
        stolen = client.get_cookie("session").value
        clock.shift(timedelta(minutes=20))
        assert signed_in(client)  # the cookie is signed anew: 30 minutes from now
        clock.shift(timedelta(minutes=20))
        assert signed_in(client)
        # The cookie as it was at log-in, replayed 40 minutes later: its signature is too old.
        replay = app.test_client()
        replay.set_cookie("session", stolen)
        assert not signed_in(replay)
        clock.shift(timedelta(minutes=31))
        assert not signed_in(client)


def test_a_form_posted_after_the_idle_limit_asks_for_a_log_in(app):
    with another_app({**app.config, "WTF_CSRF_ENABLED": True}) as strict:
        client = strict.test_client()
        start = datetime.now(UTC)
        with time_machine.travel(start, tick=False) as clock:
            token = csrf_token(client.get("/login").text)
            client.post("/login", data={"username": "applicant", "password": "demo", "csrf_token": token})
            token = csrf_token(client.get("/applications/mine").text)
            clock.shift(timedelta(minutes=31))
            response = client.post("/logout", data={"csrf_token": token})
            assert response.status_code == 302 and response.location.endswith("/login")
            assert "閒置過久" in client.get("/login").text
            # A log-in page left open as long: refused, with a fresh form to try again.
            stale = csrf_token(client.get("/login").text)
            clock.shift(timedelta(minutes=31))
            again = client.post("/login", data={"username": "applicant", "password": "demo", "csrf_token": stale})
            assert again.status_code == 400 and "閒置過久" in again.text
            fresh = csrf_token(again.text)
            assert client.post("/login", data={"username": "applicant", "password": "demo",
                                               "csrf_token": fresh}).status_code == 302


def test_the_csrf_secret_changes_at_log_in(app):
    with another_app({**app.config, "WTF_CSRF_ENABLED": True}) as strict:
        client = strict.test_client()
        before = csrf_token(client.get("/login").text)
        assert client.post("/login", data={"username": "applicant", "password": "demo",
                                           "csrf_token": before}).status_code == 302
        after = csrf_token(client.get("/applications/mine").text)
        serializer = URLSafeTimedSerializer(strict.secret_key, salt="wtf-csrf-token")
        assert serializer.loads(before) != serializer.loads(after)
        assert client.post("/logout", data={"csrf_token": before}).status_code == 400  # planted before log-in
        assert client.post("/logout", data={"csrf_token": after}).status_code == 302


def test_cookies_are_secure_when_the_site_is_served_over_https(database_url, monkeypatch):
    monkeypatch.setattr(SETTINGS, "base_url", SETTINGS.base_url)  # create_app sets it; put it back afterwards
    config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret",
              "WTF_CSRF_ENABLED": False}
    with another_app({**config, "BASE_URL": "https://webir.example"}) as https:
        assert https.config["PREFERRED_URL_SCHEME"] == "https"
        cookie = page_login(https.test_client()).headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie
    with another_app({**config, "BASE_URL": "http://127.0.0.1:5000"}) as plain:
        assert "Secure" not in page_login(plain.test_client()).headers["Set-Cookie"]


def test_the_signers_built_once_still_follow_a_change_of_the_secret_key(app, client, monkeypatch):
    """The session cookie's and the API token's signers are kept between requests, but never past a key change."""
    assert page_login(client).status_code == 302
    token = bearer(api_login(client, "sw_unit_head"))
    assert signed_in(client) and client.get("/api/v1/tasks", headers=token).status_code == 200
    monkeypatch.setitem(app.config, "SECRET_KEY", "a-rotated-key")
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", ["test-secret"])
    assert signed_in(client)  # Flask's fallback keys still verify a cookie signed before the rotation ...
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", [])
    assert signed_in(client)  # ... and the answer signed it anew with the current key
    monkeypatch.setitem(app.config, "SECRET_KEY", "another-key")
    assert not signed_in(client)  # a cookie signed with a key no longer held is refused
    assert client.get("/api/v1/tasks", headers=token).status_code == 401  # and so is the token
