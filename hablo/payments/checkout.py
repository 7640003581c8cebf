"""A Stripe Checkout link for a booking: the one way to make one, used by the management
API (`POST /api/payments/checkout-session`) and by the chat's payment skill.

Runs inside the caller's transaction and never commits. The Stripe call is blocking HTTP:
callers run it in a worker thread (API) or a conversation actor's thread (chat), never on
the event loop. When Stripe fails the `GatewayError` propagates and the caller rolls back
the pending payment written just before the call.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from hablo.db.enums import PaymentMethod, PaymentStatus
from hablo.db.models import Booking, Contact, Payment, Tenant
from hablo.payments import service
from hablo.payments.gateway import (
    STRIPE_TIMEOUT_S,
    CheckoutLink,
    CheckoutRequest,
    LineItem,
    PaymentGateway,
)
from hablo.payments.mercadopago_gateway import DEFAULT_API_BASE as MERCADOPAGO_API_BASE
from hablo.payments.mercadopago_gateway import MercadoPagoGateway
from hablo.payments.mercadopago_settings import is_configured, open_access_token
from hablo.payments.service import PaymentRefused
from hablo.security.secrets import SecretBox, SecretError

if TYPE_CHECKING:
    from hablo.config import Settings


@dataclass(frozen=True)
class CheckoutConfig:
    """What making a link needs from the platform's settings."""

    public_url: str
    stripe_api_base: str
    # Opened on use, not at construction: building the config never touches the disk.
    open_box: Callable[[], SecretBox]
    mercadopago_api_base: str = MERCADOPAGO_API_BASE
    stripe_timeout_s: float = STRIPE_TIMEOUT_S

    @classmethod
    def from_settings(cls, settings: Settings) -> CheckoutConfig:
        return cls(
            public_url=settings.public_url,
            stripe_api_base=settings.stripe_api_base,
            open_box=lambda: SecretBox.from_config(settings.secret_keys, settings.state_dir),
            mercadopago_api_base=settings.mercadopago_api_base,
            stripe_timeout_s=settings.stripe_timeout_s,
        )

    def stripe(self, tenant: Tenant) -> PaymentGateway:
        """The tenant's Stripe; PaymentRefused when its key is missing or unreadable."""
        try:
            key = service.open_secret_key(tenant, self.open_box())
        except SecretError as exc:
            raise PaymentRefused("the stored Stripe key cannot be opened; set it again") from exc
        if not key:
            raise PaymentRefused(
                "Stripe is not configured for this business", {"stripe": "not set"}
            )
        # The stripe SDK (with the aiohttp it loads) takes ~0.3 s to import: only a process
        # that takes a Stripe payment pays for it, not every chat and worker start.
        from hablo.payments.stripe_gateway import StripeGateway

        return StripeGateway(key, api_base=self.stripe_api_base, timeout_s=self.stripe_timeout_s)

    def mercadopago(self, tenant: Tenant) -> PaymentGateway:
        """The tenant's MercadoPago; PaymentRefused when its token is missing or unreadable.
        Its notifications come to the tenant's own webhook endpoint."""
        try:
            token = open_access_token(tenant, self.open_box())
        except SecretError as exc:
            raise PaymentRefused(
                "the stored MercadoPago token cannot be opened; set it again"
            ) from exc
        if not token:
            raise PaymentRefused(
                "MercadoPago is not configured for this business", {"mercadopago": "not set"}
            )
        return MercadoPagoGateway(
            token,
            notification_url=(
                f"{self.public_url.rstrip('/')}/api/webhooks/mercadopago/{tenant.slug}"
            ),
            api_base=self.mercadopago_api_base,
        )

    @staticmethod
    def method_for(tenant: Tenant) -> PaymentMethod:
        """The tenant's provider when none is asked for: Stripe when its keys are set (or
        nothing is set), else MercadoPago when only that is set."""
        if not service.stripe_settings(tenant).get("secret_key_sealed") and is_configured(tenant):
            return PaymentMethod.MERCADOPAGO
        return PaymentMethod.STRIPE

    def gateway(self, tenant: Tenant, method: PaymentMethod) -> PaymentGateway:
        if method == PaymentMethod.MERCADOPAGO:
            return self.mercadopago(tenant)
        if method == PaymentMethod.STRIPE:
            return self.stripe(tenant)
        raise PaymentRefused(f"no online checkout for {method.value}", {"method": method.value})


@dataclass(frozen=True)
class Checkout:
    payment: Payment
    created: bool  # False: the booking's open link was still good and is returned again

    @property
    def url(self) -> str:
        return str((self.payment.details or {}).get("checkout_url") or "")


@dataclass(frozen=True)
class PendingLink:
    """A pending payment written, the provider's link not asked for yet (the chat asks for
    it after its turn committed, holding no lock: `request_link`, then `record_link`)."""

    payment_id: uuid.UUID
    gateway: PaymentGateway
    request: CheckoutRequest


def create_checkout(
    session: Session,
    booking: Booking,
    tenant: Tenant,
    config: CheckoutConfig,
    now: datetime,
    method: PaymentMethod | None = None,
) -> Checkout:
    """The booking's open Checkout link, or a new one for the amount due.

    Raises PaymentRefused (already paid, not active, payments off, nothing to pay, Stripe
    not set up) and GatewayError (Stripe refused or is unreachable). The caller should hold
    the booking row locked so two requests do not make two links.
    """
    prepared = prepare_checkout(session, booking, tenant, config, now, method)
    if isinstance(prepared, Checkout):
        return prepared
    link = prepared.gateway.create_checkout(prepared.request)
    payment = session.get(Payment, prepared.payment_id)
    assert payment is not None  # written by prepare_checkout in this transaction
    record_link(payment, link)
    session.flush()
    return Checkout(payment, created=True)


def prepare_checkout(
    session: Session,
    booking: Booking,
    tenant: Tenant,
    config: CheckoutConfig,
    now: datetime,
    method: PaymentMethod | None = None,
) -> Checkout | PendingLink:
    """The booking's open Checkout link, or a pending payment and the request for a new
    link (no provider call here). Raises PaymentRefused like `create_checkout`."""
    service.refuse_if_paid(session, booking)
    method = method or config.method_for(tenant)
    existing = service.open_checkout(session, booking, now, method)
    if existing is not None:
        return Checkout(existing, created=False)
    name, price = service.service_name(session, booking)
    amount = service.amount_due(tenant, price)
    if amount <= 0:
        raise PaymentRefused("nothing to pay for this booking", {"amount_minor": 0})
    gateway = config.gateway(tenant, method)
    payment = Payment(
        tenant_id=booking.tenant_id,
        contact_id=booking.contact_id,
        booking_id=booking.id,
        amount_minor=amount,
        currency=tenant.currency,
        method=method,
        status=PaymentStatus.PENDING,
        details={},
    )
    session.add(payment)
    session.flush()
    contact = session.get(Contact, booking.contact_id)
    base = config.public_url.rstrip("/")
    request = CheckoutRequest(
        tenant_id=booking.tenant_id,
        payment_id=payment.id,
        currency=tenant.currency.upper(),
        items=(LineItem(name, amount),),
        idempotency_key=f"checkout:{payment.id}",
        success_url=f"{base}/payments/thanks",
        cancel_url=f"{base}/payments/cancelled",
        customer_email=contact.email if contact else None,
        booking_id=booking.id,
        conversation_id=booking.conversation_id,
    )
    return PendingLink(payment.id, gateway, request)


def record_link(payment: Payment, link: CheckoutLink) -> None:
    payment.provider_reference = link.provider_reference[:200]
    payment.details = {
        **(payment.details or {}),
        "checkout_url": link.url,
        "expires_at": link.expires_at.isoformat() if link.expires_at else None,
    }
