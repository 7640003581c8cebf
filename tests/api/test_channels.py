"""Channel accounts over the API: secrets are write-only and sealed, an address belongs to
one business, changes reach the adapters' directory at once."""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy import select

from hablo.adapters.accounts import open_secrets
from hablo.db.enums import Role
from hablo.db.models import AuditLog, ChannelAccount
from tests.api.support import Api

CLOUD = {
    "channel": "whatsapp_cloud",
    "address": "109876543210",
    "display_name": "Salón (WhatsApp)",
    "config": {"api_base": "http://127.0.0.1:9/v21.0", "verify_token": "public-ish"},
    "secrets": {"access_token": "EAAG-secret-token", "app_secret": "app-secret-value"},
}


def test_connect_a_number_secrets_sealed_and_never_returned(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    owner = api.as_role(Role.OWNER)
    created = owner.post("/api/channels", json=CLOUD)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secrets_set"] == ["access_token", "app_secret"]
    assert "EAAG-secret-token" not in created.text
    listed = owner.get("/api/channels", params={"channel": "whatsapp_cloud"})
    assert listed.status_code == 200 and listed.json()["total"] == 1
    assert "app-secret-value" not in listed.text

    with api.runtime.db.transaction() as session:
        row = session.get(ChannelAccount, uuid.UUID(body["id"]))
        assert row is not None
        stored = str(row.secrets)
        assert "EAAG-secret-token" not in stored and "app-secret-value" not in stored
        assert open_secrets(row, api.runtime.accounts.box())["access_token"] == "EAAG-secret-token"
        audit = session.scalars(select(AuditLog).where(AuditLog.entity == "channel_account")).all()
        assert audit and all("EAAG" not in str(a.changes) for a in audit)
    assert "EAAG-secret-token" not in caplog.text

    # The adapters' directory finds the tenant by the number, with the secrets opened.
    found = api.runtime.accounts.by_address("whatsapp_cloud", "109876543210")
    assert found is not None and found.tenant_id == api.tenant_id()
    assert found.secrets["app_secret"] == "app-secret-value"
    assert "app-secret-value" not in repr(found)


def test_rotate_a_secret_disable_and_delete(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    created = owner.post("/api/channels", json=CLOUD)
    path = f"/api/channels/{created.json()['id']}"
    assert api.runtime.accounts.for_tenant(api.tenant_id(), "whatsapp_cloud") is not None

    patched = owner.patch(
        path,
        json={"secrets": {"access_token": "EAAG-new"}, "enabled": False},
        headers={"If-Match": created.headers["ETag"]},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["secrets_set"] == ["access_token", "app_secret"]
    assert patched.json()["enabled"] is False
    # Disabled: webhooks for the number no longer find a tenant, replies have no account.
    assert api.runtime.accounts.by_address("whatsapp_cloud", "109876543210") is None
    assert api.runtime.accounts.for_tenant(api.tenant_id(), "whatsapp_cloud") is None
    stale = owner.patch(path, json={"enabled": True}, headers={"If-Match": created.headers["ETag"]})
    assert stale.status_code == 412

    on = owner.patch(path, json={"enabled": True})
    assert on.status_code == 200
    account = api.runtime.accounts.for_tenant(api.tenant_id(), "whatsapp_cloud")
    assert account is not None and account.secrets["access_token"] == "EAAG-new"
    assert account.secrets["app_secret"] == "app-secret-value"

    assert owner.delete(path).status_code == 204
    assert owner.get(path).status_code == 404
    assert api.runtime.accounts.by_address("whatsapp_cloud", "109876543210") is None


def test_an_address_belongs_to_one_business(api: Api) -> None:
    mine = api.as_role(Role.OWNER)
    theirs = api.as_role(Role.OWNER, tenant="victim")
    assert theirs.post("/api/channels", json=CLOUD).status_code == 201
    taken = mine.post("/api/channels", json=CLOUD)
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "conflict"
    assert "victim" not in taken.text
    # The same number on another channel kind is a different account.
    sms = mine.post(
        "/api/channels", json={**CLOUD, "channel": "twilio_sms", "address": "+15005550006"}
    )
    assert sms.status_code == 201
    assert mine.get("/api/channels").json()["total"] == 1


def test_bad_input_and_roles(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    for bad in (
        {**CLOUD, "channel": "carrier_pigeon"},
        {**CLOUD, "address": "has space"},
        {**CLOUD, "secrets": {"bad name": "x"}},
        {**CLOUD, "secrets": {"token": ""}},
        {**CLOUD, "config": {"nested": {"no": 1}}},
    ):
        response = owner.post("/api/channels", json=bad)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["error"]["code"] == "validation_error"
    assert owner.get("/api/channels").json()["total"] == 0
    agent = api.as_role(Role.AGENT)
    assert agent.get("/api/channels").status_code == 403
    assert agent.post("/api/channels", json=CLOUD).status_code == 403
