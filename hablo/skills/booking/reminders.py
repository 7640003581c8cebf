"""The reminder job: before each booking, a message on the channel the customer used;
replying "sí"/"no" confirms or cancels (the booking skill's flow handles the answer).

Each reminder is written in one transaction with the booking's `reminder_sent_at`, the
bot message and its outbox row, so it is never sent twice, also across restarts. With
several workers each sends only the reminders of conversations it owns (`owns`: their
shard is held here and their channel has a sender here), under its fence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from hablo.db.base import utcnow
from hablo.db.enums import BookingStatus
from hablo.db.models import Booking, Conversation, Service, Tenant
from hablo.domain.booking.policy import BookingPolicy
from hablo.engine.context import TenantServices
from hablo.engine.dialogue import DialogueState
from hablo.engine.messages import ConversationKey, OutboundEnvelope
from hablo.engine.store import ConversationStore, TurnRecord

log = logging.getLogger(__name__)
Deliver = Callable[[ConversationKey, list[OutboundEnvelope], tuple[int, ...]], None]
ServicesFor = Callable[[Any], TenantServices]
Owns = Callable[[ConversationKey], bool]
# The skill the reminder is recorded under: the booking skill reads the answer.
REMINDER_SKILL = "booking"


def send_due_reminders(
    store: ConversationStore,
    deliver: Deliver,
    services_for: ServicesFor,
    owns: Owns,
    now: datetime | None = None,
) -> int:
    """Send every reminder of this process's conversations that is due now; returns how
    many were sent."""
    now = now or utcnow()
    sent = 0
    for tenant_id, settings in _tenants(store):
        try:
            policy = BookingPolicy.from_settings(settings)
        except ValueError as exc:
            log.warning("tenant %s: booking settings invalid, no reminders: %s", tenant_id, exc)
            continue
        horizon = now + timedelta(hours=policy.reminder_hours_before)
        for booking_id, key in _due(store, tenant_id, now, horizon):
            if not owns(key):
                continue  # its conversation's owner sends it
            try:
                if send_reminder(store, deliver, services_for(tenant_id), booking_id, now):
                    sent += 1
            except Exception:  # e.g. the shard moved meanwhile: the new owner sends it
                log.exception("reminder for booking %s failed", booking_id)
    return sent


def _tenants(store: ConversationStore) -> Sequence[tuple[Any, dict[str, Any]]]:
    with store.db.begin() as conn:
        return [
            (row.id, dict(row.settings or {}))
            for row in conn.execute(select(Tenant.id, Tenant.settings))
        ]


def _due(
    store: ConversationStore, tenant_id: Any, now: datetime, horizon: datetime
) -> list[tuple[Any, ConversationKey]]:
    """The due bookings with the key of the conversation the reminder goes to."""
    with store.db.begin() as conn:
        rows = conn.execute(
            select(Booking.id, Conversation.channel, Conversation.peer)
            .join(Conversation, Conversation.id == Booking.conversation_id)
            .where(
                Booking.tenant_id == tenant_id,
                Booking.status.in_([BookingStatus.PENDING, BookingStatus.CONFIRMED]),
                Booking.reminder_sent_at.is_(None),
                Booking.starts_at > now,
                Booking.starts_at <= horizon,
            )
        ).all()
    return [(row.id, ConversationKey(tenant_id, row.channel, row.peer)) for row in rows]


def send_reminder(
    store: ConversationStore,
    deliver: Deliver,
    services: TenantServices,
    booking_id: Any,
    now: datetime,
) -> bool:
    """Send one booking's reminder (the job's, and the dialogue runner's reminder step);
    False when it was already sent or another worker is sending it."""
    with store.db.begin() as conn:
        lock = select(Booking).where(Booking.id == booking_id, Booking.reminder_sent_at.is_(None))
        if store.db.supports_row_locks:
            lock = lock.with_for_update(skip_locked=True)  # another worker has it
        booking = conn.execute(lock).first()
        if booking is None:
            return False
        origin = conn.execute(
            select(Conversation.channel, Conversation.peer, Conversation.language).where(
                Conversation.id == booking.conversation_id
            )
        ).one()
        names = conn.execute(
            select(Service.name, Service.names).where(Service.id == booking.service_id)
        ).one()
        key = ConversationKey(booking.tenant_id, origin.channel, origin.peer)
        conversation = store.lock_live(conn, key) or store.open_live(conn, key, "")
        language = origin.language or services.profile.info.language
        service_name = (names.names or {}).get(language) or names.name
        ctx = services.for_turn(conn)
        when = ctx.format_datetime(booking.starts_at, language)
        text = ctx.render("booking_reminder", language, service=service_name, when=when)
        state = DialogueState.load(conversation.state)
        state.flow = "booking"
        # A yes/no question like the bot's own: "sí, nos vemos" answers it (engine/turns.py).
        state.choices = [ctx.render(c, language) for c in ("choice_yes", "choice_no")]
        state.skills["booking"] = {
            "mode": "reminder",
            "step": "confirm_reminder",
            "booking_id": str(booking.id),
        }
        envelopes = store.commit_turn(
            conn,
            key,
            conversation,
            TurnRecord(
                inbox_ids=(),
                inbound=(),
                language=language,
                intent=None,
                confidence=0.0,
                skill=REMINDER_SKILL,
                replies=(text,),
                new_state=state.dump(),
            ),
        )
        conn.execute(update(Booking).where(Booking.id == booking.id).values(reminder_sent_at=now))
    deliver(key, envelopes, ())
    log.info(
        "reminder sent for booking %s (%s)",
        booking_id,
        booking.starts_at.astimezone(ZoneInfo(services.profile.info.timezone)),
    )
    return True
