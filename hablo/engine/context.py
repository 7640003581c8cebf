"""The engine's SkillContext: everything a skill may read or write, for one tenant.

`TenantServices` is built once per tenant (immutable, shared by its actors);
`EngineSkillContext` is built per turn on top of it, bound to the turn's transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from babel import UnknownLocaleError
from babel.numbers import (
    format_currency,
    format_decimal,
    get_currency_precision,
    get_currency_symbol,
)
from sqlalchemy.engine import Connection, NestedTransaction

from hablo.domain.booking.policy import BookingPolicy
from hablo.domain.booking.repository import BookingRepository
from hablo.domain.payments import OfflineDesk, PaymentDesk
from hablo.engine.calendar_words import clock_text, day_text, speech_locale
from hablo.engine.nlu.services import ServiceMatcher
from hablo.engine.ports import PaymentDeskFactory
from hablo.engine.templates import TemplateRenderer, tenant_wording
from hablo.engine.tenant_profile import TenantProfile
from hablo.plugins.sdk import ServiceInfo, SkillContext

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@functools.lru_cache(maxsize=4096)
def format_money(
    amount_minor: int, currency: str, locale: str, home_locale: str | None = None
) -> str:
    """ "$8.000" in es-AR; decimals only when the amount has them. Where the reader's
    locale has no sign for the currency, only its code (an English reader of an
    Argentine business would get "ARS13,000"), the business's own sign and the code:
    "$13,000 ARS". Cached: prices repeat."""
    digits = get_currency_precision(currency)
    amount = Decimal(amount_minor).scaleb(-digits)
    babel_locale = locale.replace("-", "_")
    whole = amount == amount.to_integral_value()
    if home_locale and _sign(currency, babel_locale) == currency:
        pattern = "#,##0" if whole else "#,##0." + "0" * digits
        number = format_decimal(amount, format=pattern, locale=babel_locale)
        sign = _sign(currency, home_locale.replace("-", "_"))
        return f"{number} {currency}" if sign == currency else f"{sign}{number} {currency}"
    if whole:
        return format_currency(
            amount, currency, locale=babel_locale, format="¤#,##0", currency_digits=False
        )
    return format_currency(amount, currency, locale=babel_locale)


def _sign(currency: str, locale: str) -> str:
    """The currency's sign in `locale` ("$" for ARS in es_AR), its code when it has none."""
    try:
        return get_currency_symbol(currency, locale)
    except (ValueError, UnknownLocaleError):
        return currency


@dataclass(frozen=True)
class TenantServices:
    """The per-tenant, immutable half of the skill context."""

    profile: TenantProfile
    renderer: TemplateRenderer
    matcher: ServiceMatcher
    clock: Clock
    # Opens the payment desk of a turn (bootstrap hands in hablo.payments'); None (tests,
    # tools): payments are offline.
    payments: PaymentDeskFactory | None = None

    def now(self) -> datetime:
        return self.clock().astimezone(self.profile.zone)

    @functools.cached_property
    def wording(self) -> tuple[str, ...]:
        """Template variants for the tenant's locale and formality ("es-MX-usted", ...)."""
        return tenant_wording(self.profile.info.locale, self.profile.settings)

    def say(self, template: str, language: str, **values: Any) -> str:
        """A reply template rendered for this tenant: in its own variety (es-MX, usted)
        when the customer speaks its language."""
        variants = self.wording if language == self.profile.info.language else ()
        return self.renderer.render(
            template, language, variants, tenant=self.profile.info, **values
        )

    def for_turn(self, conn: Connection | None) -> EngineSkillContext:
        return EngineSkillContext(self, conn)


class EngineSkillContext(SkillContext):
    def __init__(self, services: TenantServices, conn: Connection | None) -> None:
        self.tenant = services.profile.info
        self._services = services
        self._profile = services.profile
        self._conn = conn
        # Created on the first data access: a skill's writes live in a savepoint, so a
        # skill that fails or overruns is rolled back alone, not the whole turn.
        self._savepoint: NestedTransaction | None = None
        self._bookings: BookingRepository | None = None

    def now(self) -> datetime:
        return self._services.now()

    def services(self) -> Sequence[ServiceInfo]:
        return self._profile.services

    def find_service(self, text: str) -> ServiceInfo | None:
        return self._services.matcher.find(text)

    def combined_service(self, services: Sequence[ServiceInfo]) -> ServiceInfo | None:
        return self._services.matcher.combined(services)

    def opening_hours(self, day: date) -> Sequence[tuple[time, time]]:
        return self._profile.opening_hours(day)

    def weekly_hours(self, weekday: int) -> Sequence[tuple[time, time]]:
        return self._profile.weekly_hours.get(weekday, ())

    def holiday(self, day: date) -> str | None:
        return self._profile.holiday(day)

    def render(self, template: str, language: str, **values: Any) -> str:
        return self._services.say(template, language, **values)

    def format_money(self, amount_minor: int, language: str) -> str:
        locale = speech_locale(self.tenant.locale, language)
        return format_money(amount_minor, self.tenant.currency, locale, self.tenant.locale)

    def format_datetime(self, moment: datetime, language: str) -> str:
        """ "martes 16 de marzo a las 17:00", "Tuesday, March 16 at 5:00 PM" (en-US),
        "Tuesday 16 March at 17:00" (en-GB): the words around come from the catalogues."""
        locale = speech_locale(self.tenant.locale, language)
        local = moment.astimezone(self._profile.zone)
        day, clock = day_text(local.date(), locale), clock_text(local.time(), locale)
        return self.render("date_time", language, day=day, clock=clock)

    def tenant_setting(self, key: str, default: Any = None) -> Any:
        return self._profile.settings.get(key, default)

    def _begin(self, what: str) -> Connection:
        if self._conn is None:
            raise RuntimeError(f"no transaction: {what} are only available inside a turn")
        if self._savepoint is None:
            self._savepoint = self._conn.begin_nested()
        return self._conn

    def bookings(self) -> BookingRepository:
        if self._bookings is None:
            conn = self._begin("bookings")
            self._bookings = BookingRepository(
                conn,
                self.tenant.id,
                BookingPolicy.from_settings(self._profile.settings),
                self._profile.zone,
            )
        return self._bookings

    def payments(self) -> PaymentDesk:
        conn = self._begin("payments")
        open_desk = self._services.payments
        return OfflineDesk() if open_desk is None else open_desk(conn, self.tenant.id, self.now())

    def finish(self, keep: bool) -> None:
        """After the skill: keep its writes (release the savepoint) or undo them."""
        if self._savepoint is not None and self._savepoint.is_active:
            if keep:
                self._savepoint.commit()
            else:
                self._savepoint.rollback()
        self._savepoint = None
        self._bookings = None
