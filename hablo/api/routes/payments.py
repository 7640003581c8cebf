"""Payments: list and detail, Stripe Checkout links for bookings, refunds, cash, and the
tenant's Stripe keys. A payment's state follows the provider's webhooks (see
`routes/webhooks.py`); money is integer minor units of the tenant's currency."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from hablo.api.app_keys import RUNTIME
from hablo.api.endpoints import ApiRoutes, Call, Page, PageQuery, RequestModel
from hablo.api.problems import ApiError, conflict
from hablo.api.scope import TenantScope
from hablo.db.base import utcnow
from hablo.db.enums import PaymentMethod, PaymentStatus
from hablo.db.models import Booking, Payment, Tenant
from hablo.engine.agent_reply import hand_to_dispatcher
from hablo.payments import mercadopago_settings, service
from hablo.payments.checkout import CheckoutConfig, create_checkout
from hablo.payments.gateway import GatewayError, PaymentGateway
from hablo.payments.service import Effects, PaymentRefused
from hablo.payments.state import REFUNDABLE
from hablo.security.secrets import SecretBox

routes = ApiRoutes("payments")
log = logging.getLogger(__name__)

# payments.amount_minor is a 32-bit integer column.
MAX_AMOUNT_MINOR = 2_000_000_000


class PaymentOut(BaseModel):
    id: uuid.UUID
    booking_id: uuid.UUID | None
    contact_id: uuid.UUID
    amount_minor: int = Field(description="Amount in minor units (cents)")
    refunded_minor: int
    currency: str
    method: PaymentMethod
    status: PaymentStatus
    checkout_url: str | None = None
    checkout_expires_at: datetime | None = None
    failure_reason: str | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: Payment) -> PaymentOut:
        details = p.details or {}
        expires = details.get("expires_at")
        return cls(
            id=p.id,
            booking_id=p.booking_id,
            contact_id=p.contact_id,
            amount_minor=p.amount_minor,
            refunded_minor=p.refunded_minor,
            currency=p.currency,
            method=p.method,
            status=p.status,
            checkout_url=details.get("checkout_url"),
            checkout_expires_at=datetime.fromisoformat(expires) if expires else None,
            failure_reason=details.get("failure"),
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


class PaymentQuery(PageQuery):
    status: PaymentStatus | None = None
    method: PaymentMethod | None = None
    booking_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    created_from: AwareDatetime | None = None
    created_to: AwareDatetime | None = None


class CheckoutIn(RequestModel):
    booking_id: uuid.UUID
    method: Literal["stripe", "mercadopago"] | None = Field(
        default=None,
        description="The provider; omitted: Stripe when its keys are set, else MercadoPago",
    )


class RefundIn(RequestModel):
    amount_minor: int | None = Field(
        default=None, ge=1, le=MAX_AMOUNT_MINOR, description="Omit to refund what is left"
    )


class CashIn(RequestModel):
    booking_id: uuid.UUID
    amount_minor: int = Field(ge=1, le=MAX_AMOUNT_MINOR)


class MercadoPagoKeysIn(RequestModel):
    # "APP_USR-..." (production) or "TEST-..." (sandbox) access tokens.
    access_token: str = Field(pattern=r"^(APP_USR|TEST)-[A-Za-z0-9-]{16,240}$")
    # The application's webhook "secret signature" (Your integrations > Webhooks).
    webhook_secret: str = Field(pattern=r"^[A-Za-z0-9_-]{16,256}$")


class StripeKeysIn(RequestModel):
    secret_key: str = Field(pattern=r"^(sk|rk)_(test|live)_[A-Za-z0-9_]{8,240}$")
    webhook_secret: str = Field(pattern=r"^whsec_[A-Za-z0-9_]{8,240}$")


def _settings(call: Call[Any, Any]) -> Any:
    return call.request.app[RUNTIME].settings


def _box(settings: Any) -> SecretBox:
    return SecretBox.from_config(settings.secret_keys, settings.state_dir)


def _refused(exc: PaymentRefused) -> ApiError:
    return conflict(str(exc), exc.details or None)


def _gateway_down(exc: GatewayError) -> ApiError:
    # The provider's or the network's own words stay in the log: they may name hosts,
    # addresses or internals (the client gets the code and a fixed message).
    log.warning("payment provider error: %s", exc)
    return ApiError(502, "payment_provider_error", "the payment provider refused or failed")


def _tenant(scope: TenantScope) -> Tenant:
    tenant = scope.session.get(Tenant, scope.tenant_id)
    if tenant is None:
        raise ApiError(404, "not_found", "tenant not found")
    return tenant


def _stripe(tenant: Tenant, settings: Any) -> PaymentGateway:
    try:
        return CheckoutConfig.from_settings(settings).stripe(tenant)
    except PaymentRefused as exc:
        raise _refused(exc) from exc


def _mercadopago(tenant: Tenant, settings: Any) -> PaymentGateway:
    try:
        return CheckoutConfig.from_settings(settings).mercadopago(tenant)
    except PaymentRefused as exc:
        raise _refused(exc) from exc


@routes.get(
    "/api/payments",
    "payments:read",
    query=PaymentQuery,
    response=Page[PaymentOut],
    summary="List payments",
)
async def list_payments(call: Call[PaymentQuery, None]) -> Page[PaymentOut]:
    q = call.query

    def work(scope: TenantScope) -> Page[PaymentOut]:
        query = scope.select(Payment)
        for column, value in (
            (Payment.status, q.status),
            (Payment.method, q.method),
            (Payment.booking_id, q.booking_id),
            (Payment.contact_id, q.contact_id),
        ):
            if value is not None:
                query = query.where(column == value)
        if q.created_from is not None:
            query = query.where(Payment.created_at >= q.created_from)
        if q.created_to is not None:
            query = query.where(Payment.created_at < q.created_to)
        total = scope.count(query)
        rows = scope.session.scalars(
            query.order_by(Payment.created_at.desc(), Payment.id).offset(q.offset).limit(q.per_page)
        )
        return Page(
            items=[PaymentOut.of(p) for p in rows], page=q.page, per_page=q.per_page, total=total
        )

    return await call.db(work)


@routes.get(
    "/api/payments/{payment_id}", "payments:read", response=PaymentOut, summary="Get a payment"
)
async def get_payment(call: Call[None, None]) -> PaymentOut:
    def work(scope: TenantScope) -> PaymentOut:
        return PaymentOut.of(scope.get(Payment, call.path["payment_id"], what="payment"))

    return await call.db(work)


@routes.post(
    "/api/payments/checkout-session",
    "payments:write",
    body=CheckoutIn,
    response=PaymentOut,
    status=201,
    errors=(404, 409, 502),
    summary="A checkout link for a booking (the open one if it still works)",
    description="Amount: the service price, or the deposit share when the tenant's "
    "`settings.payments.mode` is `deposit` (`deposit_percent`). `method` picks Stripe "
    "Checkout or MercadoPago Checkout Pro. While a link is open the "
    "same payment and link are returned; after it expired a new one is made.",
)
async def create_checkout_session(call: Call[None, CheckoutIn]) -> PaymentOut:
    config = CheckoutConfig.from_settings(_settings(call))

    def work(scope: TenantScope) -> PaymentOut:
        booking = scope.get(Booking, call.body.booking_id, what="booking", for_update=True)
        try:
            made = create_checkout(
                scope.session,
                booking,
                _tenant(scope),
                config,
                utcnow(),
                PaymentMethod(call.body.method) if call.body.method else None,
            )
        except PaymentRefused as exc:
            raise _refused(exc) from exc
        except GatewayError as exc:
            raise _gateway_down(exc) from exc  # the pending payment rolls back
        if made.created:
            scope.audit(
                "create",
                "payment",
                made.payment.id,
                {"booking_id": booking.id, "amount": made.payment.amount_minor},
            )
        return PaymentOut.of(made.payment)

    return await call.db(work)


@routes.post(
    "/api/payments/{payment_id}/refund",
    "payments:refund",
    body=RefundIn,
    response=PaymentOut,
    status=202,
    errors=(404, 409, 502),
    summary="Refund all or part of a payment",
    description="Stripe payments are refunded through Stripe; the payment's status and "
    "`refunded_minor` follow Stripe's `charge.refunded` webhook. MercadoPago payments are "
    "refunded through MercadoPago and follow its payment notifications. Cash refunds are "
    "recorded at once.",
)
async def refund_payment(call: Call[None, RefundIn]) -> PaymentOut:
    settings = _settings(call)

    def work(scope: TenantScope) -> PaymentOut:
        payment = scope.get(Payment, call.path["payment_id"], what="payment", for_update=True)
        details = dict(payment.details or {})
        requested = max(payment.refunded_minor, int(details.get("refund_requested_minor", 0)))
        left = payment.amount_minor - requested if payment.status in REFUNDABLE else 0
        amount = call.body.amount_minor or left
        if left <= 0 or amount > left:
            raise conflict(
                "this payment cannot be refunded by that amount",
                {"status": payment.status.value, "refundable_minor": max(left, 0)},
            )
        if payment.method == PaymentMethod.CASH:
            service.record_refunded_total(scope.session, payment, requested + amount)
        else:
            if payment.method == PaymentMethod.MERCADOPAGO:
                intent = details.get("mercadopago_payment_id")
                gateway = _mercadopago(_tenant(scope), settings) if intent else None
            else:
                intent = details.get("payment_intent")
                gateway = _stripe(_tenant(scope), settings) if intent else None
            if not intent or gateway is None:
                raise conflict(f"this payment has no {payment.method.value} charge to refund")
            try:
                result = gateway.refund(
                    str(intent), amount, idempotency_key=f"refund:{payment.id}:{requested}"
                )
            except GatewayError as exc:
                raise _gateway_down(exc) from exc
            refunds = [
                *details.get("refunds", []),
                {"id": result.provider_reference, "amount_minor": amount, "status": result.status},
            ]
            payment.details = {
                **details,
                "refund_requested_minor": requested + amount,
                "refunds": refunds,
            }
        scope.session.flush()
        scope.audit("refund", "payment", payment.id, {"amount_minor": amount})
        return PaymentOut.of(payment)

    return await call.db(work)


@routes.post(
    "/api/payments/cash",
    "payments:write",
    body=CashIn,
    response=PaymentOut,
    status=201,
    errors=(404, 409),
    summary="Record a cash payment for a booking (confirms the booking)",
)
async def record_cash_payment(call: Call[None, CashIn]) -> PaymentOut:
    def work(scope: TenantScope) -> tuple[PaymentOut, Effects]:
        now = utcnow()
        booking = scope.get(Booking, call.body.booking_id, what="booking", for_update=True)
        try:
            service.refuse_if_paid(scope.session, booking)
        except PaymentRefused as exc:
            raise _refused(exc) from exc
        tenant = _tenant(scope)
        payment = scope.add(
            Payment(
                contact_id=booking.contact_id,
                booking_id=booking.id,
                amount_minor=call.body.amount_minor,
                currency=tenant.currency,
                method=PaymentMethod.CASH,
                status=PaymentStatus.PENDING,
                details={"recorded_by": str(call.user.user_id)},
            )
        )
        scope.session.flush()
        effects = service.complete(scope.session, payment, now)
        scope.audit(
            "create", "payment", payment.id, {"method": "cash", "amount": payment.amount_minor}
        )
        return PaymentOut.of(payment), effects

    out, effects = await call.db(work)
    hand_to_dispatcher(call.request.app[RUNTIME].engine, effects.envelopes)
    return out


@routes.put(
    "/api/payments/stripe-keys",
    "payments:configure",
    body=StripeKeysIn,
    summary="Set the business's Stripe secret key and webhook signing secret",
    description="Both are stored encrypted and never returned. Point the Stripe webhook "
    "at `/api/webhooks/stripe/{tenant_slug}`.",
)
async def set_stripe_keys(call: Call[None, StripeKeysIn]) -> None:
    box = _box(_settings(call))

    def work(scope: TenantScope) -> None:
        tenant = _tenant(scope)
        tenant.settings = service.with_stripe_keys(
            tenant, box, call.body.secret_key, call.body.webhook_secret
        )
        scope.audit("update", "tenant", tenant.id, {"stripe_keys": "set"})

    await call.db(work)


@routes.put(
    "/api/payments/mercadopago-keys",
    "payments:configure",
    body=MercadoPagoKeysIn,
    summary="Set the business's MercadoPago access token and webhook secret signature",
    description="Both are stored encrypted and never returned. Checkout links tell "
    "MercadoPago to notify `/api/webhooks/mercadopago/{tenant_slug}`.",
)
async def set_mercadopago_keys(call: Call[None, MercadoPagoKeysIn]) -> None:
    box = _box(_settings(call))

    def work(scope: TenantScope) -> None:
        tenant = _tenant(scope)
        tenant.settings = mercadopago_settings.with_mercadopago_keys(
            tenant, box, call.body.access_token, call.body.webhook_secret
        )
        scope.audit("update", "tenant", tenant.id, {"mercadopago_keys": "set"})

    await call.db(work)
