"""A plugin author's kit for unit tests: a ready SkillContext and a Turn builder.

    from hablo.testing.context import make_turn, skill_context

    ctx = skill_context(FaqSkill)                # the demo salon, Wednesday 10/3/2027 noon
    result = FaqSkill(config).handle(make_turn("¿tienen wifi?", intent="faq"), ctx)

The context is the engine's own (same rendering, money and date formats, service
matching) over an in-memory tenant: the demo salon unless told otherwise. It has no
database: `bookings()` and `payments()` raise NoDatabaseError; test those paths with a
dialogue test (`hablo test dialogues ... --skill NAME`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, NoReturn
from zoneinfo import ZoneInfo

from hablo.demo import DEMO_HOURS, DEMO_SERVICES
from hablo.engine.context import EngineSkillContext, TenantServices
from hablo.engine.nlu.services import ServiceMatcher
from hablo.engine.templates import TemplateRenderer, skill_templates
from hablo.engine.tenant_profile import TenantProfile
from hablo.plugins.sdk import ServiceInfo, Skill, TenantInfo, Turn

if TYPE_CHECKING:
    from hablo.domain.booking.repository import BookingRepository
    from hablo.domain.payments import PaymentDesk

DEMO_NOW = datetime(2027, 3, 10, 12, 0, tzinfo=ZoneInfo("America/Argentina/Buenos_Aires"))
DEMO_TENANT = TenantInfo(
    id=uuid.UUID("00000000-0000-4000-8000-000000000001"),
    slug="demo",
    name="Peluquería Sol",
    locale="es-AR",
    timezone="America/Argentina/Buenos_Aires",
    currency="ARS",
    address="Av. Corrientes 1234, CABA",
    phone=None,
    persona=None,
)


class NoDatabaseError(RuntimeError):
    """A unit-test context has no database: bookings and payments are not available."""


def demo_services() -> tuple[ServiceInfo, ...]:
    """The demo salon's services (ids are stable across calls)."""
    return tuple(
        ServiceInfo(
            id=uuid.uuid5(DEMO_TENANT.id, name),
            name=name,
            description="",
            price_minor=pesos * 100,
            duration_minutes=minutes,
            synonyms=tuple(synonyms),
        )
        for name, minutes, pesos, synonyms in sorted(DEMO_SERVICES)
    )


class TestSkillContext(EngineSkillContext):
    """The engine's SkillContext over an in-memory tenant, with a clock the test sets."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(self, services: TenantServices, clock: _SettableClock) -> None:
        super().__init__(services, conn=None)
        self._clock = clock

    def set_now(self, moment: datetime) -> None:
        """Move the clock (an aware datetime; shown in the tenant's zone)."""
        self._clock.moment = moment

    def bookings(self) -> BookingRepository:
        self._no_database("bookings()")

    def payments(self) -> PaymentDesk:
        self._no_database("payments()")

    @staticmethod
    def _no_database(what: str) -> NoReturn:
        raise NoDatabaseError(
            f"{what} needs a database, which a unit-test context does not have: test it "
            "with a dialogue test (hablo test dialogues FILE --tenant demo --skill NAME)"
        )


class _SettableClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def skill_context(
    *skills: type[Skill],
    now: datetime = DEMO_NOW,
    tenant: TenantInfo = DEMO_TENANT,
    services: Sequence[ServiceInfo] | None = None,
    weekly_hours: Mapping[int, Sequence[tuple[time, time]]] | None = None,
    holidays: Mapping[date, str] | None = None,
    settings: Mapping[str, Any] | None = None,
    templates: Mapping[str, str] | None = None,
) -> TestSkillContext:
    """A SkillContext for `skills` (their templates render) over the demo salon, or over
    the services, hours (weekday -> intervals), holidays, tenant settings and template
    overrides ("es/name.j2" -> source) given."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware, e.g. DEMO_NOW.replace(hour=9)")
    hours = weekly_hours if weekly_hours is not None else {d: [h] for d, h in DEMO_HOURS.items()}
    profile = TenantProfile(
        info=tenant,
        services=tuple(services if services is not None else demo_services()),
        weekly_hours={day: tuple(intervals) for day, intervals in hours.items()},
        holidays=dict(holidays or {}),
        template_overrides=dict(templates or {}),
        settings=dict(settings or {}),
    )
    clock = _SettableClock(now)
    renderer = TemplateRenderer(profile.template_overrides, skill_templates(skills))
    tenant_services = TenantServices(profile, renderer, ServiceMatcher(profile.services), clock)
    return TestSkillContext(tenant_services, clock)


def make_turn(
    text: str,
    language: str = "es",
    *,
    intent: str | None = None,
    confidence: float = 1.0,
    entities: Mapping[str, Any] | None = None,
    state: Mapping[str, Any] | None = None,
    in_flow: bool = False,
    conversation_id: uuid.UUID | None = None,
    contact_id: uuid.UUID | None = None,
) -> Turn:
    """A Turn as the engine would hand it to a skill (new ids unless given)."""
    return Turn(
        text=text,
        language=language,
        intent=intent,
        confidence=confidence,
        entities=dict(entities or {}),
        state=dict(state or {}),
        conversation_id=conversation_id or uuid.uuid4(),
        contact_id=contact_id or uuid.uuid4(),
        in_flow=in_flow,
    )


__all__ = [
    "DEMO_NOW",
    "DEMO_TENANT",
    "NoDatabaseError",
    "TestSkillContext",
    "demo_services",
    "make_turn",
    "skill_context",
]
