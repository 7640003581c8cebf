"""How the bot behaves for this business: persona, language, time zone, debounce, the
human handoff timeout, and who is notified of what. Stored in the tenant row (persona,
locale, time zone) and `tenants.settings` (the rest); the engine rereads them at once."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, ValidationError, model_validator

from hablo.api.endpoints import ApiRoutes, Call, RequestModel
from hablo.api.errors import validation_details
from hablo.api.problems import ApiError
from hablo.api.routes.tenants import own_tenant
from hablo.api.scope import TenantScope, check_if_match, etag_of
from hablo.db.models import Tenant
from hablo.domain.booking.policy import BookingPolicy
from hablo.tenancy.settings import (
    DEBOUNCE_KEY,
    DEFAULT_HANDOFF_TIMEOUT_MIN,
    HANDOFF_TIMEOUT_KEY,
    MAX_MESSAGE_RETENTION_DAYS,
    MAX_WEBCHAT_ORIGINS,
    MESSAGE_RETENTION_KEY,
    NOTIFICATIONS_KEY,
    WEBCHAT_ORIGINS_KEY,
    LocaleName,
    NotificationSettings,
    TimeZoneName,
    WebOrigin,
    allowed_webchat_origins,
    message_retention_days,
)

routes = ApiRoutes("settings")

MAX_DEBOUNCE_MS = 10_000
MAX_HANDOFF_TIMEOUT_MIN = 7 * 24 * 60
# Keys of `tenants.settings` this API owns; others (templates, llm, booking policy, ...)
# are kept untouched.
_JSON_KEYS = (DEBOUNCE_KEY, HANDOFF_TIMEOUT_KEY, WEBCHAT_ORIGINS_KEY, MESSAGE_RETENTION_KEY)
_RETENTION_HELP = (
    "Messages (and the files they sent) older than this many days are deleted; the "
    "conversations stay, with their dates and contact. null: kept for good"
)


class SettingsOut(BaseModel):
    bot_persona: str | None = Field(description="How the bot presents itself and its tone")
    locale: str
    timezone: str
    debounce_ms: int = Field(description="Messages this close together are answered as one")
    handoff_timeout_minutes: int = Field(
        description="After this long without a human reply, the bot answers again"
    )
    notifications: NotificationSettings
    webchat_allowed_origins: list[str] = Field(
        description="Sites that may embed the web chat (hablo's own page always may)"
    )
    message_retention_days: int | None = Field(description=_RETENTION_HELP)

    @classmethod
    def of(cls, tenant: Tenant) -> SettingsOut:
        stored = tenant.settings or {}
        return cls(
            bot_persona=tenant.bot_persona,
            locale=tenant.locale,
            timezone=tenant.timezone,
            debounce_ms=_int(stored.get(DEBOUNCE_KEY), 0),
            handoff_timeout_minutes=_int(
                stored.get(HANDOFF_TIMEOUT_KEY), DEFAULT_HANDOFF_TIMEOUT_MIN
            ),
            notifications=NotificationSettings.of(stored),
            webchat_allowed_origins=sorted(allowed_webchat_origins(stored)),
            message_retention_days=message_retention_days(stored),
        )


def _int(value: Any, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default


class SettingsPatch(RequestModel):
    """Only the fields sent change; bot_persona may be null to clear it."""

    bot_persona: str | None = Field(default=None, max_length=2000)
    locale: LocaleName | None = None
    timezone: TimeZoneName | None = None
    debounce_ms: int | None = Field(default=None, ge=0, le=MAX_DEBOUNCE_MS)
    handoff_timeout_minutes: int | None = Field(default=None, ge=1, le=MAX_HANDOFF_TIMEOUT_MIN)
    webchat_allowed_origins: list[WebOrigin] | None = Field(
        default=None,
        max_length=MAX_WEBCHAT_ORIGINS,
        description="Origins (https://shop.example.com) whose pages may embed the web chat; "
        "replaces the stored list",
    )
    message_retention_days: int | None = Field(
        default=None, ge=1, le=MAX_MESSAGE_RETENTION_DAYS, description=_RETENTION_HELP
    )

    @model_validator(mode="after")
    def _required_stay_set(self) -> SettingsPatch:
        if self.webchat_allowed_origins is not None:
            self.webchat_allowed_origins = sorted(set(self.webchat_allowed_origins))
        for name in (
            "locale",
            "timezone",
            "debounce_ms",
            "handoff_timeout_minutes",
            "webchat_allowed_origins",
        ):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class NotificationSettingsIn(NotificationSettings, RequestModel):
    """The whole set of notification preferences (replaces the stored one)."""


@routes.get("/api/settings", "settings:read", response=SettingsOut, errors=(404,))
async def get_settings(call: Call[None, None]) -> SettingsOut:
    """The bot's settings"""

    def work(scope: TenantScope) -> SettingsOut:
        tenant = own_tenant(scope)
        call.response_headers["ETag"] = etag_of(tenant)
        return SettingsOut.of(tenant)

    return await call.db(work)


@routes.put(
    "/api/settings",
    "settings:write",
    body=SettingsPatch,
    response=SettingsOut,
    errors=(404, 412),
    summary="Change the bot's settings (only the fields sent); effective on the next message",
)
async def update_settings(call: Call[None, SettingsPatch]) -> SettingsOut:
    changes = call.body.model_dump(exclude_unset=True)

    def work(scope: TenantScope) -> SettingsOut:
        tenant = own_tenant(scope, for_update=True)
        check_if_match(call.if_match(), tenant)
        stored = dict(tenant.settings or {})
        for key, value in changes.items():
            if key in _JSON_KEYS:
                stored[key] = value
            else:
                setattr(tenant, key, value)
        tenant.settings = stored  # a new dict: JSON columns do not track in-place edits
        scope.session.flush()
        scope.audit("update", "settings", tenant.id, changes)
        call.response_headers["ETag"] = etag_of(tenant)
        return SettingsOut.of(tenant)

    result = await call.db(work)
    call.tenant_changed()
    return result


@routes.put(
    "/api/settings/notifications",
    "settings:write",
    body=NotificationSettingsIn,
    response=NotificationSettings,
    errors=(404, 412),
    summary="Who is e-mailed about which events (handoff, plan limit, session lost, booking)",
)
async def update_notifications(call: Call[None, NotificationSettingsIn]) -> NotificationSettings:
    preferences = NotificationSettings.model_validate(call.body.model_dump())

    def work(scope: TenantScope) -> NotificationSettings:
        tenant = own_tenant(scope, for_update=True)
        check_if_match(call.if_match(), tenant)
        tenant.settings = {**(tenant.settings or {}), NOTIFICATIONS_KEY: preferences.model_dump()}
        scope.session.flush()
        scope.audit("update", "notifications", tenant.id, preferences.model_dump())
        call.response_headers["ETag"] = etag_of(tenant)
        return preferences

    result = await call.db(work)
    call.tenant_changed()
    return result


BOOKING_KEY = "booking"


class BookingRulesIn(RequestModel):
    """Only the fields sent change; the rest keep their value (or default)."""

    slot_step_minutes: int | None = Field(default=None, description="Start times offered")
    buffer_minutes: int | None = Field(default=None, description="Kept free after each booking")
    min_notice_minutes: int | None = Field(default=None, description="No booking sooner")
    max_days_ahead: int | None = Field(default=None, description="Last bookable day")
    capacity: int | None = Field(default=None, description="Customers served at once")
    reminder_hours_before: int | None = Field(default=None, description="0: no reminder")


class BookingRulesOut(BaseModel):
    slot_step_minutes: int
    buffer_minutes: int
    min_notice_minutes: int
    max_days_ahead: int
    capacity: int
    reminder_hours_before: int

    @classmethod
    def of(cls, policy: BookingPolicy) -> BookingRulesOut:
        return cls.model_validate(policy.model_dump())


def _stored_policy(tenant: Tenant) -> BookingPolicy:
    try:
        return BookingPolicy.from_settings(tenant.settings)
    except ValueError:  # stored before validation existed: the defaults stand in
        return BookingPolicy()


@routes.get(
    "/api/settings/booking",
    "settings:read",
    response=BookingRulesOut,
    errors=(404,),
    summary="How bookings are taken: slot step, buffer, notice, horizon, capacity, reminders",
)
async def get_booking_rules(call: Call[None, None]) -> BookingRulesOut:
    def work(scope: TenantScope) -> BookingRulesOut:
        tenant = own_tenant(scope)
        call.response_headers["ETag"] = etag_of(tenant)
        return BookingRulesOut.of(_stored_policy(tenant))

    return await call.db(work)


@routes.put(
    "/api/settings/booking",
    "settings:write",
    body=BookingRulesIn,
    response=BookingRulesOut,
    errors=(404, 412),
    summary="Change the booking rules (only the fields sent); effective on the next message",
)
async def update_booking_rules(call: Call[None, BookingRulesIn]) -> BookingRulesOut:
    changes = call.body.model_dump(exclude_none=True)

    def work(scope: TenantScope) -> BookingRulesOut:
        tenant = own_tenant(scope, for_update=True)
        check_if_match(call.if_match(), tenant)
        merged = {**_stored_policy(tenant).model_dump(), **changes}
        try:  # the engine's own rules decide what is valid
            policy = BookingPolicy.model_validate(merged)
        except ValidationError as exc:
            details = validation_details(exc)
            for item in details:
                item["loc"] = ["body", *item["loc"]]
            raise ApiError(
                422, "validation_error", "the request body is not valid", details
            ) from exc
        tenant.settings = {**(tenant.settings or {}), BOOKING_KEY: policy.model_dump()}
        scope.session.flush()
        scope.audit("update", "booking_rules", tenant.id, changes)
        call.response_headers["ETag"] = etag_of(tenant)
        return BookingRulesOut.of(policy)

    result = await call.db(work)
    call.tenant_changed()
    return result
