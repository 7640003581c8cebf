"""Payment bookkeeping, shared by the API and the provider webhooks.

Every function runs inside the caller's transaction (a `Session` already limited to one
tenant by the caller) and never commits. Messages to the customer are written through
the outbox under the conversation row lock (`record_agent_reply` as the bot); the caller
hands the returned envelopes to the dispatcher after the commit.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from hablo.db.enums import BookingStatus, PaymentMethod, PaymentStatus, SenderKind
from hablo.db.models import Booking, Contact, Conversation, Payment, Service, Tenant
from hablo.engine.agent_reply import ConversationClosedError, record_agent_reply
from hablo.engine.calendar_words import clock_text, day_text, speech_locale
from hablo.engine.messages import OutboundEnvelope
from hablo.engine.templates import TemplateRenderer, tenant_wording
from hablo.payments.invoices import InvoiceError, issue_invoice
from hablo.payments.state import can_move, status_after_refund
from hablo.security.secrets import SecretBox

log = logging.getLogger(__name__)

STRIPE_SETTINGS = ("payments", "stripe")
# Keys in `Payment.details`: the completed payment this one duplicates (to refund), and a
# refunded total reported before the payment completed.
DUPLICATE_OF = "duplicate_of"
EARLY_REFUND = "refunded_before_completion_minor"


class PaymentRefused(Exception):
    """The request makes no sense for this booking/payment (→ 409 at the API)."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = details or {}


@dataclass
class Effects:
    """What a committed transaction must still do: messages for the dispatcher."""

    envelopes: list[OutboundEnvelope] = field(default_factory=list)


# --- tenant settings ---------------------------------------------------------------


def secret_key_context(tenant_id: uuid.UUID) -> str:
    return f"tenant:{tenant_id}:stripe_secret_key"


def webhook_secret_context(tenant_id: uuid.UUID) -> str:
    return f"tenant:{tenant_id}:stripe_webhook_secret"


def stripe_settings(tenant: Tenant) -> dict[str, Any]:
    payments = (tenant.settings or {}).get("payments") or {}
    found = payments.get("stripe") or {}
    return dict(found) if isinstance(found, dict) else {}


def with_stripe_keys(
    tenant: Tenant, box: SecretBox, secret_key: str, webhook_secret: str
) -> dict[str, Any]:
    """The tenant's settings with both Stripe secrets sealed (a new dict, so the JSON
    column is seen as changed)."""
    settings = dict(tenant.settings or {})
    payments = dict(settings.get("payments") or {})
    stripe = dict(payments.get("stripe") or {})
    stripe["secret_key_sealed"] = box.seal(secret_key, context=secret_key_context(tenant.id))
    stripe["webhook_secret_sealed"] = box.seal(
        webhook_secret, context=webhook_secret_context(tenant.id)
    )
    payments["stripe"] = stripe
    settings["payments"] = payments
    return settings


def open_secret_key(tenant: Tenant, box: SecretBox) -> str | None:
    sealed = stripe_settings(tenant).get("secret_key_sealed")
    return box.open(sealed, context=secret_key_context(tenant.id)) if sealed else None


def open_webhook_secret(tenant: Tenant, box: SecretBox) -> str | None:
    sealed = stripe_settings(tenant).get("webhook_secret_sealed")
    return box.open(sealed, context=webhook_secret_context(tenant.id)) if sealed else None


def amount_due(tenant: Tenant, price_minor: int) -> int:
    """Full price, or the deposit share (rounded half up) per `settings.payments.mode`."""
    payments = (tenant.settings or {}).get("payments") or {}
    mode = payments.get("mode", "full")
    if mode == "none":
        raise PaymentRefused("this business does not take payments online", {"mode": "none"})
    if mode == "deposit":
        percent = int(payments.get("deposit_percent", 100))
        percent = min(max(percent, 1), 100)
        return (price_minor * percent + 50) // 100
    return price_minor


# --- creating -----------------------------------------------------------------------


def open_checkout(
    session: Session,
    booking: Booking,
    now: datetime,
    method: PaymentMethod = PaymentMethod.STRIPE,
) -> Payment | None:
    """The booking's pending payment through `method` whose link still works, if any. A
    pending one whose link has expired is marked failed on the way (a new link will be
    made)."""
    rows = session.scalars(
        select(Payment)
        .where(
            Payment.tenant_id == booking.tenant_id,
            Payment.booking_id == booking.id,
            Payment.method == method,
            Payment.status == PaymentStatus.PENDING,
        )
        .order_by(Payment.created_at.desc())
    ).all()
    for payment in rows:
        expires = (payment.details or {}).get("expires_at")
        if expires and datetime.fromisoformat(expires) <= now:
            fail(session, payment, "expired", now)
            continue
        if (payment.details or {}).get("checkout_url"):
            return payment
    return None


def refuse_if_paid(session: Session, booking: Booking) -> None:
    paid = session.scalars(
        select(Payment.id).where(
            Payment.tenant_id == booking.tenant_id,
            Payment.booking_id == booking.id,
            Payment.status == PaymentStatus.COMPLETED,
        )
    ).first()
    if paid is not None:
        raise PaymentRefused("this booking is already paid", {"payment_id": str(paid)})
    if booking.status in (BookingStatus.CANCELLED, BookingStatus.NO_SHOW):
        raise PaymentRefused("this booking is not active", {"status": booking.status.value})


def service_name(session: Session, booking: Booking) -> tuple[str, int]:
    service = session.get(Service, booking.service_id)
    return (service.name, service.price_minor) if service else ("booking", 0)


# --- state changes ------------------------------------------------------------------


def complete(
    session: Session,
    payment: Payment,
    now: datetime,
    *,
    details: dict[str, Any] | None = None,
) -> Effects:
    """Money arrived: payment completed, booking confirmed, invoice issued, the customer
    told in the booking's conversation. A no-op when the payment cannot move there.

    When another payment of the booking was completed already, this one is recorded as a
    duplicate to refund (the money was taken) and nothing else happens."""
    effects = Effects()
    if not can_move(payment.status, PaymentStatus.COMPLETED):
        return effects
    booking = _locked_booking(session, payment)
    payment.status = PaymentStatus.COMPLETED
    payment.details = {**(payment.details or {}), **(details or {}), "paid_at": now.isoformat()}
    first = _other_paid_payment(session, payment) if booking is not None else None
    if first is not None:
        payment.details = {**payment.details, DUPLICATE_OF: str(first)}
        log.warning(
            "payment %s paid booking %s again (payment %s was completed first); refund it",
            payment.id,
            payment.booking_id,
            first,
        )
        session.flush()
        _apply_early_refund(session, payment)
        return effects
    contact = session.get(Contact, payment.contact_id)
    if contact is not None:
        contact.total_spent_minor = (contact.total_spent_minor or 0) + payment.amount_minor
        contact.last_purchase_at = now
    if booking is not None and booking.status == BookingStatus.PENDING:
        booking.status = BookingStatus.CONFIRMED
    session.flush()
    _invoice(session, payment, now)
    _apply_early_refund(session, payment)
    if booking is not None and booking.conversation_id is not None:
        envelope = _tell_customer(session, booking, payment, now)
        if envelope is not None:
            effects.envelopes.append(envelope)
    return effects


def fail(session: Session, payment: Payment, reason: str, now: datetime) -> bool:
    """Expired (or finally declined). Ignored once the payment completed (a late event)."""
    if payment.status != PaymentStatus.PENDING:
        return False
    payment.status = PaymentStatus.FAILED
    payment.details = {**(payment.details or {}), "failure": reason, "failed_at": now.isoformat()}
    return True


def note_declined(payment: Payment, error: dict[str, Any], now: datetime) -> bool:
    """A declined attempt on a checkout page that is still open: the customer may try
    another card there, so the payment stays pending and its link is reused (failing it
    would make a second, also payable, link). Only the link expiring ends the payment."""
    if payment.status != PaymentStatus.PENDING:
        return False
    payment.details = {**(payment.details or {}), "last_error": {**error, "at": now.isoformat()}}
    return True


def record_refunded_total(session: Session, payment: Payment, refunded_total: int) -> bool:
    """The provider's cumulative refunded amount: only ever grows (a late, smaller total
    from an older event changes nothing). Before the payment completed (the refund's
    event overtook the payment's) it is kept in the details and applied by `complete`."""
    refunded_total = min(refunded_total, payment.amount_minor)
    if payment.status in (PaymentStatus.PENDING, PaymentStatus.FAILED):
        kept = int((payment.details or {}).get(EARLY_REFUND, 0))
        if refunded_total <= kept:
            return False
        payment.details = {**(payment.details or {}), EARLY_REFUND: refunded_total}
        return True
    if refunded_total <= payment.refunded_minor or refunded_total <= 0:
        return False
    target = status_after_refund(payment.amount_minor, refunded_total)
    if not can_move(payment.status, target):
        return False
    delta = refunded_total - payment.refunded_minor
    payment.refunded_minor = refunded_total
    payment.status = target
    contact = session.get(Contact, payment.contact_id)
    # A duplicate never counted towards the contact's total, so its refund does not either.
    if contact is not None and DUPLICATE_OF not in (payment.details or {}):
        contact.total_spent_minor = max(0, (contact.total_spent_minor or 0) - delta)
    return True


def _locked_booking(session: Session, payment: Payment) -> Booking | None:
    """The payment's booking, locked: two payments of one booking completing at once must
    see each other (the second becomes the duplicate)."""
    if payment.booking_id is None:
        return None
    found: Booking | None = session.scalars(
        select(Booking)
        .where(Booking.tenant_id == payment.tenant_id, Booking.id == payment.booking_id)
        .with_for_update()
    ).first()
    return found


def _other_paid_payment(session: Session, payment: Payment) -> uuid.UUID | None:
    """Another payment of the same booking that was completed first (not a duplicate)."""
    rows = session.scalars(
        select(Payment).where(
            Payment.tenant_id == payment.tenant_id,
            Payment.booking_id == payment.booking_id,
            Payment.id != payment.id,
            Payment.status.in_((PaymentStatus.COMPLETED, PaymentStatus.PARTIALLY_REFUNDED)),
        )
    )
    return next((p.id for p in rows if DUPLICATE_OF not in (p.details or {})), None)


def _invoice(session: Session, payment: Payment, now: datetime) -> None:
    """Issue the invoice in a savepoint. A failure (e.g. bad tax settings) is logged and
    kept in the details: a paid booking must be confirmed whatever the invoice does."""
    try:
        with session.begin_nested():
            issue_invoice(session, payment, now=now)
    except Exception as exc:  # any invoice failure, see above
        # InvoiceError messages are ours; others (DB errors) may quote row data.
        reason = str(exc) if isinstance(exc, InvoiceError) else type(exc).__name__
        log.error("payment %s completed without an invoice: %s", payment.id, reason)
        payment.details = {**(payment.details or {}), "invoice_error": reason[:300]}
        session.flush()


def _apply_early_refund(session: Session, payment: Payment) -> None:
    early = int((payment.details or {}).get(EARLY_REFUND, 0))
    if early > 0:
        record_refunded_total(session, payment, early)


def _confirmation(tenant: Tenant, language: str, service: str, starts_at: datetime) -> str:
    """ "¡Pago recibido! …" in the tenant's wording (its own template, if it wrote one)
    and its locale's date and time."""
    settings = tenant.settings or {}
    locale = tenant.locale or "es-AR"
    try:
        local = starts_at.astimezone(ZoneInfo(tenant.timezone or "UTC"))
    except (ValueError, KeyError):
        local = starts_at.astimezone(ZoneInfo("UTC"))
    spoken = speech_locale(locale, language)
    same_language = locale.replace("_", "-").split("-")[0] == language
    variants = tenant_wording(locale, settings) if same_language else ()
    renderer = TemplateRenderer(dict(settings.get("templates") or {}), {})
    day, clock = day_text(local.date(), spoken), clock_text(local.time(), spoken)
    when = renderer.render("date_time", language, variants, day=day, clock=clock)
    return renderer.render("payment_received", language, variants, service=service, when=when)


def _tell_customer(
    session: Session, booking: Booking, payment: Payment, now: datetime
) -> OutboundEnvelope | None:
    conversation = session.scalars(
        select(Conversation)
        .where(
            Conversation.tenant_id == booking.tenant_id,
            Conversation.id == booking.conversation_id,
        )
        .with_for_update()
    ).first()
    tenant = session.get(Tenant, booking.tenant_id)
    if conversation is None or tenant is None:
        return None
    language = (conversation.language or tenant.locale or "es")[:2]
    name, _ = service_name(session, booking)
    text = _confirmation(tenant, language, name, booking.starts_at)
    try:
        reply = record_agent_reply(
            session,
            conversation,
            None,
            text,
            f"payment:{payment.id}:completed",
            now,
            sender_kind=SenderKind.BOT,
        )
    except ConversationClosedError:
        log.info("payment %s completed; its conversation is closed, no message", payment.id)
        return None
    return reply.envelope
