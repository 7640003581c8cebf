"""Account security around the flows: rate limits (in-process and Redis), no secret in
any log line, mail delivery, the demo's own mail folder."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
import redis

from hablo.api.proxies import client_address, parse_networks
from hablo.api.ratelimit import InProcessBackend, Limit, RedisBackend
from hablo.db.enums import Role
from hablo.notify.mailer import FileMailer, MailError, SmtpMailer
from tests.api.auth_helpers import (
    PASSWORD,
    bearer,
    live_api,
    login,
    login_with_mailed_code,
    make_user,
)

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return client


@pytest.mark.parametrize("backend", ["inprocess", "redis"])
def test_login_is_rate_limited_per_ip(db_url: str, backend: str) -> None:
    overrides: dict[str, object] = {}
    prefix = f"hablo-test-{uuid.uuid4().hex}:"
    if backend == "redis":
        client = _redis_or_skip()
        overrides = {"redis_url": REDIS_URL, "redis_prefix": prefix}
    with live_api(db_url, **overrides) as (api, _):
        anon = api.anonymous()
        # Each attempt names another unknown e-mail: this is the per-IP limit, not the
        # per-account lockout (which unknown e-mails get too, after five tries).
        statuses = [
            anon.post("/api/auth/login", json=_unknown_login(n)).status_code for n in range(11)
        ]
        assert statuses == [401] * 10 + [429]
        limited = anon.post("/api/auth/login", json=_unknown_login(11))
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert limited.json()["error"]["code"] == "rate_limited"
        # Other operations keep their own, wider budget.
        assert anon.get("/api/auth/me").status_code == 401
    if backend == "redis":
        keys = client.keys(f"{prefix}*")
        assert keys, "the Redis backend stored no counter"
        client.delete(*keys)


def test_in_process_windows_reset() -> None:
    now = [1000.0]
    backend = InProcessBackend(clock=lambda: now[0])
    limit = Limit(2, 60)
    hits = [asyncio.run(backend.hit("k", limit)).allowed for _ in range(3)]
    assert hits == [True, True, False]
    assert asyncio.run(backend.hit("k", limit)).retry_after_s == 60
    assert asyncio.run(backend.hit("other", limit)).allowed
    now[0] += 60
    assert asyncio.run(backend.hit("k", limit)).allowed


def test_redis_windows_count_and_expire() -> None:
    client = _redis_or_skip()
    prefix = f"hablo-test-{uuid.uuid4().hex}:"

    async def scenario() -> list[tuple[bool, int]]:
        backend = RedisBackend(REDIS_URL, prefix)
        try:
            return [
                (v.allowed, v.retry_after_s)
                for v in [await backend.hit("k", Limit(2, 30)) for _ in range(3)]
            ]
        finally:
            await backend.close()

    results = asyncio.run(scenario())
    assert [allowed for allowed, _ in results] == [True, True, False]
    assert all(1 <= retry <= 30 for _, retry in results)
    (key,) = client.keys(f"{prefix}*")
    assert 0 < client.pttl(key) <= 30_000
    client.delete(key)


def test_an_unreachable_redis_lets_requests_through() -> None:
    async def scenario() -> bool:
        backend = RedisBackend("redis://127.0.0.1:1/0", "x:")
        try:
            return (await backend.hit("k", Limit(1, 60))).allowed
        finally:
            await backend.close()

    assert asyncio.run(scenario())


def test_forgot_password_mails_one_address_at_most_three_times(db_url: str) -> None:
    with live_api(db_url) as (api, inbox):
        email = make_user(api, Role.AGENT)
        anon = api.anonymous()
        answers = [
            anon.post("/api/auth/password/forgot", json={"email": email}).status_code
            for _ in range(5)
        ]
        assert answers == [202] * 5  # the answer never changes...
        inbox.wait_for(email, 3)
        limited = anon.post("/api/auth/password/forgot", json={"email": email})
        assert limited.status_code == 429  # ...but an IP gets five tries in 15 minutes
        assert len(inbox.to(email)) == 3


def test_no_secret_reaches_a_log_line(db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = []
    with live_api(db_url) as (api, inbox):
        anon = api.anonymous()
        registered = anon.post(
            "/api/auth/register",
            json={
                "business_name": "Kiosco",
                "slug": "kiosco",
                "email": "kiosco@example.com",
                "first_name": "Eva",
                "password": PASSWORD,
            },
        )
        assert registered.status_code == 201
        secrets.append(PASSWORD)
        first = login(api, "kiosco@example.com").json()
        secrets.append(first["challenge"])
        code = inbox.code_in(inbox.wait_for("kiosco@example.com"))
        secrets.append(code)
        wrong = "000000" if code != "000000" else "111111"
        anon.post("/api/auth/2fa/verify", json={"challenge": first["challenge"], "code": wrong})
        tokens = anon.post(
            "/api/auth/2fa/verify", json={"challenge": first["challenge"], "code": code}
        ).json()
        secrets += [tokens["access_token"], tokens["refresh_token"]]
        rotated = anon.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        secrets += [rotated.json()["access_token"], rotated.json()["refresh_token"]]
        me = bearer(api, rotated.json()["access_token"])
        setup = me.post("/api/auth/2fa/setup").json()
        secrets.append(setup["secret"])
        totp_code = pyotp.TOTP(setup["secret"]).now()
        secrets.append(totp_code)
        me.post("/api/auth/2fa/confirm", json={"code": totp_code})
        login(api, "kiosco@example.com", "Wrong-Password-9")
        secrets.append("Wrong-Password-9")
        new_password = "Nueva-Clave-Tienda-1"
        changed = me.post(
            "/api/auth/password/change",
            json={"current_password": PASSWORD, "new_password": new_password},
        )
        assert changed.status_code == 204
        secrets.append(new_password)
        anon.post("/api/auth/password/forgot", json={"email": "kiosco@example.com"})
        token = inbox.reset_token_in(inbox.wait_for("kiosco@example.com", 2))
        secrets.append(token)
        final_password = "Final-Clave-Tienda-2"
        reset = anon.post(
            "/api/auth/password/reset", json={"token": token, "new_password": final_password}
        )
        assert reset.status_code == 204
        secrets.append(final_password)
        anon.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})

    # The fake SMTP server's own debug log shows the mails it received: not ours.
    ours = [r for r in caplog.records if not r.name.startswith("mail.log")]
    assert any(r.name.startswith("hablo") for r in ours)
    text = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in ours)
    leaked = [s for s in secrets if s in text]
    assert leaked == []


def test_smtp_mailer_reports_an_unreachable_server() -> None:
    mailer = SmtpMailer("hablo <x@example.com>", "127.0.0.1", 1, security="none", timeout_s=2)
    with pytest.raises(MailError):
        mailer.send("a@example.com", "s", "b")


def test_file_mailer_and_hablo_mail_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from hablo.cli import main

    mailer = FileMailer("hablo <x@example.com>", tmp_path / "mail")
    assert main_mail_last(main, monkeypatch, tmp_path) == 1  # nothing yet: says so
    mailer.send("a@example.com", "primero", "uno")
    mailer.send("a@example.com", "segundo", "código 123456")
    newest = mailer.newest()
    assert newest is not None and "segundo" in newest.read_text()
    assert oct(newest.stat().st_mode & 0o777) == "0o600"
    capsys.readouterr()
    assert main_mail_last(main, monkeypatch, tmp_path) == 0
    out = capsys.readouterr().out
    assert "segundo" in out and "123456" in out and "primero" not in out


def main_mail_last(main: Any, monkeypatch: pytest.MonkeyPatch, state: Path) -> int:
    monkeypatch.setenv("HABLO_STATE_DIR", str(state))
    code: int = main(["mail", "last"])
    return code


def test_expired_login_code_is_refused(db_url: str) -> None:
    from sqlalchemy import update

    from hablo.db.models import OneTimeCode

    with live_api(db_url) as (api, inbox):
        email = make_user(api, Role.OWNER)
        challenge = login(api, email).json()["challenge"]
        code = inbox.code_in(inbox.wait_for(email))
        with api.runtime.db.transaction() as session:
            session.execute(
                update(OneTimeCode)
                .where(OneTimeCode.purpose == "login")
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        late = api.anonymous().post(
            "/api/auth/2fa/verify", json={"challenge": challenge, "code": code}
        )
        assert late.status_code == 401
        login_with_mailed_code(api, inbox, email)  # a new login mails a new code


def test_behind_a_trusted_proxy_limits_count_each_client_and_hsts_is_sent(db_url: str) -> None:
    with live_api(db_url, trusted_proxies=["127.0.0.1/32"]) as (api, _):
        anon = api.anonymous()
        def attempt(client_ip: str, n: int) -> int:
            headers = {"X-Forwarded-For": f"198.51.100.1, {client_ip}"}
            body = _unknown_login(n)
            return anon.post("/api/auth/login", json=body, headers=headers).status_code

        assert [attempt("203.0.113.7", n) for n in range(11)] == [401] * 10 + [429]
        # Another customer behind the same proxy has their own budget.
        assert attempt("203.0.113.8", 99) == 401
        over_tls = anon.get("/api/auth/me", headers={"X-Forwarded-Proto": "https"})
        assert over_tls.headers["Strict-Transport-Security"].startswith("max-age=")


def test_forwarded_headers_from_anyone_else_are_ignored(db_url: str) -> None:
    with live_api(db_url, trusted_proxies=["10.0.0.0/8"]) as (api, _):
        anon = api.anonymous()
        # A client cannot dodge the limit by inventing a new address each time.
        statuses = [
            anon.post(
                "/api/auth/login",
                json=_unknown_login(n),
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            ).status_code
            for n in range(11)
        ]
        assert statuses == [401] * 10 + [429]
        plain = anon.get("/api/auth/me", headers={"X-Forwarded-Proto": "https"})
        assert "Strict-Transport-Security" not in plain.headers


@pytest.mark.parametrize(
    ("remote", "header", "client"),
    [
        ("10.0.0.5", "203.0.113.7", "203.0.113.7"),
        ("10.0.0.5", "1.2.3.4, 203.0.113.7, 10.0.0.9", "203.0.113.7"),  # rightmost untrusted
        ("10.0.0.5", "", "10.0.0.5"),
        ("10.0.0.5", "not-an-ip", "10.0.0.5"),
        ("10.0.0.5", "10.0.0.7", "10.0.0.7"),  # only proxies: the first is the client
        ("198.51.100.2", "203.0.113.7", "198.51.100.2"),  # not a proxy of ours
    ],
)
def test_client_address(remote: str, header: str, client: str) -> None:
    networks = parse_networks(["10.0.0.0/8"])
    assert client_address(remote, header, networks) == client


def test_a_bad_proxy_setting_is_refused() -> None:
    from hablo.config import Settings

    with pytest.raises(ValueError, match="trusted_proxies"):
        Settings.model_validate({"trusted_proxies": ["10.0.0.0/33"]})


def _unknown_login(n: int) -> dict[str, str]:
    return {"email": f"nobody{n}@example.com", "password": "Whatever-123"}
