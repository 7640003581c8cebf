"""What the model is told: the system prompt (business context, persona, language, the
customer's facts) from a jinja2 template, and the conversation history from the DB."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from babel.dates import format_date
from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy import select
from sqlalchemy.engine import Connection

from hablo.db.enums import BookingStatus, SenderKind
from hablo.db.models import Booking, Contact, Message, Service
from hablo.plugins.sdk import SkillContext

HISTORY_ROWS = 40  # read at most this many messages; the token budget trims further
HOLIDAYS_AHEAD_DAYS = 30
_ROLES = {SenderKind.CUSTOMER: "user"}  # the bot's and agents' messages: "assistant"
_LANGUAGE_NAMES = {"es": "Spanish", "en": "English", "pt": "Portuguese"}
_env = Environment(
    loader=PackageLoader("hablo.llm", "templates"),
    autoescape=False,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class CustomerFacts:
    name: str = ""
    conversations: int = 0
    bookings: tuple[str, ...] = field(default_factory=tuple)


def _services(ctx: SkillContext, language: str) -> list[dict[str, Any]]:
    return [
        {
            "name": s.name,
            "price": ctx.format_money(s.price_minor, language),
            "minutes": s.duration_minutes,
            "description": s.description,
        }
        for s in ctx.services()
    ]


def price_lines(ctx: SkillContext, language: str) -> tuple[str, ...]:
    """The priced services as the system prompt states them: the only amounts the model
    may say when no tool ran (the guard's `Facts.prices`)."""
    return tuple(f"{s['name']}: {s['price']}" for s in _services(ctx, language))


def system_prompt(ctx: SkillContext, language: str, customer: CustomerFacts) -> str:
    tenant = ctx.tenant
    now = ctx.now()
    services = _services(ctx, language)
    monday = date(2024, 1, 1)
    hours = [
        (
            format_date(monday + timedelta(days=wd), "EEEE", locale=language),
            [f"{a:%H:%M}-{b:%H:%M}" for a, b in ctx.weekly_hours(wd)],
        )
        for wd in range(7)
    ]
    holidays = []
    for offset in range(HOLIDAYS_AHEAD_DAYS):
        day = now.date() + timedelta(days=offset)
        name = ctx.holiday(day)
        if name:
            holidays.append((day.isoformat(), name))
    return _env.get_template("system.j2").render(
        business=tenant,
        persona=tenant.persona,
        language_name=_LANGUAGE_NAMES.get(language, language),
        now_text=f"{format_date(now.date(), 'EEEE', locale=language)} {now:%Y-%m-%d %H:%M}",
        services=services,
        hours=hours,
        holidays=holidays,
        customer=customer,
    )


def load_history(conn: Connection, conversation_id: uuid.UUID) -> list[Mapping[str, Any]]:
    """The conversation so far as chat messages, oldest first (before this turn's)."""
    rows = conn.execute(
        select(Message.sender_kind, Message.body)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.created_at.desc())
        .limit(HISTORY_ROWS)
    ).all()
    return [
        {"role": _ROLES.get(row.sender_kind, "assistant"), "content": row.body}
        for row in reversed(rows)
    ]


def load_customer(
    conn: Connection, ctx: SkillContext, contact_id: uuid.UUID, language: str, now: datetime
) -> CustomerFacts:
    contact = conn.execute(
        select(Contact.name, Contact.total_conversations).where(
            Contact.id == contact_id, Contact.tenant_id == ctx.tenant.id
        )
    ).first()
    bookings = conn.execute(
        select(Service.name, Booking.starts_at)
        .join(Service, Service.id == Booking.service_id)
        .where(
            Booking.tenant_id == ctx.tenant.id,
            Booking.contact_id == contact_id,
            Booking.status.in_((BookingStatus.PENDING, BookingStatus.CONFIRMED)),
            Booking.starts_at >= now,
        )
        .order_by(Booking.starts_at)
        .limit(5)
    ).all()
    return CustomerFacts(
        name=contact.name if contact else "",
        conversations=int(contact.total_conversations) if contact else 0,
        bookings=tuple(f"{b.name}, {ctx.format_datetime(b.starts_at, language)}" for b in bookings),
    )


def chat_messages(
    system: str, history: Sequence[Mapping[str, Any]], text: str
) -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": system},
        *(dict(m) for m in history),
        {"role": "user", "content": text},
    ]
