"""Accounts over real HTTP on SQLite and PostgreSQL: sign-up, login with a second factor,
lockout, rotating sessions, logout, password reset and change, TOTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import func, select, update

from hablo.db.enums import Role, UserStatus
from hablo.db.models import RefreshToken, Tenant, User
from tests.api.auth_helpers import (
    PASSWORD,
    audit_actions,
    bearer,
    live_api,
    login,
    login_with_mailed_code,
    make_user,
    user_row,
)
from tests.api.support import Api
from tests.providers.fake_smtp import Inbox

NEW_PASSWORD = "Otra-Clave-Segura-77"


@pytest.fixture
def env(db_url: str) -> Iterator[tuple[Api, Inbox]]:
    with live_api(db_url) as pair:
        yield pair


def _register_body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "business_name": "Barbería Norte",
        "slug": "barberia-norte",
        "locale": "es-AR",
        "timezone": "America/Argentina/Cordoba",
        "currency": "ARS",
        "email": "dueno@barberia.example",
        "first_name": "Luis",
        "password": PASSWORD,
    }
    body.update(changes)
    return body


def test_register_creates_business_and_owner_once(env: tuple[Api, Inbox]) -> None:
    api, inbox = env
    anon = api.anonymous()
    created = anon.post("/api/auth/register", json=_register_body())
    assert created.status_code == 201, created.text
    out = created.json()
    assert out["slug"] == "barberia-norte" and out["user"]["role"] == "owner"
    assert out["user"]["two_factor_mandatory"] is True
    assert "access_token" not in out

    taken_slug = anon.post("/api/auth/register", json=_register_body(email="otra@x.example"))
    assert taken_slug.status_code == 409
    assert taken_slug.json()["error"]["details"] == {"field": "slug"}
    # A registered e-mail: answered as if created (no enumeration), nothing is created,
    # and the address's owner is told by mail instead.
    taken_email = anon.post(
        "/api/auth/register", json=_register_body(slug="otra", email="DUENO@barberia.example")
    )
    assert taken_email.status_code == 201, taken_email.text
    assert set(taken_email.json()) == set(out) and taken_email.json()["slug"] == "otra"
    assert taken_email.json()["user"].keys() == out["user"].keys()
    with api.runtime.db.transaction() as session:
        assert session.scalar(select(Tenant.id).where(Tenant.slug == "otra")) is None
    assert anon.post("/api/auth/register", json=_register_body(slug="otra")).status_code == 201

    weak = anon.post(
        "/api/auth/register", json=_register_body(slug="debil", password="password123")
    )
    assert weak.status_code == 422 and weak.json()["error"]["code"] == "weak_password"
    own_name = anon.post(
        "/api/auth/register",
        json=_register_body(slug="nombre", email="luisito@x.example", password="Luisito-2024-x"),
    )
    assert own_name.status_code == 422
    assert "e-mail" in str(own_name.json()["error"]["details"])
    bad_zone = anon.post("/api/auth/register", json=_register_body(slug="zona", timezone="Mars/X"))
    assert bad_zone.status_code == 422
    bad_slug = anon.post("/api/auth/register", json=_register_body(slug="No Vale"))
    assert bad_slug.status_code == 422
    with api.runtime.db.transaction() as session:
        slugs = set(session.scalars(select(Tenant.slug)))
        owners = session.scalar(
            select(func.count()).where(func.lower(User.email) == "dueno@barberia.example")
        )
    assert "barberia-norte" in slugs and not slugs & {"otra", "debil", "nombre", "zona"}
    assert owners == 1

    # The new owner logs in with the mailed code and works inside the new business.
    tokens = login_with_mailed_code(api, inbox, "dueno@barberia.example")
    services = bearer(api, tokens["access_token"]).get("/api/services")
    assert services.status_code == 200 and services.json()["total"] == 0
    assert audit_actions(api, "dueno@barberia.example")[:2] == ["register", "login"]


def test_agent_gets_tokens_directly_and_wrong_passwords_look_alike(env: tuple[Api, Inbox]) -> None:
    api, _ = env
    email = make_user(api, Role.AGENT)
    response = login(api, email)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["two_factor_required"] is False and body["token_type"] == "Bearer"
    assert body["expires_in"] == api.runtime.settings.access_token_ttl_s
    me = bearer(api, body["access_token"]).get("/api/auth/me")
    assert me.status_code == 200 and me.json()["email"] == email and me.json()["role"] == "agent"
    assert me.json()["last_login_at"] is not None

    wrong = login(api, email, "Not-The-Password-1")
    unknown = login(api, "nobody@example.com", "Not-The-Password-1")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert audit_actions(api, email) == ["login", "login_failed"]


def test_privileged_login_needs_the_mailed_code(env: tuple[Api, Inbox]) -> None:
    api, inbox = env
    email = make_user(api, Role.OWNER)
    first = login(api, email)
    assert first.status_code == 200
    body = first.json()
    assert body["two_factor_required"] is True and body["access_token"] is None
    assert body["method"] == "email" and body["challenge_expires_in"] == 600
    mail = inbox.wait_for(email)
    code = inbox.code_in(mail)
    assert code not in mail["Subject"]

    anon = api.anonymous()
    wrong_code = "000000" if code != "000000" else "111111"
    wrong = anon.post(
        "/api/auth/2fa/verify", json={"challenge": body["challenge"], "code": wrong_code}
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == {
        "code": "invalid_code",
        "message": "wrong or expired code",
        "details": {"attempts_left": 4},
    }
    ok = anon.post("/api/auth/2fa/verify", json={"challenge": body["challenge"], "code": code})
    assert ok.status_code == 200, ok.text
    tokens = ok.json()
    assert set(tokens) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert bearer(api, tokens["access_token"]).get("/api/services").status_code == 200
    again = anon.post("/api/auth/2fa/verify", json={"challenge": body["challenge"], "code": code})
    assert again.status_code == 401
    assert audit_actions(api, email) == ["login_failed", "login"]


def test_five_wrong_codes_end_the_challenge_and_lock_the_account(env: tuple[Api, Inbox]) -> None:
    api, inbox = env
    email = make_user(api, Role.ADMIN)
    challenge = login(api, email).json()["challenge"]
    code = inbox.code_in(inbox.wait_for(email))
    wrong = "000000" if code != "000000" else "111111"
    anon = api.anonymous()
    answers = [
        anon.post("/api/auth/2fa/verify", json={"challenge": challenge, "code": wrong})
        for _ in range(5)
    ]
    assert [a.status_code for a in answers] == [401] * 4 + [423]
    assert answers[3].json()["error"]["details"] == {"attempts_left": 1}
    assert answers[4].json()["error"]["code"] == "account_locked"
    late = anon.post("/api/auth/2fa/verify", json={"challenge": challenge, "code": code})
    assert late.status_code == 401
    assert login(api, email).status_code == 423  # the right password does not help now


def test_wrong_codes_add_up_over_logins_with_the_right_password(env: tuple[Api, Inbox]) -> None:
    """With a leaked password, fresh logins do not give fresh guesses at the code."""
    api, inbox = env
    email = make_user(api, Role.OWNER)
    anon = api.anonymous()
    statuses = []
    for round_ in range(3):
        challenge = login(api, email).json()["challenge"]
        code = inbox.code_in(inbox.wait_for(email, round_ + 1))
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(2):
            answer = anon.post("/api/auth/2fa/verify", json={"challenge": challenge, "code": wrong})
            statuses.append(answer.status_code)
            if answer.status_code == 423:
                break
    assert statuses == [401, 401, 401, 401, 423]
    assert login(api, email).status_code == 423


def test_five_wrong_passwords_lock_the_account(env: tuple[Api, Inbox]) -> None:
    api, _ = env
    email = make_user(api, Role.AGENT)
    statuses = [login(api, email, f"Wrong-Password-{i}").status_code for i in range(5)]
    assert statuses == [401, 401, 401, 401, 423]
    locked = login(api, email)  # the right password does not help now
    assert locked.status_code == 423
    assert locked.json()["error"]["code"] == "account_locked"
    retry_after = int(locked.headers["Retry-After"])
    assert 14 * 60 < retry_after <= 15 * 60 + 1
    actions = audit_actions(api, email)
    assert actions.count("login_failed") == 5 and actions.count("lockout") == 1

    with api.runtime.db.transaction() as session:  # fifteen minutes later
        session.execute(
            update(User)
            .where(User.email == email)
            .values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert login(api, email).status_code == 200
    assert user_row(api, email).failed_logins == 0


def test_unknown_e_mails_answer_like_real_ones(env: tuple[Api, Inbox]) -> None:
    """401 four times then 423 (with a similar Retry-After), whether or not the address has
    an account: a lockout does not tell an attacker which e-mails exist."""
    api, inbox = env
    real, unknown = make_user(api, Role.AGENT), "nadie.aqui@nowhere.example"
    answers = {}
    for email in (real, unknown):
        # Five each: the login endpoint allows ten a minute per client address.
        answers[email] = [login(api, email, f"Wrong-Password-{i}") for i in range(5)]
    for email, got in answers.items():
        assert [a.status_code for a in got] == [401] * 4 + [423], email
        assert got[0].json() == answers[real][0].json()
        assert got[4].json()["error"]["code"] == "account_locked"
        assert 14 * 60 < int(got[4].headers["Retry-After"]) <= 15 * 60 + 1

    # Sign-up with a registered e-mail: the same 201 shape, and the holder gets a mail.
    anon = api.anonymous()
    fresh = anon.post("/api/auth/register", json=_register_body(slug="nueva-1"))
    again = anon.post("/api/auth/register", json=_register_body(slug="nueva-2", email=real))
    assert fresh.status_code == again.status_code == 201
    assert set(fresh.json()["user"]) == set(again.json()["user"])
    notice = inbox.wait_for(real, timeout=30)
    assert "hablo" in str(notice["Subject"]).lower()


def test_refresh_rotates_and_a_reused_token_closes_the_session(env: tuple[Api, Inbox]) -> None:
    api, _ = env
    email = make_user(api, Role.CLIENT)
    first = login(api, email).json()
    anon = api.anonymous()
    second = anon.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert bearer(api, rotated["access_token"]).get("/api/auth/me").status_code == 200
    with api.runtime.db.transaction() as session:
        stored = list(session.scalars(select(RefreshToken.token_hash)))
    assert first["refresh_token"] not in stored and rotated["refresh_token"] not in stored

    stolen = anon.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert stolen.status_code == 401
    assert stolen.json()["error"]["code"] == "refresh_token_reused"
    # The whole family is gone: the latest refresh token and its access tokens too.
    latest = anon.post("/api/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert latest.status_code == 401
    assert bearer(api, rotated["access_token"]).get("/api/auth/me").status_code == 401
    assert "session_reuse_revoked" in audit_actions(api, email)
    unknown = anon.post("/api/auth/refresh", json={"refresh_token": "x" * 43})
    assert unknown.status_code == 401


def test_logout_closes_one_session_and_logout_all_every_one(env: tuple[Api, Inbox]) -> None:
    api, _ = env
    email = make_user(api, Role.AGENT)
    a = login(api, email).json()
    b = login(api, email).json()
    c = login(api, email).json()
    assert bearer(api, a["access_token"]).post("/api/auth/logout").status_code == 204
    assert bearer(api, a["access_token"]).get("/api/auth/me").status_code == 401
    assert bearer(api, b["access_token"]).get("/api/auth/me").status_code == 200
    anon = api.anonymous()
    assert (
        anon.post("/api/auth/refresh", json={"refresh_token": a["refresh_token"]}).status_code
        == 401
    )

    assert bearer(api, b["access_token"]).post("/api/auth/logout-all").status_code == 204
    for session in (b, c):
        assert bearer(api, session["access_token"]).get("/api/auth/me").status_code == 401
        refreshed = anon.post("/api/auth/refresh", json={"refresh_token": session["refresh_token"]})
        assert refreshed.status_code == 401
    assert audit_actions(api, email)[-2:] == ["logout", "logout_all"]


def test_a_blocked_user_is_refused_at_once(env: tuple[Api, Inbox]) -> None:
    api, _ = env
    email = make_user(api, Role.AGENT)
    tokens = login(api, email).json()
    with api.runtime.db.transaction() as session:
        session.execute(update(User).where(User.email == email).values(status=UserStatus.BLOCKED))
    assert bearer(api, tokens["access_token"]).get("/api/auth/me").status_code == 401
    refreshed = api.anonymous().post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 401
    refused = login(api, email)
    assert refused.status_code == 403


def test_forgot_and_reset_password(env: tuple[Api, Inbox]) -> None:
    api, inbox = env
    email = make_user(api, Role.AGENT)
    session_before = login(api, email).json()
    anon = api.anonymous()
    nobody = anon.post("/api/auth/password/forgot", json={"email": "nobody@example.com"})
    known = anon.post("/api/auth/password/forgot", json={"email": email.upper()})
    assert nobody.status_code == known.status_code == 202
    assert nobody.json() == known.json()
    token = inbox.reset_token_in(inbox.wait_for(email))
    assert inbox.to("nobody@example.com") == []

    weak = anon.post(
        "/api/auth/password/reset", json={"token": token, "new_password": "abcdefghij"}
    )
    assert weak.status_code == 422
    done = anon.post(
        "/api/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert done.status_code == 204, done.text
    again = anon.post(
        "/api/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_token"

    assert bearer(api, session_before["access_token"]).get("/api/auth/me").status_code == 401
    assert login(api, email).status_code == 401
    assert login(api, email, NEW_PASSWORD).status_code == 200
    actions = audit_actions(api, email)
    assert "password_reset_requested" in actions and "password_reset" in actions


def test_a_reset_also_lifts_a_lockout(env: tuple[Api, Inbox]) -> None:
    api, inbox = env
    email = make_user(api, Role.CLIENT)
    for i in range(5):
        login(api, email, f"Wrong-Password-{i}")
    assert login(api, email).status_code == 423
    api.anonymous().post("/api/auth/password/forgot", json={"email": email})
    token = inbox.reset_token_in(inbox.wait_for(email))
    reset = api.anonymous().post(
        "/api/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert reset.status_code == 204
    assert login(api, email, NEW_PASSWORD).status_code == 200


def test_change_password_keeps_this_session_only(env: tuple[Api, Inbox]) -> None:
    api, _ = env
    email = make_user(api, Role.AGENT)
    mine = login(api, email).json()
    other = login(api, email).json()
    me = bearer(api, mine["access_token"])
    wrong = me.post(
        "/api/auth/password/change",
        json={"current_password": "Not-It-12345", "new_password": NEW_PASSWORD},
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "wrong_password"
    changed = me.post(
        "/api/auth/password/change",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 204, changed.text
    assert me.get("/api/auth/me").status_code == 200
    assert bearer(api, other["access_token"]).get("/api/auth/me").status_code == 401
    assert login(api, email, NEW_PASSWORD).status_code == 200
    assert "password_change" in audit_actions(api, email)


def test_totp_setup_then_login_with_the_authenticator(env: tuple[Api, Inbox]) -> None:
    api, inbox = env
    email = make_user(api, Role.OWNER)
    tokens = login_with_mailed_code(api, inbox, email)
    me = bearer(api, tokens["access_token"])
    setup = me.post("/api/auth/2fa/setup")
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    assert setup.json()["otpauth_uri"].startswith("otpauth://totp/")
    assert secret not in (user_row(api, email).totp_secret_encrypted or "")
    assert me.get("/api/auth/me").json()["two_factor_method"] is None  # not yet confirmed

    totp = pyotp.TOTP(secret)
    bad = me.post(
        "/api/auth/2fa/confirm", json={"code": "000000" if totp.now() != "000000" else "1"}
    )
    assert bad.status_code in (400, 422)
    confirmed = me.post("/api/auth/2fa/confirm", json={"code": totp.now()})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["two_factor_method"] == "totp"
    assert me.post("/api/auth/2fa/setup").status_code == 409

    mails_before = len(inbox.to(email))
    challenge = login(api, email).json()
    assert challenge["method"] == "totp"
    code = totp.now()
    anon = api.anonymous()
    ok = anon.post("/api/auth/2fa/verify", json={"challenge": challenge["challenge"], "code": code})
    if ok.status_code == 401:  # the code was spent by the confirmation (same 30 s step)
        code = totp.at(datetime.now(UTC) + timedelta(seconds=30))
        ok = anon.post(
            "/api/auth/2fa/verify", json={"challenge": challenge["challenge"], "code": code}
        )
    assert ok.status_code == 200, ok.text
    assert len(inbox.to(email)) == mails_before  # no mail for authenticator users

    replay = login(api, email).json()
    replayed = anon.post(
        "/api/auth/2fa/verify", json={"challenge": replay["challenge"], "code": code}
    )
    assert replayed.status_code == 401
    actions = audit_actions(api, email)
    assert "2fa_setup_started" in actions and "2fa_enabled" in actions


def test_second_factor_is_mandatory_for_owners_optional_for_agents(
    env: tuple[Api, Inbox],
) -> None:
    api, inbox = env
    owner_email = make_user(api, Role.OWNER)
    owner = bearer(api, login_with_mailed_code(api, inbox, owner_email)["access_token"])
    refused = owner.put("/api/auth/2fa", json={"method": "none", "password": PASSWORD})
    assert refused.status_code == 403

    agent_email = make_user(api, Role.AGENT)
    agent = bearer(api, login(api, agent_email).json()["access_token"])
    wrong = agent.put("/api/auth/2fa", json={"method": "email", "password": "Nope-123456"})
    assert wrong.status_code == 400
    opted = agent.put("/api/auth/2fa", json={"method": "email", "password": PASSWORD})
    assert opted.status_code == 200 and opted.json()["two_factor_method"] == "email"
    assert login(api, agent_email).json()["two_factor_required"] is True
    login_with_mailed_code(api, inbox, agent_email)
    assert "2fa_changed" in audit_actions(api, agent_email)


def test_super_admin_without_tenant_logs_in_with_a_code(env: tuple[Api, Inbox]) -> None:
    api, inbox = env
    email = make_user(api, Role.SUPER_ADMIN)
    tokens = login_with_mailed_code(api, inbox, email)
    me = bearer(api, tokens["access_token"]).get("/api/auth/me")
    assert me.status_code == 200 and me.json()["tenant_id"] is None


def test_bad_input_is_a_clear_error(env: tuple[Api, Inbox]) -> None:
    api, _ = env
    anon = api.anonymous()
    missing = anon.post("/api/auth/login", json={"email": "a@b.example"})
    assert missing.status_code == 422
    extra = anon.post("/api/auth/login", json={"email": "a@b.example", "password": "x", "x": 1})
    assert extra.status_code == 422
    not_email = anon.post("/api/auth/login", json={"email": "nope", "password": "Secret-123"})
    assert not_email.status_code == 422
    assert "Secret-123" not in not_email.text
    assert anon.get("/api/auth/me").status_code == 401
    bad_code = anon.post("/api/auth/2fa/verify", json={"challenge": "x" * 43, "code": "12ab56"})
    assert bad_code.status_code == 422
    doc = anon.get("/openapi.json").json()
    assert "423" in doc["paths"]["/api/auth/login"]["post"]["responses"]
