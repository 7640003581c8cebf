"""Channel accounts over the API: secrets are write-only and sealed, an address belongs to
one business, changes reach the adapters' directory at once."""

from __future__ import annotations

import logging
import uuid

import pytest
import requests
from sqlalchemy import select

from hablo.adapters.accounts import open_secrets
from hablo.db.enums import Role
from hablo.db.models import AuditLog, ChannelAccount
from tests.api.support import Api, live_api

CLOUD = {
    "channel": "whatsapp_cloud",
    "address": "109876543210",
    "display_name": "Salón (WhatsApp)",
    "config": {"verify_token": "public-ish"},
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
        "/api/channels",
        json={
            **CLOUD,
            "channel": "twilio_sms",
            "address": "+15005550006",
            "secrets": {"auth_token": "tw-token"},
        },
    )
    assert sms.status_code == 201, sms.text
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


def field_of(answer: requests.Response) -> list[str]:
    assert answer.status_code == 422, answer.text
    body = answer.json()["error"]
    assert body["code"] == "validation_error"
    return [".".join(d["loc"]) for d in body["details"]]


def test_provider_base_urls_are_platform_settings(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    trap = {"api_base": "http://127.0.0.1:6379/", "verify_token": "x"}
    assert field_of(owner.post("/api/channels", json={**CLOUD, "config": trap})) == [
        "body.config.api_base"
    ]
    created = owner.post("/api/channels", json=CLOUD)
    assert created.status_code == 201, created.text
    path = f"/api/channels/{created.json()['id']}"
    # The probe: PATCH the base URL to a loopback service. Refused, nothing changes.
    assert field_of(owner.patch(path, json={"config": trap})) == ["body.config.api_base"]
    web = {"channel": "whatsapp_web", "address": "+5491144443333", "config": {"web_url": "x"}}
    assert field_of(owner.post("/api/channels", json=web)) == ["body.config.web_url"]
    assert owner.get(path).json()["config"] == CLOUD["config"]


@pytest.mark.parametrize(
    ("channel", "secrets", "missing"),
    [
        ("whatsapp_cloud", {"access_token": "EAAG-x"}, "app_secret"),
        ("whatsapp_cloud", {"app_secret": "s"}, "access_token"),
        ("twilio_sms", {}, "auth_token"),
        ("twilio_whatsapp", {"auth_token": ""}, "auth_token"),
    ],
)
def test_signing_secrets_are_required(
    api: Api, channel: str, secrets: dict[str, str], missing: str
) -> None:
    owner = api.as_role(Role.OWNER)
    body = {"channel": channel, "address": "+5491155550009", "secrets": secrets}
    answer = owner.post("/api/channels", json=body)
    fields = field_of(answer)
    assert any(missing in f for f in fields), fields
    assert owner.get("/api/channels").json()["total"] == 0


def test_an_account_missing_its_secret_can_only_be_disabled(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    created = owner.post("/api/channels", json=CLOUD)
    with api.runtime.db.transaction() as session:  # stored before secrets were required
        row = session.get(ChannelAccount, uuid.UUID(created.json()["id"]))
        assert row is not None
        row.secrets = {k: v for k, v in row.secrets.items() if k != "app_secret"}
    path = f"/api/channels/{created.json()['id']}"
    assert field_of(owner.patch(path, json={"display_name": "x"})) == ["body.secrets.app_secret"]
    assert owner.patch(path, json={"enabled": False}).status_code == 200
    fixed = owner.patch(path, json={"enabled": True, "secrets": {"app_secret": "new"}})
    assert fixed.status_code == 200, fixed.text


def test_mail_servers_must_be_public_hosts(db_url: str) -> None:
    with live_api(db_url, allow_private_urls=False) as strict:
        owner = strict.as_role(Role.OWNER)
        for host in ("127.0.0.1", "169.254.169.254", "10.0.0.7", "localhost"):
            mailbox = {
                "channel": "email",
                "address": "hola@salon.example",
                "config": {"imap_host": host, "imap_port": 993},
            }
            assert field_of(owner.post("/api/channels", json=mailbox)) == ["body.config.imap_host"]
        smtp = {"channel": "email", "address": "a@salon.example", "config": {"smtp_host": "::1"}}
        assert field_of(owner.post("/api/channels", json=smtp)) == ["body.config.smtp_host"]
