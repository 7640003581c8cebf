"""Helpers to drive an engine in tests and read back what it wrote."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hablo.bootstrap import Runtime
from hablo.db.base import utcnow
from hablo.db.enums import BookingStatus
from hablo.db.models import Booking, InboxEvent, Message, OutboxMessage, Service
from hablo.engine.messages import InboundMessage, SubmitResult


def inbound(
    tenant_id: uuid.UUID,
    text: str,
    peer: str = "+5491155550000",
    channel: str = "console",
    provider_id: str | None = None,
) -> InboundMessage:
    return InboundMessage(
        tenant_id=tenant_id,
        channel=channel,
        peer=peer,
        text=text,
        provider_message_id=provider_id or f"test-{uuid.uuid4()}",
        received_at=utcnow(),
    )


class DeliveredTurns:
    """Turn listener recording inbox ids in delivery order."""

    def __init__(self) -> None:
        self.order: list[int] = []
        self._cond = threading.Condition()

    def __call__(self, inbox_ids: tuple[int, ...]) -> None:
        with self._cond:
            self.order.extend(inbox_ids)
            self._cond.notify_all()

    # Generous: a tenant with plugin skills trains its classifier on start (5-15 s of a
    # busy 2-core machine) before its first turn.
    def wait_for(self, inbox_ids: Iterable[int], timeout: float = 60.0) -> None:
        wanted = set(inbox_ids)
        deadline = time.monotonic() + timeout
        with self._cond:
            while not wanted <= set(self.order):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    missing = sorted(wanted - set(self.order))
                    raise AssertionError(f"turns never delivered: {missing[:10]}")
                self._cond.wait(remaining)


def start_collecting(runtime: Runtime, sender: object) -> DeliveredTurns:
    """Start the runtime's engine with `sender` and a listener recording delivered turns."""
    turns = DeliveredTurns()
    runtime.engine.add_sender(sender)  # type: ignore[arg-type]
    runtime.engine.add_turn_listener(turns)
    runtime.start()
    return turns


def submit_all(runtime: Runtime, messages: Iterable[InboundMessage]) -> list[SubmitResult]:
    return [runtime.engine.submit(m) for m in messages]


def count(runtime: Runtime, model: type, *where: object) -> int:
    with runtime.db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


__all__ = ["InboxEvent", "Message", "OutboxMessage", "count"]


def add_pending_paid_booking(
    session: Session,
    tenant_id: uuid.UUID,
    contact_id: uuid.UUID,
    conversation_id: uuid.UUID,
    starts: datetime,
) -> uuid.UUID:
    """A pending booking of the tenant's first paid service, written straight to the
    database (the state a payment test starts from)."""
    service = session.scalars(
        select(Service).where(Service.tenant_id == tenant_id, Service.price_minor > 0)
    ).first()
    assert service is not None
    booking = Booking(
        tenant_id=tenant_id,
        contact_id=contact_id,
        service_id=service.id,
        conversation_id=conversation_id,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=service.duration_minutes),
        duration_minutes=service.duration_minutes,
        status=BookingStatus.PENDING,
    )
    session.add(booking)
    session.flush()
    return booking.id
