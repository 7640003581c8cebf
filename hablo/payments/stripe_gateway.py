"""Stripe Checkout through the official `stripe` package (blocking: worker threads only).

The base URL is configurable (`stripe_api_base`), so tests talk to a fake Stripe on
127.0.0.1 over real HTTP. Every write carries an idempotency key, and the session carries
our ids in its metadata: the webhook finds the payment (and its tenant) from them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import stripe

from hablo.payments.gateway import (
    STRIPE_TIMEOUT_S,
    CheckoutLink,
    CheckoutRequest,
    GatewayError,
    PaymentGateway,
    RefundResult,
)

DEFAULT_API_BASE = "https://api.stripe.com"
DEFAULT_TIMEOUT_S = STRIPE_TIMEOUT_S
# One retry (safe: every write carries an idempotency key). The call runs inside a chat
# turn's DB transaction, so the worst case, about 2 x timeout, must stay short.
MAX_NETWORK_RETRIES = 1


class StripeGateway(PaymentGateway):
    name = "stripe"

    def __init__(
        self,
        secret_key: str,
        *,
        api_base: str = DEFAULT_API_BASE,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base.rstrip("/")},
            max_network_retries=MAX_NETWORK_RETRIES,
            # The library's default timeout is 80 s per attempt.
            http_client=stripe.new_default_http_client(timeout=timeout_s),
        )

    def create_checkout(self, request: CheckoutRequest) -> CheckoutLink:
        metadata = {**request.metadata, **_ids(request)}
        params: dict[str, Any] = {
            "mode": "payment",
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "client_reference_id": str(request.payment_id),
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "line_items": [
                {
                    "quantity": item.quantity,
                    "price_data": {
                        "currency": request.currency.lower(),
                        "unit_amount": item.unit_amount_minor,
                        "product_data": {"name": item.name[:250]},
                    },
                }
                for item in request.items
            ],
        }
        if request.customer_email:
            params["customer_email"] = request.customer_email
        session = self._call(
            lambda: self._client.v1.checkout.sessions.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": request.idempotency_key},
            )
        )
        expires = getattr(session, "expires_at", None)
        return CheckoutLink(
            provider_reference=str(session.id),
            url=str(session.url),
            expires_at=datetime.fromtimestamp(int(expires), UTC) if expires else None,
        )

    def refund(
        self, provider_reference: str, amount_minor: int | None, *, idempotency_key: str
    ) -> RefundResult:
        """`provider_reference` is the payment intent id (Stripe refunds intents)."""
        params: dict[str, Any] = {"payment_intent": provider_reference}
        if amount_minor is not None:
            params["amount"] = amount_minor
        refund = self._call(
            lambda: self._client.v1.refunds.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        )
        return RefundResult(
            provider_reference=str(refund.id),
            amount_minor=int(refund.amount),
            status=str(refund.status),
        )

    @staticmethod
    def _call(work: Any) -> Any:
        try:
            return work()
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise GatewayError(_safe(exc), retryable=True) from exc
        except stripe.StripeError as exc:
            status = getattr(exc, "http_status", None) or 0
            raise GatewayError(_safe(exc), retryable=status >= 500) from exc


def _ids(request: CheckoutRequest) -> dict[str, str]:
    ids = {"tenant_id": str(request.tenant_id), "payment_id": str(request.payment_id)}
    if request.booking_id:
        ids["booking_id"] = str(request.booking_id)
    if request.conversation_id:
        ids["conversation_id"] = str(request.conversation_id)
    return ids


def _safe(exc: stripe.StripeError) -> str:
    """Stripe's user message (never the request, which carries the key in a header)."""
    return str(getattr(exc, "user_message", None) or type(exc).__name__)[:300]
