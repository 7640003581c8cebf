"""WhatsApp Web's rules against getting the number banned, end to end in real Chromium
against the fake page: "typing..." before every reply, reply only to customers who wrote
within 24 hours, a per-minute cap that delays and a per-day cap that refuses (kept across
a restart). Asserted on what the page did and in what order, and on the outbox rows."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from hablo.db.base import utcnow
from hablo.db.enums import OutboxStatus, Role, SenderKind
from hablo.db.models import Conversation, Message, OutboxMessage
from tests.api.support import Api
from tests.e2e.server import wait_until
from tests.e2e.whatsapp_web_support import (
    link_by_qr,
    live_whatsapp_web,
    needs_chromium,
    wait_state,
)
from tests.providers.fake_whatsapp_web import FakeWhatsAppWeb

pytestmark = pytest.mark.browser

SILENT = "5491155550010"  # wrote once, then nothing for more than a day
EAGER = "5491155550011"  # writes within a minute of the first reply
LATE = "5491155550012"  # writes after the day's cap is reached


def chat(digits: str) -> str:
    return digits + "@c.us"


def outbox_rows(api: Api, digits: str) -> list[Any]:
    with api.runtime.db.transaction() as session:
        return list(
            session.execute(
                select(OutboxMessage.status, OutboxMessage.last_error, OutboxMessage.attempts)
                .where(OutboxMessage.peer == "+" + digits)
                .order_by(OutboxMessage.id)
            ).all()
        )


def conversation_of(api: Api, digits: str) -> uuid.UUID:
    with api.runtime.db.transaction() as session:
        found = session.scalar(select(Conversation.id).where(Conversation.peer == "+" + digits))
    assert found is not None
    return found


def write(fake: FakeWhatsAppWeb, digits: str, text: str) -> None:
    fake.control("incoming", {"from": chat(digits), "text": text, "pushname": "Cliente"})


def wait_sent(fake: FakeWhatsAppWeb, digits: str, count: int, timeout: float = 60) -> None:
    wait_until(
        lambda: len(fake.sent_to(chat(digits))) >= count,
        timeout=timeout,
        interval=0.3,
        what=f"{count} replies to {digits} on the page",
    )


@pytest.mark.timeout(600)  # a minute of the cap, two browser launches, a loaded machine
def test_typing_reply_only_and_send_caps(db_url: str, tmp_path: Path) -> None:
    needs_chromium()
    fake = FakeWhatsAppWeb().start()
    state_dir = tmp_path / "state"
    pacing = {"whatsapp_web_typing_min_s": 0.2, "whatsapp_web_typing_max_s": 0.5}
    try:
        with live_whatsapp_web(
            db_url,
            state_dir,
            True,
            fake.url,
            whatsapp_web_sends_per_minute=1,
            whatsapp_web_sends_per_day=100,
            **pacing,
        ) as api:
            owner = link_by_qr(api, fake)

            # A reply: read receipt, then "typing...", then the message, in that order.
            write(fake, SILENT, "hola, ¿qué horarios tienen?")
            wait_sent(fake, SILENT, 1)
            assert fake.actions_on(chat(SILENT)) == ["read", "composing", "sent"]

            # A day later (the customer's messages aged by 25 h) an agent writes: refused,
            # set aside with the reason, nothing reaches the page.
            with api.runtime.db.transaction() as session:
                session.execute(
                    update(Message)
                    .where(
                        Message.conversation_id == conversation_of(api, SILENT),
                        Message.sender_kind == SenderKind.CUSTOMER,
                    )
                    .values(created_at=utcnow() - timedelta(hours=25))
                )
            agent = owner.post(
                f"/api/conversations/{conversation_of(api, SILENT)}/messages",
                json={"text": "¡Hola! Tenemos turnos nuevos esta semana."},
            )
            assert agent.status_code == 201, agent.text
            refused = wait_until(
                lambda: (
                    (rows := outbox_rows(api, SILENT))[-1].status == OutboxStatus.DEAD and rows[-1]
                ),
                timeout=30,
                what="the agent's message set aside",
            )
            assert "reply only" in refused.last_error, refused
            assert refused.attempts == 1, "a refusal is not retried"
            assert fake.actions_on(chat(SILENT)) == ["read", "composing", "sent"]

            # Another customer within the minute: the reply waits for the per-number
            # minute cap (recorded on its outbox row), then goes; nothing is lost.
            write(fake, EAGER, "hola, ¿cuánto sale el corte?")
            deferred = wait_until(
                lambda: [r for r in outbox_rows(api, EAGER) if "per-minute" in str(r.last_error)],
                timeout=60,
                what="a reply deferred by the per-minute cap",
            )
            assert deferred[0].status == OutboxStatus.PENDING
            assert fake.sent_to(chat(EAGER)) == []
            wait_sent(fake, EAGER, 1, timeout=180)  # once the minute has passed
            assert fake.actions_on(chat(EAGER)) == ["read", "composing", "sent"]
            sent_so_far = len(fake.sent)

        # A restart with a daily cap the number already reached (the day is counted from
        # the outbox, not from zero): a new customer's reply is refused, visibly.
        with live_whatsapp_web(
            db_url,
            state_dir,
            False,
            fake.url,
            whatsapp_web_sends_per_day=sent_so_far,
            **pacing,
        ) as api:
            owner = api.as_role(Role.OWNER)
            wait_state(owner, "connected")
            write(fake, LATE, "hola, ¿tienen turno hoy?")
            capped = wait_until(
                lambda: (
                    rows[-1]
                    if (rows := outbox_rows(api, LATE)) and rows[-1].status == OutboxStatus.DEAD
                    else None
                ),
                timeout=60,
                what="the reply refused by the daily cap",
            )
            assert "daily send cap" in capped.last_error, capped
            assert fake.sent_to(chat(LATE)) == []
            assert "composing" not in fake.actions_on(chat(LATE))
    finally:
        fake.stop()
