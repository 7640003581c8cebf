"""MercadoPago notifications for a tenant's own MercadoPago account (public endpoint).

MercadoPago posts `{"type": "payment", "data": {"id": ...}}` to the `notification_url`
of the preference, with `?data.id=...&type=payment` in the query and the headers
`x-signature: ts=...,v1=<hex>` and `x-request-id`. A bad or missing signature is a 400 and
nothing is stored. The notification says only *which* payment changed: its state is read
from MercadoPago's API with the tenant's access token (a worker thread: the call blocks)
and applied once per state (see `payments/mercadopago_webhooks.py`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from hablo.api.app_keys import RUNTIME
from hablo.api.endpoints import ApiRoutes, Call
from hablo.api.problems import ApiError
from hablo.api.routes.webhooks import MAX_EVENT_BYTES, WebhookAck
from hablo.api.scope import TenantScope, run_global, run_scoped
from hablo.db.base import utcnow
from hablo.db.models import Tenant
from hablo.engine.agent_reply import hand_to_dispatcher
from hablo.payments import mercadopago_settings, mercadopago_webhooks
from hablo.payments.gateway import GatewayError
from hablo.payments.mercadopago_gateway import MercadoPagoGateway, MercadoPagoPayment
from hablo.payments.service import Effects
from hablo.payments.stripe_webhooks import DuplicateEvent
from hablo.security.secrets import SecretBox, SecretError
from hablo.web import json_body

routes = ApiRoutes("webhooks")
log = logging.getLogger(__name__)
# The endpoint answers within the API's deadline: one retry of a short read at most.
FETCH_TIMEOUT_S = 8.0


class MercadoPagoQuery(BaseModel):
    """What MercadoPago appends to the notification URL. Other parameters (the legacy IPN's
    `topic`/`id`) are ignored: the signature decides what is processed."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    data_id: str | None = Field(
        default=None,
        alias="data.id",
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The id of the resource that changed (signed)",
    )
    type: str | None = Field(default=None, max_length=64, description="`payment`, ...")


@dataclass(frozen=True)
class _Account:
    tenant_id: uuid.UUID
    webhook_secret: str | None
    access_token: str | None


def _bad_signature() -> ApiError:
    return ApiError(400, "bad_signature", "the x-signature header does not verify")


@routes.post(
    "/api/webhooks/mercadopago/{tenant_slug}",
    None,
    consumes="application/json",
    query=MercadoPagoQuery,
    path_types={"tenant_slug": str},
    response=WebhookAck,
    errors=(400, 502),
    summary="MercadoPago notifications for a tenant's own MercadoPago account",
    description="Signed with the account's webhook secret signature (`x-signature`, "
    "`x-request-id`). Payment states are read back from MercadoPago and applied once; "
    "502 when MercadoPago cannot be read (it retries the notification).",
)
async def mercadopago_tenant_webhook(call: Call[MercadoPagoQuery, None]) -> WebhookAck:
    runtime = call.request.app[RUNTIME]
    settings = runtime.settings
    slug = str(call.path["tenant_slug"])[:64]

    def lookup(session: Session) -> _Account | None:
        tenant = session.scalars(select(Tenant).where(Tenant.slug == slug)).first()
        if tenant is None:
            return None
        box = SecretBox.from_config(settings.secret_keys, settings.state_dir)
        try:
            return _Account(
                tenant.id,
                mercadopago_settings.open_webhook_secret(tenant, box),
                mercadopago_settings.open_access_token(tenant, box),
            )
        except SecretError:
            log.warning("tenant %s: the MercadoPago secrets do not open", tenant.id)
            return _Account(tenant.id, None, None)

    account = await run_global(call.request.app, lookup)
    raw = await call.request.read()
    data_id = call.query.data_id
    headers = call.request.headers
    # An unknown tenant looks like a bad signature: the endpoint does not reveal slugs.
    if (
        account is None
        or len(raw) > MAX_EVENT_BYTES
        or not mercadopago_webhooks.verify(
            account.webhook_secret, headers.get("x-signature"), data_id, headers.get("x-request-id")
        )
    ):
        raise _bad_signature()
    notification = _notification(raw)
    kind = call.query.type or str(notification.get("type") or "")
    body_id = (notification.get("data") or {}).get("id")
    if body_id is not None and str(body_id).lower() != (data_id or "").lower():
        raise ApiError(400, "bad_event", "the body names another resource than the signed id")
    if kind != "payment" or not data_id or not account.access_token:
        return WebhookAck(received=True)  # merchant orders, tests of the URL: nothing to do

    gateway = MercadoPagoGateway(
        account.access_token,
        notification_url=None,
        api_base=settings.mercadopago_api_base,
        timeout_s=FETCH_TIMEOUT_S,
        retry_delays_s=(0.3,),
    )
    try:
        found = await asyncio.get_running_loop().run_in_executor(None, gateway.get_payment, data_id)
    except GatewayError as exc:
        if exc.retryable:
            log.warning("mercadopago: cannot read payment %s: %s", data_id, exc)
            raise ApiError(
                502, "payment_provider_error", "cannot read the payment from MercadoPago"
            ) from exc
        # Not a payment of this account (MercadoPago's "simulate" sends made-up ids):
        # acknowledged so it is not retried; there is nothing to apply.
        log.info("MercadoPago notification for payment %s not applied: %s", data_id, exc)
        return WebhookAck(received=True)
    return await _apply(call, runtime, account.tenant_id, found, notification)


async def _apply(
    call: Call[Any, Any],
    runtime: Any,
    tenant_id: uuid.UUID,
    found: MercadoPagoPayment,
    notification: dict[str, Any],
) -> WebhookAck:
    def work(scope: TenantScope) -> Effects:
        return mercadopago_webhooks.apply_payment(
            scope.session, tenant_id, found, notification, utcnow()
        )

    try:
        effects = await run_scoped(call.request.app, tenant_id, None, call.client_ip, work)
    except DuplicateEvent:
        return WebhookAck(received=True, duplicate=True)
    hand_to_dispatcher(runtime.engine, effects.envelopes)
    handled = (
        mercadopago_webhooks.COMPLETES | mercadopago_webhooks.FAILS | mercadopago_webhooks.REFUNDS
    )
    return WebhookAck(received=True, handled=found.status in handled)


def _notification(raw: bytes) -> dict[str, Any]:
    try:
        notification = json_body.loads(raw) if raw else {}
    except json_body.InvalidJson as exc:
        raise ApiError(400, "bad_event", f"the body is not a notification: {exc}") from exc
    if not isinstance(notification, dict):
        raise ApiError(400, "bad_event", "the body is not a MercadoPago notification")
    if not isinstance(notification.get("data") or {}, dict):
        raise ApiError(400, "bad_event", "`data` must be an object")
    return notification
