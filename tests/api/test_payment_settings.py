"""What the chat charges, set through the API: none, a deposit share, or the full price."""

from __future__ import annotations

from sqlalchemy import select

from hablo.db.enums import Role
from hablo.db.models import Tenant
from hablo.payments.service import amount_due
from tests.api.support import Api

PATH = "/api/payments/settings"


def test_owner_sets_a_deposit_and_the_amount_due_follows(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    assert owner.get(PATH).json() == {
        "mode": "full",
        "deposit_percent": None,
        "stripe_configured": False,
        "mercadopago_configured": False,
    }
    keys = {"secret_key": "sk_test_abcdefgh123", "webhook_secret": "whsec_abcdefgh123"}
    assert owner.put("/api/payments/stripe-keys", json=keys).status_code < 300

    changed = owner.put(PATH, json={"mode": "deposit", "deposit_percent": 30})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        "mode": "deposit",
        "deposit_percent": 30,
        "stripe_configured": True,  # the sealed keys next to the mode are kept
        "mercadopago_configured": False,
    }
    with api.runtime.db.transaction() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.slug == "demo")).one()
        assert amount_due(tenant, 8_000_00) == 2_400_00

    back = owner.put(PATH, json={"mode": "full"})
    assert back.json()["deposit_percent"] is None
    assert owner.put(PATH, json={"mode": "none"}).json()["mode"] == "none"


def test_bad_settings_are_422_and_change_nothing(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    for body in (
        {"mode": "deposit"},
        {"mode": "full", "deposit_percent": 50},
        {"mode": "deposit", "deposit_percent": 0},
        {"mode": "deposit", "deposit_percent": 101},
        {"mode": "half"},
        {"mode": "full", "extra": 1},
    ):
        refused = owner.put(PATH, json=body)
        assert refused.status_code == 422, (body, refused.text)
    assert owner.get(PATH).json()["mode"] == "full"


def test_only_the_owner_configures_and_managers_read(api: Api) -> None:
    assert api.as_role(Role.ADMIN).get(PATH).status_code == 200
    assert api.as_role(Role.ADMIN).put(PATH, json={"mode": "none"}).status_code == 403
    assert api.as_role(Role.AGENT).get(PATH).status_code == 403
    stale = api.as_role(Role.OWNER).put(PATH, json={"mode": "none"}, headers={"If-Match": 'W/"0"'})
    assert stale.status_code == 412
