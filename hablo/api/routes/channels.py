"""Channel accounts: the business's WhatsApp numbers, Twilio numbers and mailboxes.

Secrets (access tokens, app secrets, auth tokens, SMTP/IMAP passwords) are write-only:
they are sealed on the way in and only their names come back.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hablo.adapters.accounts import seal_secrets
from hablo.api.app_keys import RUNTIME
from hablo.api.channel_rules import check_config, check_hosts, check_secrets
from hablo.api.endpoints import ApiRoutes, Call, Page, PageQuery, RequestModel
from hablo.api.problems import conflict
from hablo.api.scope import TenantScope, check_if_match, etag_of
from hablo.db.models import ChannelAccount

routes = ApiRoutes("channels")

ChannelName = Literal["whatsapp_cloud", "whatsapp_web", "twilio_sms", "twilio_whatsapp", "email"]
SecretName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")]
SecretValue = Annotated[str, StringConstraints(min_length=1, max_length=4000)]


class ChannelAccountOut(BaseModel):
    id: uuid.UUID
    channel: str
    address: str = Field(description="Phone number id, E.164 number or e-mail address")
    display_name: str
    enabled: bool
    config: dict[str, Any]
    secrets_set: list[str] = Field(description="Names of the secrets stored (not values)")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, account: ChannelAccount) -> ChannelAccountOut:
        return cls(
            id=account.id,
            channel=account.channel,
            address=account.address,
            display_name=account.display_name,
            enabled=account.enabled,
            config=dict(account.config or {}),
            secrets_set=sorted(account.secrets or {}),
            created_at=account.created_at,
            updated_at=account.updated_at,
        )


class ChannelAccountIn(RequestModel):
    channel: ChannelName
    address: str = Field(min_length=1, max_length=254, pattern=r"^[^\s\x00]+$")
    display_name: str = Field(default="", max_length=200)
    enabled: bool = True
    config: dict[str, str | int | bool] = Field(default_factory=dict, max_length=30)
    secrets: dict[SecretName, SecretValue] = Field(
        default_factory=dict,
        max_length=10,
        description="Write-only: sealed at rest, never returned (only their names are)",
    )


class ChannelAccountPatch(RequestModel):
    display_name: str | None = Field(default=None, max_length=200)
    enabled: bool | None = None
    config: dict[str, str | int | bool] | None = Field(default=None, max_length=30)
    secrets: dict[SecretName, SecretValue] | None = Field(
        default=None, max_length=10, description="Replaces only the names sent"
    )


class ChannelQuery(PageQuery):
    channel: ChannelName | None = None


def _runtime(call: Call[Any, Any]) -> Any:
    return call.request.app[RUNTIME]


def _address_taken(address: str) -> Exception:
    # Says nothing about which tenant holds it.
    return conflict("this address is already connected to a business", {"address": address})


@routes.get(
    "/api/channels",
    "channels:read",
    query=ChannelQuery,
    response=Page[ChannelAccountOut],
    summary="List the business's channel accounts",
)
async def list_channels(call: Call[ChannelQuery, None]) -> Page[ChannelAccountOut]:
    q = call.query

    def work(scope: TenantScope) -> Page[ChannelAccountOut]:
        query = scope.select(ChannelAccount)
        if q.channel:
            query = query.where(ChannelAccount.channel == q.channel)
        total = scope.count(query)
        rows = scope.session.scalars(
            query.order_by(ChannelAccount.created_at, ChannelAccount.id)
            .offset(q.offset)
            .limit(q.per_page)
        )
        items = [ChannelAccountOut.of(a) for a in rows]
        return Page(items=items, page=q.page, per_page=q.per_page, total=total)

    return await call.db(work)


@routes.get(
    "/api/channels/{account_id}",
    "channels:read",
    response=ChannelAccountOut,
    summary="Get a channel account",
)
async def get_channel(call: Call[None, None]) -> ChannelAccountOut:
    def work(scope: TenantScope) -> ChannelAccountOut:
        account = scope.get(ChannelAccount, call.path["account_id"], what="channel account")
        call.response_headers["ETag"] = etag_of(account)
        return ChannelAccountOut.of(account)

    return await call.db(work)


@routes.post(
    "/api/channels",
    "channels:write",
    body=ChannelAccountIn,
    response=ChannelAccountOut,
    status=201,
    errors=(409,),
    summary="Connect a channel account (a number or a mailbox)",
)
async def create_channel(call: Call[None, ChannelAccountIn]) -> ChannelAccountOut:
    data = call.body
    secrets = data.secrets
    runtime = _runtime(call)
    accounts = runtime.accounts
    check_config(data.config)
    check_secrets(data.channel, secrets)
    await asyncio.to_thread(check_hosts, data.config, runtime.settings.allow_private_urls)

    def work(scope: TenantScope) -> ChannelAccountOut:
        taken = scope.session.scalars(
            select(ChannelAccount.id).where(
                ChannelAccount.channel == data.channel, ChannelAccount.address == data.address
            )
        ).first()
        if taken is not None:
            raise _address_taken(data.address)
        account = scope.add(
            ChannelAccount(
                channel=data.channel,
                address=data.address,
                display_name=data.display_name,
                enabled=data.enabled,
                config=dict(data.config),
                secrets={},
            )
        )
        try:
            scope.session.flush()
        except IntegrityError as exc:  # raced with another tenant for the same address
            raise _address_taken(data.address) from exc
        seal_secrets(account, accounts.box(), secrets)
        scope.session.flush()
        scope.audit(
            "create",
            "channel_account",
            account.id,
            {"channel": data.channel, "address": data.address, "secrets": sorted(secrets)},
        )
        call.response_headers["ETag"] = etag_of(account)
        return ChannelAccountOut.of(account)

    result = await call.db(work)
    accounts.forget(call.tenant_id)
    return result


@routes.patch(
    "/api/channels/{account_id}",
    "channels:write",
    body=ChannelAccountPatch,
    response=ChannelAccountOut,
    errors=(412,),
    summary="Change a channel account (only the fields sent; secrets by name)",
)
async def update_channel(call: Call[None, ChannelAccountPatch]) -> ChannelAccountOut:
    changes = call.body.model_dump(exclude_unset=True, exclude_none=True)
    secrets: dict[str, str] = changes.pop("secrets", {})
    runtime = _runtime(call)
    accounts = runtime.accounts
    if "config" in changes:
        check_config(changes["config"])
        await asyncio.to_thread(check_hosts, changes["config"], runtime.settings.allow_private_urls)

    def work(scope: TenantScope) -> ChannelAccountOut:
        account = scope.get(
            ChannelAccount, call.path["account_id"], what="channel account", for_update=True
        )
        check_if_match(call.if_match(), account)
        if changes.get("enabled", account.enabled):  # a disabled account receives nothing
            check_secrets(account.channel, [*(account.secrets or {}), *secrets])
        for key, value in changes.items():
            setattr(account, key, value)
        if secrets:
            seal_secrets(account, accounts.box(), secrets)
        scope.session.flush()
        scope.audit(
            "update", "channel_account", account.id, {**changes, "secrets": sorted(secrets)}
        )
        call.response_headers["ETag"] = etag_of(account)
        return ChannelAccountOut.of(account)

    result = await call.db(work)
    accounts.forget(call.tenant_id)
    return result


@routes.delete(
    "/api/channels/{account_id}",
    "channels:write",
    status=204,
    summary="Disconnect a channel account (its secrets are deleted with it)",
)
async def delete_channel(call: Call[None, None]) -> None:
    accounts = _runtime(call).accounts

    def work(scope: TenantScope) -> None:
        account = scope.get(
            ChannelAccount, call.path["account_id"], what="channel account", for_update=True
        )
        scope.audit(
            "delete",
            "channel_account",
            account.id,
            {"channel": account.channel, "address": account.address},
        )
        scope.session.delete(account)
        scope.session.flush()

    await call.db(work)
    accounts.forget(call.tenant_id)
