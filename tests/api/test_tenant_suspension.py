"""A suspended business reads its data but changes nothing; signing in and out still work."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hablo.db.enums import Role
from tests.api.auth_helpers import PASSWORD, bearer, live_api, login, make_user
from tests.api.support import Api
from tests.providers.fake_smtp import Inbox


@pytest.fixture
def mailed_api(db_url: str) -> Iterator[tuple[Api, Inbox]]:
    with live_api(db_url) as running:
        yield running


def _set_status(api: Api, status: str) -> None:
    root = api.as_role(Role.SUPER_ADMIN)
    path = f"/api/admin/tenants/{api.tenant_id()}/status"
    answer = root.put(path, json={"status": status})
    assert answer.status_code == 200, answer.text


def test_a_suspended_business_is_read_only(mailed_api: tuple[Api, Inbox]) -> None:
    api, _ = mailed_api
    owner = api.as_role(Role.OWNER)
    made = owner.post("/api/contacts", json={"name": "Ana", "phone": "+541155550001"})
    assert made.status_code == 201, made.text
    contact = f"/api/contacts/{made.json()['id']}"
    agent_email = make_user(api, Role.AGENT)

    _set_status(api, "suspended")
    # Reads work.
    assert owner.get("/api/contacts").json()["total"] == 1
    assert owner.get(contact).status_code == 200
    assert owner.get("/api/services").status_code == 200
    # Every kind of write is refused with a code a client can act on.
    for answer in (
        owner.post("/api/contacts", json={"name": "Beto", "phone": "+541155550002"}),
        owner.put(contact, json={"name": "Ana María"}),
        owner.delete(contact),
        owner.post(
            "/api/users", json={"email": "x@salon.test", "first_name": "X", "role": "agent"}
        ),
    ):
        assert answer.status_code == 403, answer.text
        error = answer.json()["error"]
        assert error["code"] == "tenant_suspended" and "suspended" in error["message"]
    assert owner.get(contact).json()["name"] == "Ana"
    assert owner.get("/api/contacts").json()["total"] == 1

    # Signing in, changing one's password and signing out are the account's own business.
    signed_in = login(api, agent_email)
    assert signed_in.status_code == 200, signed_in.text
    agent = bearer(api, signed_in.json()["access_token"])
    assert agent.get("/api/contacts").status_code == 200
    changed = agent.post(
        "/api/auth/password/change",
        json={"current_password": PASSWORD, "new_password": "Peine-Violeta-2031"},
    )
    assert changed.status_code in (200, 204), changed.text
    again = login(api, agent_email, "Peine-Violeta-2031").json()
    assert bearer(api, again["access_token"]).post("/api/auth/logout").status_code == 204

    # Reactivated, the same write goes through.
    _set_status(api, "active")
    assert owner.put(contact, json={"name": "Ana María"}).status_code == 200
