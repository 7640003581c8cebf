"""What the chat charges for a booking: nothing online, a deposit, or the full price.

Stored in `tenants.settings["payments"]` next to the providers' sealed keys (which this
module never touches); the engine rereads it at once.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from hablo.api.endpoints import ApiRoutes, Call, RequestModel
from hablo.api.routes.tenants import own_tenant
from hablo.api.scope import TenantScope, check_if_match, etag_of
from hablo.db.models import Tenant
from hablo.payments import mercadopago_settings, service

routes = ApiRoutes("payment_settings")
Mode = Literal["none", "deposit", "full"]


class PaymentSettingsOut(BaseModel):
    mode: Mode = Field(description="none: no online payment; deposit: a share; full: the price")
    deposit_percent: int | None = Field(description="The share charged in deposit mode")
    stripe_configured: bool
    mercadopago_configured: bool

    @classmethod
    def of(cls, tenant: Tenant) -> PaymentSettingsOut:
        stored = (tenant.settings or {}).get("payments") or {}
        mode = stored.get("mode", "full")
        return cls(
            mode=mode if mode in ("none", "deposit", "full") else "full",
            deposit_percent=stored.get("deposit_percent") if mode == "deposit" else None,
            stripe_configured=bool(service.stripe_settings(tenant).get("secret_key_sealed")),
            mercadopago_configured=mercadopago_settings.is_configured(tenant),
        )


class PaymentSettingsIn(RequestModel):
    mode: Mode
    deposit_percent: int | None = Field(default=None, ge=1, le=100)

    @model_validator(mode="after")
    def _deposit_needs_a_share(self) -> PaymentSettingsIn:
        if self.mode == "deposit" and self.deposit_percent is None:
            raise ValueError("deposit mode needs deposit_percent (1-100)")
        if self.mode != "deposit" and self.deposit_percent is not None:
            raise ValueError("deposit_percent is only for deposit mode")
        return self


@routes.get(
    "/api/payments/settings",
    "payments:read",
    response=PaymentSettingsOut,
    summary="What the chat charges when a customer books, and which providers are set",
)
async def get_payment_settings(call: Call[None, None]) -> PaymentSettingsOut:
    def work(scope: TenantScope) -> PaymentSettingsOut:
        tenant = own_tenant(scope)
        call.response_headers["ETag"] = etag_of(tenant)
        return PaymentSettingsOut.of(tenant)

    return await call.db(work)


@routes.put(
    "/api/payments/settings",
    "payments:configure",
    body=PaymentSettingsIn,
    response=PaymentSettingsOut,
    errors=(404, 412),
    summary="Charge nothing online, a deposit, or the full price; effective on the next booking",
)
async def update_payment_settings(call: Call[None, PaymentSettingsIn]) -> PaymentSettingsOut:
    def work(scope: TenantScope) -> PaymentSettingsOut:
        tenant = own_tenant(scope, for_update=True)
        check_if_match(call.if_match(), tenant)
        payments = dict((tenant.settings or {}).get("payments") or {})
        payments["mode"] = call.body.mode
        payments.pop("deposit_percent", None)
        if call.body.deposit_percent is not None:
            payments["deposit_percent"] = call.body.deposit_percent
        # A new dict: JSON columns do not track in-place edits.
        tenant.settings = {**(tenant.settings or {}), "payments": payments}
        scope.session.flush()
        scope.audit("update", "payment_settings", tenant.id, call.body.model_dump())
        call.response_headers["ETag"] = etag_of(tenant)
        return PaymentSettingsOut.of(tenant)

    result = await call.db(work)
    call.tenant_changed()
    return result
