"""The engine's SkillContext: everything a skill may read, for one tenant."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from babel.numbers import format_currency, get_currency_precision

from hablo.engine.nlu.services import ServiceMatcher
from hablo.engine.templates import TemplateRenderer
from hablo.engine.tenant_profile import TenantProfile
from hablo.plugins.sdk import ServiceInfo, SkillContext

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def format_money(amount_minor: int, currency: str, locale: str) -> str:
    """ "$8.000" in es-AR; decimals only when the amount has them."""
    digits = get_currency_precision(currency)
    amount = Decimal(amount_minor).scaleb(-digits)
    babel_locale = locale.replace("-", "_")
    if amount == amount.to_integral_value():
        return format_currency(
            amount, currency, locale=babel_locale, format="¤#,##0", currency_digits=False
        )
    return format_currency(amount, currency, locale=babel_locale)


class EngineSkillContext(SkillContext):
    def __init__(
        self,
        profile: TenantProfile,
        renderer: TemplateRenderer,
        matcher: ServiceMatcher,
        clock: Clock = system_clock,
    ) -> None:
        self.tenant = profile.info
        self._profile = profile
        self._renderer = renderer
        self._matcher = matcher
        self._clock = clock

    def now(self) -> datetime:
        return self._clock().astimezone(self._profile.zone)

    def services(self) -> Sequence[ServiceInfo]:
        return self._profile.services

    def find_service(self, text: str) -> ServiceInfo | None:
        return self._matcher.find(text)

    def opening_hours(self, day: date) -> Sequence[tuple[time, time]]:
        return self._profile.opening_hours(day)

    def weekly_hours(self, weekday: int) -> Sequence[tuple[time, time]]:
        return self._profile.weekly_hours.get(weekday, ())

    def holiday(self, day: date) -> str | None:
        return self._profile.holiday(day)

    def render(self, template: str, language: str, **values: Any) -> str:
        return self._renderer.render(template, language, tenant=self.tenant, **values)

    def format_money(self, amount_minor: int, language: str) -> str:
        locale = self.tenant.locale if self.tenant.language == language else language
        return format_money(amount_minor, self.tenant.currency, locale)
