"""The port every payment provider implements (Stripe, MercadoPago); cash needs none.

Money is always integer minor units in the tenant's currency. Calls are blocking (the
providers' SDKs are): call them from worker threads, never on the event loop.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime

# Per attempt, for Stripe calls: they run inside a chat turn's DB transaction. Here, not
# in stripe_gateway.py, so the checkout config can default to it without importing the
# stripe SDK.
STRIPE_TIMEOUT_S = 10.0


class GatewayError(Exception):
    """The provider refused or could not be reached; `retryable` says whether to retry."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class LineItem:
    name: str
    unit_amount_minor: int
    quantity: int = 1


@dataclass(frozen=True)
class CheckoutRequest:
    tenant_id: uuid.UUID
    payment_id: uuid.UUID
    currency: str  # ISO 4217, upper case
    items: tuple[LineItem, ...]
    # The same key for a retry of the same request: the provider returns the first result.
    idempotency_key: str
    success_url: str
    cancel_url: str
    customer_email: str | None = None
    booking_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def total_minor(self) -> int:
        return sum(i.unit_amount_minor * i.quantity for i in self.items)


@dataclass(frozen=True)
class CheckoutLink:
    provider_reference: str  # the provider's checkout/session/preference id
    url: str
    expires_at: datetime | None


@dataclass(frozen=True)
class RefundResult:
    provider_reference: str
    amount_minor: int
    status: str  # the provider's word ("pending", "succeeded", ...)


class PaymentGateway(ABC):
    name: str

    @abstractmethod
    def create_checkout(self, request: CheckoutRequest) -> CheckoutLink: ...

    @abstractmethod
    def refund(
        self, provider_reference: str, amount_minor: int | None, *, idempotency_key: str
    ) -> RefundResult:
        """Refund all (None) or part of a completed payment."""
