"""The caller's tenant, its usage and plan, the bot's settings and the audit log."""

from __future__ import annotations

from sqlalchemy import select

from hablo.db.enums import Role, SenderKind
from hablo.db.models import Message, Tenant
from tests.api.support import Api
from tests.e2e.server import wait_until
from tests.integration.helpers import inbound


def test_read_and_edit_my_tenant_with_etags(api: Api) -> None:
    agent = api.as_role(Role.AGENT)
    mine = agent.get("/api/tenants/me")
    assert mine.status_code == 200
    assert mine.json()["slug"] == "demo" and mine.json()["currency"] == "ARS"
    assert agent.put("/api/tenants/me", json={"name": "X"}).status_code == 403

    owner = api.as_role(Role.OWNER)
    etag = owner.get("/api/tenants/me").headers["ETag"]
    edited = owner.put(
        "/api/tenants/me",
        json={"name": "Salón Luna", "phone": "+54 9 11 5555-0000", "currency": "mxn"},
        headers={"If-Match": etag},
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["name"], body["phone"], body["currency"]) == (
        "Salón Luna",
        "+5491155550000",
        "MXN",
    )
    stale = owner.put("/api/tenants/me", json={"name": "Viejo"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    cleared = owner.put("/api/tenants/me", json={"address": None})
    assert cleared.status_code == 200 and cleared.json()["address"] is None
    assert owner.get("/api/tenants/me").json()["name"] == "Salón Luna"


def test_bad_tenant_data_is_refused_and_nothing_changes(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    bad = owner.put(
        "/api/tenants/me",
        json={
            "timezone": "Mars/Olympus",
            "currency": "XYZ",
            "locale": "pt-BR",
            "email": "nope",
            "name": None,
        },
    )
    assert bad.status_code == 422
    fields = {tuple(d["loc"])[:2] for d in bad.json()["error"]["details"]}
    assert {("body", "timezone"), ("body", "currency"), ("body", "locale"), ("body", "email")} <= (
        fields
    )
    assert owner.put("/api/tenants/me", json={"timezone": "../../etc/passwd"}).status_code == 422
    assert owner.put("/api/tenants/me", json={"plan": "enterprise"}).status_code == 422
    tenant = owner.get("/api/tenants/me").json()
    assert (
        tenant["timezone"] == "America/Argentina/Buenos_Aires" and tenant["plan"] == "professional"
    )


def test_plan_change_is_for_owners_and_not_below_usage(api: Api) -> None:
    admin = api.as_role(Role.ADMIN)
    assert admin.put("/api/tenants/me/plan", json={"plan": "starter"}).status_code == 403
    owner = api.as_role(Role.OWNER)
    changed = owner.put("/api/tenants/me/plan", json={"plan": "starter"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["plan"], changed.json()["monthly_message_limit"]) == ("starter", 10_000)
    assert owner.put("/api/tenants/me/plan", json={"plan": "gold"}).status_code == 422
    # Moving up is not self-service until billing exists: limits cannot be lifted for free.
    up = owner.put("/api/tenants/me/plan", json={"plan": "enterprise"})
    assert up.status_code == 409 and up.json()["error"]["code"] == "upgrade_not_self_service"
    assert owner.get("/api/tenants/me").json()["plan"] == "starter"

    with api.runtime.db.transaction() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.slug == "demo")).one()
        tenant_id = tenant.id
    for n in range(3):
        api.runtime.engine.submit(inbound(tenant_id, "hola", peer=f"+54911555500{n:02d}"))
    wait_until(lambda: _customer_messages(api) == 3, timeout=60, what="three messages stored")
    # Pretend the free plan allowed fewer contacts than we have.
    from hablo.tenancy import plans

    original = plans.PLAN_LIMITS[plans.Plan.FREE]
    plans.PLAN_LIMITS[plans.Plan.FREE] = plans.PlanLimits(2, 2_000)
    try:
        refused = owner.put("/api/tenants/me/plan", json={"plan": "free"})
    finally:
        plans.PLAN_LIMITS[plans.Plan.FREE] = original
    assert refused.status_code == 409
    assert refused.json()["error"]["details"]["contacts"] == {"used": 3, "limit": 2}
    assert owner.get("/api/tenants/me").json()["plan"] == "starter"

    usage = owner.get("/api/tenants/me/usage")
    assert usage.status_code == 200
    meters = usage.json()
    assert meters["contacts"] == {"used": 3, "limit": 2_000, "percent": 0.1}
    assert meters["messages_this_month"]["used"] == 3
    assert meters["period_start"].endswith("-03:00")  # the tenant's time zone
    assert meters["period_start"][8:10] == "01" and meters["at_message_limit"] is False


def _customer_messages(api: Api) -> int:
    with api.runtime.db.transaction() as session:
        return len(
            session.scalars(
                select(Message.id).where(Message.sender_kind == SenderKind.CUSTOMER)
            ).all()
        )


def test_settings_round_trip_and_keep_other_keys(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    with api.runtime.db.transaction() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.slug == "demo")).one()
        tenant.settings = {"templates": {"es/greeting.j2": "Hola!"}, "booking": {"x": 1}}
    defaults = owner.get("/api/settings").json()
    assert defaults["debounce_ms"] == 0 and defaults["handoff_timeout_minutes"] == 60
    assert defaults["notifications"]["events"]["handoff"] is True

    changed = owner.put(
        "/api/settings",
        json={"bot_persona": "Sos Sol, amable y breve.", "debounce_ms": 400, "timezone": "UTC"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["bot_persona"] == "Sos Sol, amable y breve."
    bad = owner.put("/api/settings", json={"debounce_ms": -1, "handoff_timeout_minutes": 0})
    assert bad.status_code == 422
    assert owner.put("/api/settings", json={"debounce_ms": "400"}).status_code == 422

    notifications = owner.put(
        "/api/settings/notifications",
        json={"emails": ["Caja@Salon.test"], "events": {"new_booking": True, "handoff": False}},
    )
    assert notifications.status_code == 200, notifications.text
    assert notifications.json()["emails"] == ["caja@salon.test"]
    bad_mail = owner.put("/api/settings/notifications", json={"emails": ["no-at-sign"]})
    assert bad_mail.status_code == 422
    assert api.as_role(Role.AGENT).get("/api/settings").status_code == 403

    current = owner.get("/api/settings").json()
    assert current["debounce_ms"] == 400 and current["timezone"] == "UTC"
    assert current["notifications"]["events"] == {
        "handoff": False,
        "plan_limit": True,
        "session_lost": True,
        "new_booking": True,
    }
    with api.runtime.db.transaction() as session:
        stored = session.scalars(select(Tenant.settings).where(Tenant.slug == "demo")).one()
    assert stored["templates"] == {"es/greeting.j2": "Hola!"} and stored["booking"] == {"x": 1}
    assert stored["debounce_ms"] == 400


def test_engine_sees_tenant_changes_at_once(api: Api) -> None:
    """The tenant actor caches the profile: the API tells it to reload."""
    tenant_id = api.tenant_id()
    api.runtime.engine.submit(inbound(tenant_id, "hola"))
    wait_until(lambda: _bot_replies(api), timeout=60, what="first greeting")
    assert "Peluquería Sol" in _bot_replies(api)[-1]

    owner = api.as_role(Role.OWNER)
    assert owner.put("/api/tenants/me", json={"name": "Salón Luna"}).status_code == 200
    assert owner.put("/api/settings", json={"debounce_ms": 600}).status_code == 200
    # Two quick messages are now one turn (debounce), greeted with the new name.
    api.runtime.engine.submit(inbound(tenant_id, "hola"))
    api.runtime.engine.submit(inbound(tenant_id, "buenas"))
    wait_until(lambda: len(_bot_replies(api)) >= 2, timeout=60, what="second greeting")
    assert "Salón Luna" in _bot_replies(api)[1]
    wait_until(lambda: _customer_messages(api) == 3, timeout=60, what="messages stored")
    assert len(_bot_replies(api)) == 2


def _bot_replies(api: Api) -> list[str]:
    with api.runtime.db.transaction() as session:
        return list(
            session.scalars(
                select(Message.body)
                .where(Message.sender_kind == SenderKind.BOT)
                .order_by(Message.created_at)
            )
        )


def test_audit_log_lists_changes_newest_first_with_filters(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    owner_id = api.user(Role.OWNER)[0]
    owner.put("/api/tenants/me", json={"name": "Uno"})
    owner.put("/api/settings", json={"debounce_ms": 100})
    owner.post("/api/services", json={"name": "Peinado", "price_minor": 1, "duration_minutes": 5})
    other = api.as_role(Role.OWNER, tenant="other")
    other.put("/api/tenants/me", json={"name": "Ajeno"})

    log = owner.get("/api/audit")
    assert log.status_code == 200
    entries = log.json()["items"]
    assert [e["entity"] for e in entries[:3]] == ["service", "settings", "tenant"]
    assert all(e["actor_user_id"] == str(owner_id) for e in entries)
    assert "Ajeno" not in log.text
    only_tenant = owner.get("/api/audit", params={"entity": "tenant", "action": "update"}).json()
    assert only_tenant["total"] == 1 and only_tenant["items"][0]["changes"] == {"name": "Uno"}
    by_actor = owner.get("/api/audit", params={"actor": str(owner_id)}).json()
    assert by_actor["total"] == 3
    future = owner.get("/api/audit", params={"since": "2999-01-01T00:00:00Z"}).json()
    assert future["total"] == 0
    assert owner.get("/api/audit", params={"since": "yesterday"}).status_code == 422
    reversed_range = owner.get(
        "/api/audit", params={"since": "2020-01-02T00:00:00Z", "until": "2020-01-01T00:00:00Z"}
    )
    assert reversed_range.status_code == 422
    assert api.as_role(Role.AGENT).get("/api/audit").status_code == 403
