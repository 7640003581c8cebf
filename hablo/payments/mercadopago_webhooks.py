"""MercadoPago notifications: the signature check and applying a payment's state.

A notification carries no state, only "payment <id> changed": the endpoint verifies the
`x-signature` header, reads the payment from the API with the tenant's access token, and
applies what it says here. MercadoPago sends several notifications per payment
(`payment.created`, `payment.updated`) and retries them, so the dedupe key is the state
itself: payment id + status + refunded total. The same state seen twice is a
DuplicateEvent (acknowledged, nothing done); out-of-order states are harmless because every
change goes through the state machine (`state.py`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hablo.db.enums import PaymentMethod
from hablo.db.models import Payment
from hablo.db.models.payments_ledger import WebhookEvent
from hablo.payments import service
from hablo.payments.mercadopago_gateway import MercadoPagoPayment
from hablo.payments.service import Effects
from hablo.payments.stripe_webhooks import DuplicateEvent

PROVIDER = "mercadopago"
COMPLETES = frozenset({"approved"})
FAILS = frozenset({"rejected", "cancelled"})
REFUNDS = frozenset({"refunded", "charged_back"})

log = logging.getLogger(__name__)


# --- the signature ---------------------------------------------------------------------


# Signatures older (or further in the future) than this are refused: Stripe's default.
TOLERANCE_S = 300


def manifest(data_id: str | None, request_id: str | None, ts: str) -> str:
    """MercadoPago's signed template `id:{data.id};request-id:{x-request-id};ts:{ts};`,
    a part left out when its value is absent; an alphanumeric data.id is lower-cased."""
    parts = []
    if data_id:
        parts.append(f"id:{data_id.lower() if data_id.isalnum() else data_id};")
    if request_id:
        parts.append(f"request-id:{request_id};")
    parts.append(f"ts:{ts};")
    return "".join(parts)


def signature(secret: str, data_id: str | None, request_id: str | None, ts: str) -> str:
    message = manifest(data_id, request_id, ts).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_at(ts: str) -> float | None:
    """The signature's time in seconds: MercadoPago sends milliseconds (its docs' examples
    show seconds; both are read)."""
    try:
        value = float(ts)
    except ValueError:
        return None
    return value / 1000 if value > 1e11 else value


def verify(
    secret: str | None,
    header: str | None,
    data_id: str | None,
    request_id: str | None,
    now: float | None = None,
) -> bool:
    """Whether `x-signature: ts=...,v1=<hex>` is MercadoPago's for this notification,
    signed within TOLERANCE_S of now (as Stripe does): a captured notification cannot be
    replayed later. MercadoPago signs each retry afresh."""
    if not secret or not header:
        return False
    fields: dict[str, str] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields[key.strip().lower()] = value.strip()
    ts, v1 = fields.get("ts"), fields.get("v1")
    if not ts or not v1:
        return False
    expected = signature(secret, data_id, request_id, ts)
    if not hmac.compare_digest(expected, v1.lower()):
        return False
    when = signed_at(ts)
    current = time.time() if now is None else now
    return when is not None and abs(current - when) <= TOLERANCE_S


# --- applying a payment's state ----------------------------------------------------------


def event_id(tenant_id: uuid.UUID, found: MercadoPagoPayment) -> str:
    """One key per state of a payment, per tenant (payment ids belong to one account)."""
    return f"{tenant_id}:payment:{found.id}:{found.status}:{found.refunded_minor}"[:255]


def record(
    session: Session,
    tenant_id: uuid.UUID | None,
    event_key: str,
    event_type: str,
    payload: dict[str, Any],
) -> None:
    session.add(
        WebhookEvent(
            provider=PROVIDER,
            event_id=event_key[:255],
            event_type=event_type[:64],
            tenant_id=tenant_id,
            payload=payload,
        )
    )
    try:
        session.flush()
    except IntegrityError as exc:
        raise DuplicateEvent(event_key) from exc


def apply_payment(
    session: Session,
    tenant_id: uuid.UUID,
    found: MercadoPagoPayment,
    notification: dict[str, Any],
    now: datetime,
) -> Effects:
    """Record this state of the payment for the tenant, then apply it to our payment
    (DuplicateEvent when this state was applied before)."""
    record(
        session,
        tenant_id,
        event_id(tenant_id, found),
        f"payment.{found.status}",
        {"notification": _notification_summary(notification), "payment": found.summary()},
    )
    payment = _ours(session, tenant_id, found.external_reference)
    if payment is None:
        return Effects()
    effects = Effects()
    if found.status in COMPLETES:
        if found.currency != payment.currency.upper() or found.amount_minor < payment.amount_minor:
            # Not what the preference asked for: never confirm a booking on a short payment.
            log.warning(
                "MercadoPago payment %s for %s is %s %s, %s %s was due; not completing",
                found.id,
                payment.id,
                found.amount_minor,
                found.currency,
                payment.amount_minor,
                payment.currency,
            )
            return effects
        effects = service.complete(
            session,
            payment,
            now,
            details={"mercadopago_payment_id": found.id, "event_id": event_id(tenant_id, found)},
        )
        # A partial refund keeps the payment `approved`; its refunded total still counts.
        if found.refunded_minor > 0:
            service.record_refunded_total(session, payment, found.refunded_minor)
    elif found.status in FAILS:
        service.fail(session, payment, found.status_detail or found.status, now)
    elif found.status in REFUNDS:
        # A chargeback takes the whole payment back, whatever was refunded before it.
        total = payment.amount_minor if found.status == "charged_back" else found.refunded_minor
        service.record_refunded_total(session, payment, total)
    return effects


def _ours(session: Session, tenant_id: uuid.UUID, reference: str | None) -> Payment | None:
    """Our MercadoPago payment named by `external_reference`, in this tenant only."""
    try:
        payment_id = uuid.UUID(str(reference))
    except ValueError:
        return None
    found: Payment | None = session.scalars(
        select(Payment)
        .where(
            Payment.tenant_id == tenant_id,
            Payment.id == payment_id,
            Payment.method == PaymentMethod.MERCADOPAGO,
        )
        .with_for_update()
    ).first()
    return found


def _notification_summary(notification: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "type", "action", "live_mode", "date_created", "api_version")
    summary = {k: notification[k] for k in keep if k in notification}
    data = notification.get("data")
    if isinstance(data, dict) and "id" in data:
        summary["data"] = {"id": str(data["id"])[:64]}
    return summary
