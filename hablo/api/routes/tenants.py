"""The caller's own business: its data, its plan and how much of the plan it uses."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, model_validator
from sqlalchemy.orm import Session

from hablo.api.endpoints import ApiRoutes, Call, RequestModel
from hablo.api.problems import ApiError, conflict, not_found
from hablo.api.scope import TenantScope, check_if_match, etag_of
from hablo.db.base import utcnow
from hablo.db.enums import Plan, TenantStatus
from hablo.db.models import Tenant
from hablo.engine.store import normalize_phone
from hablo.tenancy.plans import PLAN_LIMITS, apply_plan
from hablo.tenancy.settings import CurrencyCode, EmailAddress, LocaleName, TimeZoneName
from hablo.tenancy.usage import count_contacts, count_customer_messages, month_period

routes = ApiRoutes("tenants")


def _phone(value: str) -> str:
    return normalize_phone(value)


PhoneNumber = Annotated[str, Field(min_length=3, max_length=32), AfterValidator(_phone)]


class TenantOut(BaseModel):
    id: uuid.UUID
    slug: str
    name: str
    plan: Plan
    status: TenantStatus
    locale: str
    timezone: str
    currency: str
    address: str | None
    phone: str | None
    email: str | None
    contact_limit: int
    monthly_message_limit: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, t: Tenant) -> TenantOut:
        return cls(
            id=t.id,
            slug=t.slug,
            name=t.name,
            plan=t.plan,
            status=t.status,
            locale=t.locale,
            timezone=t.timezone,
            currency=t.currency,
            address=t.address,
            phone=t.phone,
            email=t.email,
            contact_limit=t.contact_limit,
            monthly_message_limit=t.monthly_message_limit,
            created_at=t.created_at,
            updated_at=t.updated_at,
        )


class TenantPatch(RequestModel):
    """Only the fields sent change; address, phone and email may be null to clear them."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    phone: PhoneNumber | None = Field(default=None, description="E.164, e.g. +5491155550000")
    email: EmailAddress | None = None
    locale: LocaleName | None = Field(default=None, description="es-AR, es-MX, en-US, ...")
    timezone: TimeZoneName | None = Field(default=None, description="IANA time zone")
    currency: CurrencyCode | None = Field(default=None, description="ISO 4217, e.g. ARS")

    @model_validator(mode="after")
    def _required_stay_set(self) -> TenantPatch:
        for name in ("name", "locale", "timezone", "currency"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class PlanIn(RequestModel):
    plan: Plan


class Meter(BaseModel):
    used: int
    limit: int
    percent: float = Field(description="used / limit x 100, one decimal (may exceed 100)")

    @classmethod
    def of(cls, used: int, limit: int) -> Meter:
        percent = round(used * 100 / limit, 1) if limit > 0 else 100.0
        return cls(used=used, limit=limit, percent=percent)


class UsageOut(BaseModel):
    plan: Plan
    status: TenantStatus
    contacts: Meter
    messages_this_month: Meter = Field(description="Customer messages in the current period")
    period_start: datetime = Field(description="First instant of the month, tenant time zone")
    period_end: datetime = Field(description="First instant of the next month (exclusive)")
    timezone: str
    at_message_limit: bool


def own_tenant(scope: TenantScope, *, for_update: bool = False) -> Tenant:
    tenant = scope.session.get(Tenant, scope.tenant_id, with_for_update=for_update)
    if tenant is None:
        raise not_found("tenant")
    return tenant


def measure(session: Session, tenant: Tenant, now: datetime) -> UsageOut:
    """Live counts (one tenant is cheap to count; the engine reads the cached ones)."""
    start, end = month_period(tenant.timezone, now)
    messages = count_customer_messages(session, tenant.id, start, end)
    return UsageOut(
        plan=tenant.plan,
        status=tenant.status,
        contacts=Meter.of(count_contacts(session, tenant.id), tenant.contact_limit),
        messages_this_month=Meter.of(messages, tenant.monthly_message_limit),
        period_start=start,
        period_end=end,
        timezone=tenant.timezone,
        at_message_limit=messages >= tenant.monthly_message_limit,
    )


@routes.get(
    "/api/tenants/me", "tenant:read", response=TenantOut, errors=(404,), summary="Your business"
)
async def get_my_tenant(call: Call[None, None]) -> TenantOut:
    def work(scope: TenantScope) -> TenantOut:
        tenant = own_tenant(scope)
        call.response_headers["ETag"] = etag_of(tenant)
        return TenantOut.of(tenant)

    return await call.db(work)


@routes.put(
    "/api/tenants/me",
    "tenant:write",
    body=TenantPatch,
    response=TenantOut,
    errors=(404, 412),
    summary="Edit your business's data (only the fields sent)",
)
async def update_my_tenant(call: Call[None, TenantPatch]) -> TenantOut:
    changes = call.body.model_dump(exclude_unset=True)

    def work(scope: TenantScope) -> TenantOut:
        tenant = own_tenant(scope, for_update=True)
        check_if_match(call.if_match(), tenant)
        for key, value in changes.items():
            setattr(tenant, key, value)
        scope.session.flush()
        scope.audit("update", "tenant", tenant.id, changes)
        call.response_headers["ETag"] = etag_of(tenant)
        return TenantOut.of(tenant)

    result = await call.db(work)
    call.tenant_changed(result.id)
    return result


@routes.put(
    "/api/tenants/me/plan",
    "tenant:plan",
    body=PlanIn,
    response=TenantOut,
    errors=(404, 409, 412),
    summary="Move to a smaller plan (its contact and monthly message limits come with it)",
    description="Until billing is online, a larger plan is granted by the platform "
    "(`PUT /api/admin/tenants/{tenant_id}/plan`): asking for one here is a 409 "
    "`upgrade_not_self_service`, so plan limits cannot be lifted by the business itself.",
)
async def change_my_plan(call: Call[None, PlanIn]) -> TenantOut:
    plan = call.body.plan

    def work(scope: TenantScope) -> TenantOut:
        tenant = own_tenant(scope, for_update=True)
        check_if_match(call.if_match(), tenant)
        if PLAN_ORDER.index(plan) > PLAN_ORDER.index(Plan(tenant.plan)):
            raise ApiError(
                409,
                "upgrade_not_self_service",
                f"moving up to the {plan.value} plan is done by the platform; contact support",
                {"current_plan": Plan(tenant.plan).value, "requested_plan": plan.value},
            )
        refuse_plan_below_usage(scope.session, tenant, plan)
        changes = apply_plan(tenant, plan)
        scope.session.flush()
        scope.audit("change_plan", "tenant", tenant.id, changes)
        call.response_headers["ETag"] = etag_of(tenant)
        return TenantOut.of(tenant)

    return await call.db(work)


PLAN_ORDER = (Plan.FREE, Plan.STARTER, Plan.PROFESSIONAL, Plan.ENTERPRISE)


def refuse_plan_below_usage(session: Session, tenant: Tenant, plan: Plan) -> None:
    """A business cannot move to a plan smaller than what it already uses."""
    limits = PLAN_LIMITS[plan]
    usage = measure(session, tenant, utcnow())
    over = {}
    if usage.contacts.used > limits.contact_limit:
        over["contacts"] = {"used": usage.contacts.used, "limit": limits.contact_limit}
    if usage.messages_this_month.used > limits.monthly_message_limit:
        over["messages_this_month"] = {
            "used": usage.messages_this_month.used,
            "limit": limits.monthly_message_limit,
        }
    if over:
        raise conflict(f"you already use more than the {plan.value} plan allows", over)


@routes.get(
    "/api/tenants/me/usage",
    "tenant:usage",
    response=UsageOut,
    errors=(404,),
    summary="Contacts and this month's messages against your plan's limits",
)
async def get_my_usage(call: Call[None, None]) -> UsageOut:
    def work(scope: TenantScope) -> UsageOut:
        return measure(scope.session, own_tenant(scope), utcnow())

    return await call.db(work)
