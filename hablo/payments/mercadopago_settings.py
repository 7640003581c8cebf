"""A tenant's MercadoPago credentials, sealed in `tenant.settings["payments"]["mercadopago"]`
like its Stripe keys: the access token (API calls) and the webhook secret signature (checks
`x-signature`). Both are sealed with a context naming the tenant, so a sealed value copied
into another tenant's settings does not open."""

from __future__ import annotations

import uuid
from typing import Any

from hablo.db.models import Tenant
from hablo.security.secrets import SecretBox


def access_token_context(tenant_id: uuid.UUID) -> str:
    return f"tenant:{tenant_id}:mercadopago_access_token"


def webhook_secret_context(tenant_id: uuid.UUID) -> str:
    return f"tenant:{tenant_id}:mercadopago_webhook_secret"


def mercadopago_settings(tenant: Tenant) -> dict[str, Any]:
    payments = (tenant.settings or {}).get("payments") or {}
    found = payments.get("mercadopago") if isinstance(payments, dict) else None
    return dict(found) if isinstance(found, dict) else {}


def is_configured(tenant: Tenant) -> bool:
    return bool(mercadopago_settings(tenant).get("access_token_sealed"))


def with_mercadopago_keys(
    tenant: Tenant, box: SecretBox, access_token: str, webhook_secret: str
) -> dict[str, Any]:
    """The tenant's settings with both secrets sealed (a new dict, so the JSON column is
    seen as changed)."""
    settings = dict(tenant.settings or {})
    payments = dict(settings.get("payments") or {})
    mercadopago = dict(payments.get("mercadopago") or {})
    mercadopago["access_token_sealed"] = box.seal(
        access_token, context=access_token_context(tenant.id)
    )
    mercadopago["webhook_secret_sealed"] = box.seal(
        webhook_secret, context=webhook_secret_context(tenant.id)
    )
    payments["mercadopago"] = mercadopago
    settings["payments"] = payments
    return settings


def open_access_token(tenant: Tenant, box: SecretBox) -> str | None:
    sealed = mercadopago_settings(tenant).get("access_token_sealed")
    return box.open(sealed, context=access_token_context(tenant.id)) if sealed else None


def open_webhook_secret(tenant: Tenant, box: SecretBox) -> str | None:
    sealed = mercadopago_settings(tenant).get("webhook_secret_sealed")
    return box.open(sealed, context=webhook_secret_context(tenant.id)) if sealed else None
