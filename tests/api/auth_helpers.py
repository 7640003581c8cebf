"""Shared by the account tests: a live API whose mail goes to a fake SMTP server, and
users with real passwords."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select

from hablo.db.enums import Role
from hablo.db.models import AuditLog, User
from hablo.security.passwords import hash_password
from tests.api.support import Api, Client
from tests.api.support import live_api as live_server
from tests.providers.fake_smtp import Inbox, fake_smtp

PASSWORD = "Gato-Azul-2024"


@contextmanager
def live_api(db_url: str, **overrides: Any) -> Iterator[tuple[Api, Inbox]]:
    with (
        fake_smtp() as (inbox, port),
        live_server(
            db_url,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            **overrides,
        ) as api,
    ):
        yield api, inbox


def make_user(
    api: Api,
    role: Role,
    *,
    password: str = PASSWORD,
    tenant: str = "demo",
    method: str | None = None,
) -> str:
    """A user with a real password; returns the e-mail."""
    tenant_id = None if role is Role.SUPER_ADMIN else api.tenant_id(tenant)
    email = f"{role.value}.{uuid.uuid4().hex[:8]}@example.com"
    with api.runtime.db.transaction() as session:
        session.add(
            User(
                tenant_id=tenant_id,
                email=email,
                first_name="Ana",
                password_hash=hash_password(password),
                role=role,
                two_factor_method=method,
            )
        )
    return email


def login(api: Api, email: str, password: str = PASSWORD) -> Any:
    return api.anonymous().post("/api/auth/login", json={"email": email, "password": password})


def login_with_mailed_code(api: Api, inbox: Inbox, email: str) -> dict[str, Any]:
    before = len(inbox.to(email))
    first = login(api, email)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["two_factor_required"] is True and body["method"] == "email"
    code = inbox.code_in(inbox.wait_for(email, before + 1))
    done = api.anonymous().post(
        "/api/auth/2fa/verify", json={"challenge": body["challenge"], "code": code}
    )
    assert done.status_code == 200, done.text
    tokens: dict[str, Any] = done.json()
    return tokens


def bearer(api: Api, access_token: str) -> Client:
    return Client(api.base_url, access_token)


def user_row(api: Api, email: str) -> User:
    with api.runtime.db.transaction() as session:
        return session.scalars(select(User).where(User.email == email)).one()


def audit_actions(api: Api, email: str) -> list[str]:
    user_id = user_row(api, email).id
    with api.runtime.db.transaction() as session:
        rows = session.scalars(
            select(AuditLog)
            .where(AuditLog.entity_id == str(user_id))
            .order_by(AuditLog.created_at, AuditLog.id)
        )
        return [row.action for row in rows]
