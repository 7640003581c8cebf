"""Plans and the limits they grant. The one table both the API and the engine read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hablo.db.enums import Plan
from hablo.db.models import Tenant


@dataclass(frozen=True)
class PlanLimits:
    contact_limit: int
    monthly_message_limit: int


PLAN_LIMITS: dict[Plan, PlanLimits] = {
    Plan.FREE: PlanLimits(contact_limit=500, monthly_message_limit=2_000),
    Plan.STARTER: PlanLimits(contact_limit=2_000, monthly_message_limit=10_000),
    Plan.PROFESSIONAL: PlanLimits(contact_limit=10_000, monthly_message_limit=50_000),
    Plan.ENTERPRISE: PlanLimits(contact_limit=100_000, monthly_message_limit=1_000_000),
}


def apply_plan(tenant: Tenant, plan: Plan) -> dict[str, Any]:
    """Switch the tenant to `plan` and its limits; returns what changed (for the audit).

    Payment is not part of this yet: when billing arrives, the API confirms the charge
    (or the provider's webhook does) and then calls this, so the limits change only for
    a paid plan.
    """
    limits = PLAN_LIMITS[plan]
    before = {
        "plan": tenant.plan.value,
        "contact_limit": tenant.contact_limit,
        "monthly_message_limit": tenant.monthly_message_limit,
    }
    tenant.plan = plan
    tenant.contact_limit = limits.contact_limit
    tenant.monthly_message_limit = limits.monthly_message_limit
    after = {
        "plan": plan.value,
        "contact_limit": limits.contact_limit,
        "monthly_message_limit": limits.monthly_message_limit,
    }
    return {"before": before, "after": after}
