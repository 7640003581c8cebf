"""MercadoPago Checkout Pro over its public REST API (no SDK: a small blocking JSON client
on `urllib.request`, called from worker threads like Stripe's).

A checkout is a *preference*: the customer pays at its `init_point`. Our payment id is the
preference's `external_reference` (MercadoPago copies it onto every payment made from it),
so the webhook finds our payment from the payment it reads back from the API. The base URL
is configurable (`mercadopago_api_base`): tests talk to a fake on 127.0.0.1.

Money: MercadoPago takes amounts in major units (`unit_price: 1500.5`); hablo keeps integer
minor units. The conversion uses the currency's decimals as hablo shows prices (CLDR via
babel: CLP and COP have none), so a price is charged exactly as the customer saw it.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import get_currency_precision

from hablo.payments.gateway import (
    CheckoutLink,
    CheckoutRequest,
    GatewayError,
    PaymentGateway,
    RefundResult,
)

DEFAULT_API_BASE = "https://api.mercadopago.com"
# Like a Stripe Checkout Session: a link works for a day, then a new one is made.
LINK_LIFETIME = timedelta(hours=24)
TIMEOUT_S = 8.0  # with the retries, inside the API's 30 s deadline
# Writes carry an idempotency key, so a retry after a timeout cannot charge or refund twice.
RETRY_DELAYS_S = (0.3, 1.0)
MAX_RESPONSE_BYTES = 1024 * 1024

log = logging.getLogger(__name__)


# --- money ------------------------------------------------------------------------------


def currency_decimals(currency: str) -> int:
    return int(get_currency_precision(currency.upper()))


def to_major(amount_minor: int, currency: str) -> Decimal:
    """1050 ARS cents -> Decimal('10.50'); 8000 CLP -> Decimal('8000')."""
    return Decimal(amount_minor).scaleb(-currency_decimals(currency))


def to_minor(amount_major: Any, currency: str) -> int:
    """MercadoPago's amount (a JSON number or string) back to minor units, exactly.
    Read through `str` so a float such as 10.1 is taken as written, not as its binary
    approximation; a value with more decimals than the currency has is rounded half up."""
    try:
        value = Decimal(str(amount_major))
    except InvalidOperation as exc:
        raise GatewayError(
            f"MercadoPago sent an amount that is not a number: {amount_major!r}", retryable=False
        ) from exc
    minor = value.scaleb(currency_decimals(currency)).to_integral_value(rounding="ROUND_HALF_UP")
    return int(minor)


def json_number(amount: Decimal) -> float | int:
    """A Decimal as a JSON number. Minor amounts fit in 32 bits (< 16 significant digits),
    so the float's shortest repr is exactly the decimal written (`10.5`, never `10.4999`)."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


# --- the API ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MercadoPagoPayment:
    """The fields of `GET /v1/payments/{id}` that hablo reads (the rest is the payer's
    data, which hablo does not keep)."""

    id: str
    status: str  # approved, pending, in_process, rejected, cancelled, refunded, charged_back...
    status_detail: str
    external_reference: str | None
    currency: str
    amount_minor: int
    refunded_minor: int

    @classmethod
    def of(cls, body: dict[str, Any]) -> MercadoPagoPayment:
        currency = str(body.get("currency_id") or "USD").upper()
        return cls(
            id=str(body.get("id", "")),
            status=str(body.get("status") or ""),
            status_detail=str(body.get("status_detail") or ""),
            external_reference=(
                str(body["external_reference"]) if body.get("external_reference") else None
            ),
            currency=currency,
            amount_minor=to_minor(body.get("transaction_amount") or 0, currency),
            refunded_minor=to_minor(body.get("transaction_amount_refunded") or 0, currency),
        )

    def summary(self) -> dict[str, Any]:
        """What is stored with the webhook event (no payer data)."""
        return {
            "id": self.id,
            "status": self.status,
            "status_detail": self.status_detail,
            "external_reference": self.external_reference,
            "currency": self.currency,
            "amount_minor": self.amount_minor,
            "refunded_minor": self.refunded_minor,
        }


class MercadoPagoGateway(PaymentGateway):
    name = "mercadopago"

    def __init__(
        self,
        access_token: str,
        *,
        notification_url: str | None,
        api_base: str = DEFAULT_API_BASE,
        timeout_s: float = TIMEOUT_S,
        retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S,
    ) -> None:
        self._token = access_token
        self._notification_url = notification_url
        self._base = api_base.rstrip("/")
        self._timeout_s = timeout_s
        self._retry_delays_s = retry_delays_s

    def create_checkout(self, request: CheckoutRequest) -> CheckoutLink:
        currency = request.currency.upper()
        expires = datetime.now(UTC) + LINK_LIFETIME
        body: dict[str, Any] = {
            "items": [
                {
                    "id": str(request.booking_id or request.payment_id),
                    "title": item.name[:250],
                    "quantity": item.quantity,
                    "currency_id": currency,
                    "unit_price": json_number(to_major(item.unit_amount_minor, currency)),
                }
                for item in request.items
            ],
            "external_reference": str(request.payment_id),
            "metadata": {**request.metadata, **_ids(request)},
            "back_urls": {
                "success": request.success_url,
                "pending": request.success_url,
                "failure": request.cancel_url,
            },
            "expires": True,
            "expiration_date_to": _mp_datetime(expires),
        }
        if self._notification_url:
            body["notification_url"] = self._notification_url
        if request.customer_email:
            body["payer"] = {"email": request.customer_email}
        found = self._request(
            "POST", "/checkout/preferences", body, idempotency_key=request.idempotency_key
        )
        url = found.get("init_point")
        if not found.get("id") or not url:
            raise GatewayError("MercadoPago answered without a preference link", retryable=True)
        return CheckoutLink(provider_reference=str(found["id"]), url=str(url), expires_at=expires)

    def refund(
        self, provider_reference: str, amount_minor: int | None, *, idempotency_key: str
    ) -> RefundResult:
        """`provider_reference` is MercadoPago's payment id (refunds are of payments, not of
        preferences). The amount is in the payment's currency, read from the payment."""
        payment = self.get_payment(provider_reference)
        body: dict[str, Any] = {}
        if amount_minor is not None:
            body["amount"] = json_number(to_major(amount_minor, payment.currency))
        found = self._request(
            "POST",
            f"/v1/payments/{_segment(provider_reference)}/refunds",
            body,
            idempotency_key=idempotency_key,
        )
        refunded = found.get("amount")
        return RefundResult(
            provider_reference=str(found.get("id", "")),
            amount_minor=(
                to_minor(refunded, payment.currency)
                if refunded is not None
                else amount_minor or payment.amount_minor - payment.refunded_minor
            ),
            status=str(found.get("status") or "pending"),
        )

    def get_payment(self, payment_id: str) -> MercadoPagoPayment:
        return MercadoPagoPayment.of(self._request("GET", f"/v1/payments/{_segment(payment_id)}"))

    # -- HTTP ------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        attempts = (0.0, *self._retry_delays_s)
        for number, delay in enumerate(attempts):
            time.sleep(delay)
            try:
                return self._once(method, path, body, idempotency_key)
            except GatewayError as exc:
                if not exc.retryable or number == len(attempts) - 1:
                    raise
                log.info("MercadoPago %s %s failed (%s); retrying", method, path, exc)
        raise AssertionError("unreachable")

    def _once(
        self, method: str, path: str, body: dict[str, Any] | None, idempotency_key: str | None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if idempotency_key:
            headers["X-Idempotency-Key"] = idempotency_key[:255]
        request = urllib.request.Request(self._base + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                raw = response.read(MAX_RESPONSE_BYTES)
        except urllib.error.HTTPError as exc:
            status = exc.code
            raise GatewayError(
                f"MercadoPago answered {status}: {_message(exc)}",
                retryable=status >= 500 or status == 429,
            ) from None  # the chained request would carry the token in its headers
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise GatewayError(
                f"MercadoPago unreachable: {type(reason).__name__}", retryable=True
            ) from None
        try:
            found = json.loads(raw)
        except ValueError:
            found = None
        if not isinstance(found, dict):
            raise GatewayError("MercadoPago answered something that is not JSON", retryable=True)
        return found


def _ids(request: CheckoutRequest) -> dict[str, str]:
    ids = {"tenant_id": str(request.tenant_id), "payment_id": str(request.payment_id)}
    if request.booking_id:
        ids["booking_id"] = str(request.booking_id)
    if request.conversation_id:
        ids["conversation_id"] = str(request.conversation_id)
    return ids


def _mp_datetime(moment: datetime) -> str:
    """MercadoPago's date format: ISO 8601 with milliseconds and an explicit offset."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")


def _segment(value: str) -> str:
    """An id as one path segment (ids are digits; refuse anything that could change the
    path)."""
    if not value or not value.replace("-", "").replace("_", "").isalnum():
        raise GatewayError(f"not a MercadoPago id: {value[:40]!r}", retryable=False)
    return value


def _message(exc: urllib.error.HTTPError) -> str:
    """MercadoPago's `message` from an error body (never the request: it has the token)."""
    try:
        body = json.loads(exc.read(64 * 1024))
    except (ValueError, OSError):
        return exc.reason if isinstance(exc.reason, str) else "error"
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or body.get("error") or "error")[:300] if isinstance(body, dict) else "error"
