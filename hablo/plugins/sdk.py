"""The skill SDK. Built-in skills use exactly this surface, and so do tenants' plugins.

A skill declares the intents it answers (with example utterances per language, which
train the local NLU), a pydantic config model, and a `handle` method that turns one
`Turn` into a `SkillResult`. Everything it may read about the business comes through
the `SkillContext`, which is built for one tenant and cannot reach another's data.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from hablo.domain.booking.repository import BookingRepository
from hablo.domain.catalog import ServiceInfo
from hablo.domain.payments import PaymentDesk

# ServiceInfo lives in the domain (the booking repository takes it too); a skill author
# keeps importing it from here.
__all__ = [
    "EmptyConfig",
    "FollowUp",
    "IntentSpec",
    "Reply",
    "ServiceInfo",
    "Skill",
    "SkillContext",
    "SkillResult",
    "TenantInfo",
    "Turn",
]


class EmptyConfig(BaseModel):
    """Config model for skills that take no settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class IntentSpec:
    """An intent a skill answers, with example utterances keyed by language ("es", "en")."""

    name: str
    examples: Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class TenantInfo:
    id: uuid.UUID
    slug: str
    name: str
    locale: str
    timezone: str
    currency: str
    address: str | None
    phone: str | None
    persona: str | None

    @property
    def language(self) -> str:
        return self.locale.split("-")[0].split("_")[0]


@dataclass(frozen=True)
class Turn:
    """One customer turn as a skill sees it."""

    text: str
    language: str
    intent: str | None
    confidence: float
    entities: Mapping[str, Any]
    # This skill's private state in the conversation (read-only; return a new one in
    # SkillResult.state). It is stored in the database and survives restarts.
    state: Mapping[str, Any]
    conversation_id: uuid.UUID
    contact_id: uuid.UUID
    # True when this skill's flow is the conversation's active flow.
    in_flow: bool = False


MAX_CHOICES = 10  # WhatsApp's list message holds at most ten rows


@dataclass(frozen=True)
class Reply:
    """One message to the customer. `choices` are quick answers: WhatsApp shows them as
    buttons (up to 3) or a list (up to 10); other channels get a numbered list, and a
    customer who answers with the number is understood as having written the choice.
    `media_url` sends an image or document (`media_type`) with `text` as its caption."""

    text: str
    choices: tuple[str, ...] = ()
    media_url: str | None = None
    media_type: str = "image"  # "image" | "document"

    def __post_init__(self) -> None:
        if len(self.choices) > MAX_CHOICES:
            raise ValueError(f"a reply offers at most {MAX_CHOICES} choices")
        if any(not choice.strip() for choice in self.choices):
            raise ValueError("a choice must have some text")
        if self.media_type not in ("image", "document"):
            raise ValueError("media_type is 'image' or 'document'")
        if self.media_url is not None and not self.media_url.startswith(("https://", "http://")):
            raise ValueError("media_url must be an http(s) URL")

    def extras(self) -> dict[str, Any] | None:
        """What travels with the text in the outbox (None: a plain text message)."""
        found: dict[str, Any] = {}
        if self.choices:
            found["choices"] = list(self.choices)
        if self.media_url:
            found["media"] = {"url": self.media_url, "type": self.media_type}
        return found or None


@dataclass(frozen=True)
class FollowUp:
    """Ask the skill answering `intent` to add its replies to this turn, with these
    entities (a new booking → the payment skill sends the payment link). Skipped when no
    enabled skill answers the intent."""

    intent: str
    entities: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SkillResult:
    replies: tuple[Reply, ...] = ()
    # The skill's new private state (Turn.state next time); None keeps the current one.
    state: Mapping[str, Any] | None = None
    # True: this skill runs a flow (a multi-turn form): the next messages come to it
    # first, other intents interrupt it and it is asked to resume. False: the flow ended.
    # None: unchanged.
    flow: bool | None = None
    # True when the skill hands the conversation to a human agent.
    handoff: bool = False
    # True when the skill could not make sense of the message (counts towards offering
    # a human after repeated misunderstandings).
    misunderstood: bool = False
    meta: Mapping[str, Any] = field(default_factory=dict)
    follow_up: FollowUp | None = None

    @classmethod
    def say(
        cls, *texts: str, state: Mapping[str, Any] | None = None, flow: bool | None = None
    ) -> SkillResult:
        return cls(replies=tuple(Reply(t) for t in texts if t), state=state, flow=flow)


class SkillContext(ABC):
    """What a skill may know and do, scoped to one tenant and one conversation."""

    tenant: TenantInfo

    @abstractmethod
    def now(self) -> datetime:
        """The current time in the tenant's time zone."""

    @abstractmethod
    def services(self) -> Sequence[ServiceInfo]:
        """The tenant's active services."""

    @abstractmethod
    def find_service(self, text: str) -> ServiceInfo | None:
        """The service a text mentions (fuzzy, synonyms included), or None."""

    def combined_service(self, services: Sequence[ServiceInfo]) -> ServiceInfo | None:
        """The one service whose name joins exactly these ("Corte + barba" for a haircut
        and a beard trim), or None (also in contexts that do not know)."""
        return None

    @abstractmethod
    def opening_hours(self, day: date) -> Sequence[tuple[time, time]]:
        """Opening intervals on a local date; empty when closed (including holidays)."""

    @abstractmethod
    def weekly_hours(self, weekday: int) -> Sequence[tuple[time, time]]:
        """The regular opening intervals of a weekday (0 = Monday), ignoring holidays."""

    @abstractmethod
    def holiday(self, day: date) -> str | None:
        """The holiday's name if the business is closed for one that day."""

    @abstractmethod
    def render(self, template: str, language: str, **values: Any) -> str:
        """Render a localized reply template (tenant overrides win)."""

    @abstractmethod
    def format_money(self, amount_minor: int, language: str) -> str:
        """Format an amount in the tenant's currency for a language ("$8.000")."""

    @abstractmethod
    def format_datetime(self, moment: datetime, language: str) -> str:
        """A moment in the tenant's zone, the way its locale says it ("martes 16 de marzo a
        las 17:00", en-US "Tuesday, March 16 at 5:00 PM", en-GB "Tuesday 16 March at 17:00")."""

    @abstractmethod
    def bookings(self) -> BookingRepository:
        """The tenant's bookings, inside this turn's transaction (what a skill writes here
        commits with its reply, or not at all)."""

    @abstractmethod
    def payments(self) -> PaymentDesk:
        """The tenant's online payments for this conversation's customer, inside this
        turn's transaction (payment links; blocking calls to the provider)."""

    @abstractmethod
    def tenant_setting(self, key: str, default: Any = None) -> Any:
        """A value from the tenant's settings (read-only)."""


class Skill(ABC):
    """Base class of every skill. Subclasses set the class attributes and `handle`."""

    name: ClassVar[str]
    intents: ClassVar[tuple[IntentSpec, ...]] = ()
    config_model: ClassVar[type[BaseModel]] = EmptyConfig
    # Slots the skill fills (used by dialogue flows and LLM tool schemas).
    slots: ClassVar[tuple[str, ...]] = ()
    # Templates (name -> {lang: jinja2 source}) the skill ships.
    templates: ClassVar[Mapping[str, Mapping[str, str]]] = {}

    def __init__(self, config: BaseModel | None = None) -> None:
        self.config = config if config is not None else self.config_model()

    @abstractmethod
    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        """Answer one turn. Raising is contained by the engine (the customer gets an apology)."""

    def claims(self, turn: Turn, ctx: SkillContext) -> bool:
        """For flow skills: whether this message answers the flow's pending question (a
        service name after "¿para qué servicio?", "a las 5" after "¿a qué hora?"). A
        claimed message comes to this skill whatever the classifier read in it ("corte de
        pelo" looks like a price question). Called only while this skill's flow is active,
        with `turn.state` its state; it must only read."""
        return False

    def resume_prompt(self, state: Mapping[str, Any], ctx: SkillContext, language: str) -> str:
        """For flow skills: what to say to pick the flow up after another skill answered an
        interruption ("Sigamos con tu turno: ¿a qué hora?"). Empty: say nothing."""
        return ""
