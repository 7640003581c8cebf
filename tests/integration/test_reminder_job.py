"""The reminder job (send_due_reminders), which the dialogue runner's `reminder: true`
step bypasses: a booking inside the tenant's reminder window (24 h by default) gets one
reminder on its conversation, never two; one further ahead gets none yet; a process that
does not own the conversation sends nothing. What the customer answers is in
tests/dialogues/reminders.yaml. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from hablo.bootstrap import Runtime
from hablo.db.models import Booking, Conversation
from hablo.engine.dialogue import DialogueState
from hablo.engine.messages import ConversationKey, OutboundEnvelope
from hablo.skills.booking.reminders import send_due_reminders
from tests.integration.helpers import add_pending_paid_booking


def test_a_due_booking_is_reminded_once_and_a_later_one_not_yet(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    engine = runtime.engine
    key = ConversationKey(demo_tenant_id, "console", "+5491155557777")
    with runtime.db.begin() as conn:
        conversation = engine.store.open_live(conn, key, "")
    now = datetime.now(UTC).replace(microsecond=0)
    with runtime.db.transaction() as session:
        soon, later = (
            add_pending_paid_booking(
                session, demo_tenant_id, conversation.contact_id, conversation.id, now + ahead
            )
            for ahead in (timedelta(hours=20), timedelta(hours=30))
        )
    sent: list[tuple[ConversationKey, list[OutboundEnvelope]]] = []

    def remind(owns: bool) -> int:
        return send_due_reminders(
            engine.store,
            lambda k, envelopes, _ids: sent.append((k, list(envelopes))),
            engine.tenant_services,
            lambda _key: owns,
            now,
        )

    assert remind(owns=False) == 0  # its conversation's owner sends it
    assert remind(owns=True) == 1
    assert remind(owns=True) == 0  # never twice
    assert [k for k, _ in sent] == [key]
    assert "recordamos" in sent[0][1][0].plain_text()
    with runtime.db.begin() as conn:
        reminded = dict(conn.execute(select(Booking.id, Booking.reminder_sent_at)).all())
        state = conn.execute(
            select(Conversation.state).where(Conversation.id == conversation.id)
        ).scalar_one()
    assert reminded[soon] is not None and reminded[later] is None
    waiting = DialogueState.load(state)
    assert waiting.flow == "booking"
    assert waiting.skills["booking"] == {
        "mode": "reminder",
        "step": "confirm_reminder",
        "booking_id": str(soon),
    }
