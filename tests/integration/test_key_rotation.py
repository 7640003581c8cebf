"""Rotating the key of secrets at rest: after `reseal_all` with a new key first in the
ring, every stored secret opens with the new key alone."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from hablo.adapters.accounts import open_secrets, seal_secrets
from hablo.bootstrap import Runtime
from hablo.db.enums import Role
from hablo.db.models import ChannelAccount, Tenant, User
from hablo.llm.config import key_context
from hablo.payments.mercadopago_settings import (
    open_access_token,
    open_webhook_secret,
    with_mercadopago_keys,
)
from hablo.payments.service import open_secret_key, with_stripe_keys
from hablo.reseal import reseal_all
from hablo.security.second_factor import totp_context
from hablo.security.secrets import SecretBox, SecretError, generate_key_spec


def test_reseal_moves_every_secret_to_the_new_key(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    old, new = generate_key_spec("old"), generate_key_spec("new")
    old_box = SecretBox.from_specs([old])
    with runtime.db.transaction() as session:
        user = User(
            tenant_id=demo_tenant_id,
            email="owner@rotation.test",
            first_name="Owner",
            password_hash="!",
            role=Role.OWNER,
        )
        session.add(user)
        session.flush()
        user_id = user.id
        user.totp_secret_encrypted = old_box.seal("JBSWY3DPEHPK3PXP", context=totp_context(user.id))
        tenant = session.get(Tenant, demo_tenant_id)
        assert tenant is not None
        tenant.settings = {
            **tenant.settings,
            "llm": {"api_key_sealed": old_box.seal("sk-test-123", context=key_context(tenant.id))},
        }
        tenant.settings = with_stripe_keys(tenant, old_box, "sk_test_stripe", "whsec_test")
        tenant.settings = with_mercadopago_keys(tenant, old_box, "APP_USR-mp-token", "mp-secret")
        account = ChannelAccount(
            tenant_id=demo_tenant_id, channel="twilio_sms", address="+15005550006", secrets={}
        )
        session.add(account)
        session.flush()
        account_id = account.id
        seal_secrets(account, old_box, {"auth_token": "twilio-token", "api_key": "k"})

    rotated = SecretBox.from_specs([new, old])
    with runtime.db.transaction() as session:
        moved = reseal_all(session, rotated)
    assert moved == {
        "users.totp_secret": 1,
        "tenants.llm_api_key": 1,
        "tenants.stripe_secret_key": 1,
        "tenants.stripe_webhook_secret": 1,
        "tenants.mercadopago_access_token": 1,
        "tenants.mercadopago_webhook_secret": 1,
        "channel_accounts.secrets": 2,
    }
    with runtime.db.transaction() as session:
        again = reseal_all(session, rotated)
    assert sum(again.values()) == 0

    new_only = SecretBox.from_specs([new])
    with runtime.db.transaction() as session:
        user = session.scalars(select(User).where(User.id == user_id)).one()
        tenant = session.get(Tenant, demo_tenant_id)
        assert tenant is not None and user.totp_secret_encrypted is not None
        sealed_key = tenant.settings["llm"]["api_key_sealed"]
        assert new_only.open(user.totp_secret_encrypted, context=totp_context(user_id)) == (
            "JBSWY3DPEHPK3PXP"
        )
        assert new_only.open(sealed_key, context=key_context(demo_tenant_id)) == "sk-test-123"
        assert open_secret_key(tenant, new_only) == "sk_test_stripe"
        assert open_access_token(tenant, new_only) == "APP_USR-mp-token"
        assert open_webhook_secret(tenant, new_only) == "mp-secret"
        account = session.get(ChannelAccount, account_id)
        assert account is not None
        assert open_secrets(account, new_only) == {"auth_token": "twilio-token", "api_key": "k"}
        try:
            old_box.open(sealed_key, context=key_context(demo_tenant_id))
        except SecretError:
            pass
        else:
            raise AssertionError("the old key still opens a resealed value")
