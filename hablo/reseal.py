"""Key rotation for secrets at rest: move every sealed value onto the current key. It knows
every package that seals something (channels, LLM, payments, second factors), so it sits
beside bootstrap, above them all.

Rotation is: put a new key first in HABLO_SECRET_KEYS (keep the old ones after it), run
`hablo secrets reseal`, then drop the old keys. Values keep opening throughout, since
every key of the ring opens what it sealed.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hablo.adapters.accounts import reseal as reseal_account
from hablo.db.models import ChannelAccount, RemoteSkill, Tenant, User
from hablo.llm.config import SETTINGS_KEY as LLM_SETTINGS_KEY
from hablo.llm.config import key_context as llm_key_context
from hablo.payments.mercadopago_settings import (
    access_token_context as mercadopago_access_token_context,
)
from hablo.payments.mercadopago_settings import (
    webhook_secret_context as mercadopago_webhook_secret_context,
)
from hablo.payments.service import secret_key_context as stripe_secret_key_context
from hablo.payments.service import webhook_secret_context as stripe_webhook_secret_context
from hablo.plugins.remote_store import secret_context as remote_secret_context
from hablo.security.second_factor import totp_context
from hablo.security.secrets import SecretBox


def reseal_all(session: Session, box: SecretBox) -> Counter[str]:
    """Reseal every known sealed field in one transaction; returns counts per field."""
    moved: Counter[str] = Counter()
    for user in session.scalars(
        select(User).where(User.totp_secret_encrypted.is_not(None)).with_for_update()
    ):
        sealed = user.totp_secret_encrypted
        assert sealed is not None
        fresh = box.reseal(sealed, context=totp_context(user.id))
        if fresh != sealed:
            user.totp_secret_encrypted = fresh
            moved["users.totp_secret"] += 1
    for tenant in session.scalars(select(Tenant).with_for_update()):
        llm: dict[str, Any] | None = (tenant.settings or {}).get(LLM_SETTINGS_KEY)
        sealed_key = llm.get("api_key_sealed") if llm else None
        if llm and sealed_key:
            fresh = box.reseal(sealed_key, context=llm_key_context(tenant.id))
            if fresh != sealed_key:
                # A new dict: SQLAlchemy only notices JSON changes on assignment.
                tenant.settings = {
                    **tenant.settings,
                    LLM_SETTINGS_KEY: {**llm, "api_key_sealed": fresh},
                }
                moved["tenants.llm_api_key"] += 1
        moved.update(_reseal_stripe(tenant, box))
        moved.update(_reseal_mercadopago(tenant, box))
    for account in session.scalars(select(ChannelAccount).with_for_update()):
        count = reseal_account(account, box)
        if count:
            moved["channel_accounts.secrets"] += count
    for remote in session.scalars(select(RemoteSkill).with_for_update()):
        context = remote_secret_context(remote.tenant_id, remote.name)
        fresh = box.reseal(remote.secret_sealed, context=context)
        if fresh != remote.secret_sealed:
            remote.secret_sealed = fresh
            moved["remote_skills.secret"] += 1
    return moved


def _reseal_stripe(tenant: Tenant, box: SecretBox) -> Counter[str]:
    contexts = {
        "secret_key_sealed": stripe_secret_key_context(tenant.id),
        "webhook_secret_sealed": stripe_webhook_secret_context(tenant.id),
    }
    return _reseal_provider(tenant, box, "stripe", contexts)


def _reseal_mercadopago(tenant: Tenant, box: SecretBox) -> Counter[str]:
    contexts = {
        "access_token_sealed": mercadopago_access_token_context(tenant.id),
        "webhook_secret_sealed": mercadopago_webhook_secret_context(tenant.id),
    }
    return _reseal_provider(tenant, box, "mercadopago", contexts)


def _reseal_provider(
    tenant: Tenant, box: SecretBox, provider: str, contexts: dict[str, str]
) -> Counter[str]:
    """Reseal a payment provider's sealed fields in settings["payments"][provider]."""
    payments = dict((tenant.settings or {}).get("payments") or {})
    found = payments.get(provider)
    values = dict(found) if isinstance(found, dict) else {}
    moved: Counter[str] = Counter()
    for name, context in contexts.items():
        sealed = values.get(name)
        if sealed:
            fresh = box.reseal(sealed, context=context)
            if fresh != sealed:
                values[name] = fresh
                moved[f"tenants.{provider}_{name.removesuffix('_sealed')}"] += 1
    if moved:
        tenant.settings = {**tenant.settings, "payments": {**payments, provider: values}}
    return moved
