"""Provider webhooks (public): Stripe events, verified by their `Stripe-Signature`.

Two endpoints: the platform's (one Stripe account, HABLO_STRIPE_WEBHOOK_SECRET; the
tenant comes from the metadata our checkout wrote) and one per tenant (the tenant's own
Stripe account and signing secret). A bad or missing signature is a 400 and nothing is
stored; a redelivered event is acknowledged and not processed again.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import stripe
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from hablo.api.app_keys import RUNTIME
from hablo.api.endpoints import ApiRoutes, Call
from hablo.api.problems import ApiError
from hablo.api.scope import TenantScope, run_global, run_scoped
from hablo.db.base import utcnow
from hablo.db.models import Tenant
from hablo.engine.agent_reply import hand_to_dispatcher
from hablo.payments import service, stripe_webhooks
from hablo.payments.stripe_webhooks import DuplicateEvent
from hablo.security.secrets import SecretBox, SecretError
from hablo.web import json_body

routes = ApiRoutes("webhooks")
log = logging.getLogger(__name__)
MAX_EVENT_BYTES = 512 * 1024


class WebhookAck(BaseModel):
    received: bool
    duplicate: bool = False
    handled: bool = False


def _bad_signature() -> ApiError:
    return ApiError(400, "bad_signature", "the Stripe-Signature header does not verify")


def _runtime(call: Call[Any, Any]) -> Any:
    return call.request.app[RUNTIME]


async def _verified_event(call: Call[Any, Any], secret: str | None) -> dict[str, Any]:
    raw = await call.request.read()
    header = call.request.headers.get("Stripe-Signature")
    if not secret or not header or len(raw) > MAX_EVENT_BYTES:
        raise _bad_signature()
    try:
        # The signature alone (construct_event would build an event from any JSON and fail
        # with a TypeError on `[]`); the body is parsed by us, with a nesting limit.
        stripe.WebhookSignature.verify_header(
            raw.decode("utf-8"), header, secret, stripe.Webhook.DEFAULT_TOLERANCE
        )
        event = json_body.loads(raw)
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
        raise _bad_signature() from exc
    except json_body.InvalidJson as exc:
        raise ApiError(400, "bad_event", f"the body is not a Stripe event: {exc}") from exc
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        raise ApiError(400, "bad_event", "the body is not a Stripe event")
    return event


async def _apply(call: Call[Any, Any], tenant_id: uuid.UUID, event: dict[str, Any]) -> WebhookAck:
    runtime = _runtime(call)

    def work(scope: TenantScope) -> service.Effects:
        return stripe_webhooks.apply_event(scope.session, tenant_id, event, utcnow())

    try:
        effects = await run_scoped(call.request.app, tenant_id, None, call.client_ip, work)
    except DuplicateEvent:
        return WebhookAck(received=True, duplicate=True)
    hand_to_dispatcher(runtime.engine, effects.envelopes)
    return WebhookAck(received=True, handled=event["type"] in stripe_webhooks.HANDLED)


async def _record_unmatched(call: Call[Any, Any], event: dict[str, Any]) -> WebhookAck:
    def work(session: Session) -> None:
        stripe_webhooks.record_event(session, event, None)

    try:
        await run_global(call.request.app, work)
    except DuplicateEvent:
        return WebhookAck(received=True, duplicate=True)
    return WebhookAck(received=True)


@routes.post(
    "/api/webhooks/stripe",
    None,
    consumes="application/json",
    response=WebhookAck,
    errors=(400,),
    summary="Stripe events for the platform's Stripe account",
)
async def stripe_platform_webhook(call: Call[None, None]) -> WebhookAck:
    event = await _verified_event(call, _runtime(call).settings.stripe_webhook_secret)
    tenant_id = stripe_webhooks.tenant_of(event)

    def exists(session: Session) -> bool:
        return tenant_id is not None and session.get(Tenant, tenant_id) is not None

    if tenant_id is None or not await run_global(call.request.app, exists):
        return await _record_unmatched(call, event)
    return await _apply(call, tenant_id, event)


@routes.post(
    "/api/webhooks/stripe/{tenant_slug}",
    None,
    consumes="application/json",
    path_types={"tenant_slug": str},
    response=WebhookAck,
    errors=(400,),
    summary="Stripe events for a tenant's own Stripe account (its signing secret)",
)
async def stripe_tenant_webhook(call: Call[None, None]) -> WebhookAck:
    settings = _runtime(call).settings
    slug = str(call.path["tenant_slug"])[:64]

    def lookup(session: Session) -> tuple[uuid.UUID, str | None] | None:
        tenant = session.scalars(select(Tenant).where(Tenant.slug == slug)).first()
        if tenant is None:
            return None
        box = SecretBox.from_config(settings.secret_keys, settings.state_dir)
        try:
            return tenant.id, service.open_webhook_secret(tenant, box)
        except SecretError:
            log.warning("tenant %s: the Stripe webhook secret does not open", tenant.id)
            return tenant.id, None

    found = await run_global(call.request.app, lookup)
    # An unknown tenant looks like a bad signature: the endpoint does not reveal slugs.
    event = await _verified_event(call, found[1] if found else None)
    assert found is not None
    return await _apply(call, found[0], event)
