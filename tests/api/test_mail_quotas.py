"""Mails a business sends to addresses it types in (invoices, invitations) are limited per
tenant and hour: 429 with Retry-After in the JSON error shape, other tenants unaffected."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import func, select

from hablo.db.enums import Role
from hablo.db.models import User
from tests.api.auth_helpers import live_api
from tests.api.support import Api
from tests.api.test_invoices import paid_invoice
from tests.providers.fake_smtp import Inbox

QUOTA = 2


@pytest.fixture
def mailed(db_url: str) -> Iterator[tuple[Api, Inbox]]:
    with live_api(
        db_url,
        invoice_mails_per_tenant_per_hour=QUOTA,
        invitation_mails_per_tenant_per_hour=QUOTA,
    ) as running:
        yield running


def _assert_rate_limited(answer: requests.Response) -> None:
    assert answer.status_code == 429, answer.text
    retry_after = int(answer.headers["Retry-After"])
    assert 0 < retry_after <= 3600
    assert answer.json()["error"]["code"] == "rate_limited"


def test_invoice_mails_are_limited_per_tenant(mailed: tuple[Api, Inbox]) -> None:
    api, inbox = mailed
    owner = api.as_role(Role.OWNER)
    invoice = paid_invoice(api, email="begona@example.com")
    addresses = [f"x{i}.{uuid.uuid4().hex[:6]}@example.com" for i in range(QUOTA + 1)]
    for address in addresses[:QUOTA]:
        sent = owner.post(f"/api/invoices/{invoice}/send", json={"email": address})
        assert sent.status_code == 200, sent.text
        inbox.wait_for(address, timeout=30)
    _assert_rate_limited(owner.post(f"/api/invoices/{invoice}/send", json={"email": addresses[-1]}))
    assert inbox.to(addresses[-1]) == []

    # Another business has its own quota.
    theirs = paid_invoice(api, tenant="other", email="otro@example.com")
    other = api.as_role(Role.OWNER, tenant="other")
    assert other.post(f"/api/invoices/{theirs}/send", json={}).status_code == 200


def test_invitations_are_limited_per_tenant(mailed: tuple[Api, Inbox]) -> None:
    api, _ = mailed
    owner = api.as_role(Role.OWNER)

    def invite(email: str) -> requests.Response:
        return owner.post("/api/users", json={"email": email, "first_name": "A", "role": "agent"})

    emails = [f"inv{i}.{uuid.uuid4().hex[:6]}@salon.test" for i in range(QUOTA + 1)]
    for email in emails[:QUOTA]:
        assert invite(email).status_code == 201
    _assert_rate_limited(invite(emails[-1]))
    # The same answer for an address held in another business: the limit says nothing.
    holder = api.user(Role.OWNER, tenant="other")[0]
    with api.runtime.db.transaction() as session:
        holder_email = session.scalars(select(User.email).where(User.id == holder)).one()
    _assert_rate_limited(invite(holder_email))
    with api.runtime.db.transaction() as session:
        assert session.scalar(select(func.count()).where(User.email == emails[-1])) == 0
    # Users with an initial password get no mail: they are not counted.
    made = owner.post(
        "/api/users",
        json={
            "email": f"p.{uuid.uuid4().hex[:6]}@salon.test",
            "first_name": "P",
            "role": "agent",
            "password": "Tijeras-de-Oro-2026",
        },
    )
    assert made.status_code == 201, made.text
