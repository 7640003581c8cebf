"""Applying a verified Stripe event to one tenant's payments.

The event row is inserted first, in the same transaction as the effects: a redelivery
hits the unique (provider, event_id) key, the transaction rolls back and the endpoint
answers 200 without doing anything twice. Out-of-order events are harmless because every
change goes through the state machine (`state.py`); a refund reported before the payment
completed is kept and applied on completion.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hablo.db.models import Payment
from hablo.db.models.payments_ledger import WebhookEvent
from hablo.payments import service
from hablo.payments.service import Effects

PROVIDER = "stripe"
HANDLED = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.expired",
        "payment_intent.payment_failed",
        "charge.refunded",
    }
)


class DuplicateEvent(Exception):
    """This event id was processed before (the caller rolls back and acknowledges)."""


def event_object(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("data") or {}
    found = data.get("object") if isinstance(data, dict) else None
    return found if isinstance(found, dict) else {}


def tenant_of(event: dict[str, Any]) -> uuid.UUID | None:
    """The tenant our checkout wrote into the object's metadata, if any."""
    metadata = event_object(event).get("metadata") or {}
    try:
        return uuid.UUID(str(metadata.get("tenant_id")))
    except ValueError:
        return None


def record_event(session: Session, event: dict[str, Any], tenant_id: uuid.UUID | None) -> None:
    session.add(
        WebhookEvent(
            provider=PROVIDER,
            event_id=str(event.get("id", ""))[:255],
            event_type=str(event.get("type", ""))[:64],
            tenant_id=tenant_id,
            payload=event,
        )
    )
    try:
        session.flush()
    except IntegrityError as exc:
        raise DuplicateEvent(str(event.get("id"))) from exc


def apply_event(
    session: Session, tenant_id: uuid.UUID, event: dict[str, Any], now: datetime
) -> Effects:
    """Record the event for the tenant, then apply it (DuplicateEvent on a redelivery)."""
    record_event(session, event, tenant_id)
    kind = event.get("type")
    obj = event_object(event)
    if kind not in HANDLED:
        return Effects()
    if kind == "charge.refunded":
        payment = _by_intent(session, tenant_id, obj)
        if payment is not None:
            service.record_refunded_total(session, payment, int(obj.get("amount_refunded") or 0))
        return Effects()
    payment = _by_metadata(session, tenant_id, obj)
    if payment is None:
        return Effects()
    if kind == "checkout.session.completed":
        if obj.get("payment_status") not in ("paid", "no_payment_required"):
            return Effects()  # asynchronous methods: wait for the async_payment events
        intent = obj.get("payment_intent")
        if intent:
            early = _refunded_before(session, tenant_id, str(intent))
            service.record_refunded_total(session, payment, early)  # kept for `complete`
        return service.complete(
            session,
            payment,
            now,
            details={"payment_intent": intent, "event_id": event.get("id")},
        )
    if kind == "payment_intent.payment_failed":
        # The Checkout page stays open after a decline: keep the payment (and its link).
        service.note_declined(payment, _decline(obj, event), now)
        return Effects()
    service.fail(session, payment, "expired", now)
    return Effects()


def _decline(intent: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """What Stripe said about a declined attempt (codes and its customer-facing text)."""
    error = intent.get("last_payment_error") or {}
    if not isinstance(error, dict):
        error = {}
    return {
        "reason": "declined",
        "code": str(error.get("decline_code") or error.get("code") or "")[:64],
        "message": str(error.get("message") or "")[:200],
        "event_id": str(event.get("id", ""))[:255],
    }


def _refunded_before(session: Session, tenant_id: uuid.UUID, intent: str) -> int:
    """The largest refunded total of `charge.refunded` events for this intent that came
    before the payment knew its intent (a charge without our metadata matched nothing)."""
    payloads = session.scalars(
        select(WebhookEvent.payload).where(
            WebhookEvent.provider == PROVIDER,
            WebhookEvent.tenant_id == tenant_id,
            WebhookEvent.event_type == "charge.refunded",
            WebhookEvent.payload[("data", "object", "payment_intent")].as_string() == intent,
        )
    )
    return max((int(event_object(p).get("amount_refunded") or 0) for p in payloads), default=0)


def _by_metadata(session: Session, tenant_id: uuid.UUID, obj: dict[str, Any]) -> Payment | None:
    metadata = obj.get("metadata") or {}
    raw = metadata.get("payment_id") or obj.get("client_reference_id")
    try:
        payment_id = uuid.UUID(str(raw))
    except ValueError:
        return None
    found: Payment | None = session.scalars(
        select(Payment)
        .where(Payment.tenant_id == tenant_id, Payment.id == payment_id)
        .with_for_update()
    ).first()
    return found


def _by_intent(session: Session, tenant_id: uuid.UUID, obj: dict[str, Any]) -> Payment | None:
    found = _by_metadata(session, tenant_id, obj)
    if found is not None:
        return found
    intent = obj.get("payment_intent")
    if not intent:
        return None
    by_intent: Payment | None = session.scalars(
        select(Payment)
        .where(
            Payment.tenant_id == tenant_id,
            Payment.details["payment_intent"].as_string() == str(intent),
        )
        .with_for_update()
    ).first()
    return by_intent
