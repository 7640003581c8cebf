"""The answer to a booking reminder ("¿Confirmás que venís? (sí / no)"), read in the
conversation as a real customer writes it: the demo salon through the dialogue runner,
the reminder sent by the reminder job the day before. The dialogue YAML format has no
reminder step, so these conversations live here."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hablo.cli import main
from hablo.config import Settings
from hablo.db.enums import BookingStatus
from hablo.db.models import Booking, Conversation
from hablo.engine.messages import InboundMessage
from hablo.skills.booking.reminders import send_due_reminders
from hablo.testing.dialogue_runner import CHANNEL, DialogueRunner
from hablo.testing.scratch import reset_calendar

NOW = "2027-03-10T12:00"  # Wednesday; the booking is Thursday 17:00


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DialogueRunner]:
    folder: Path = tmp_path_factory.mktemp("reminders")
    patch = pytest.MonkeyPatch()
    patch.setenv("HABLO_DATABASE_URL", f"sqlite:///{folder / 'hablo.db'}")
    patch.chdir(folder)
    assert main(["demo", "--seed-only"]) == 0
    with DialogueRunner(Settings(), "demo", NOW) as opened:
        yield opened
    patch.undo()


def _say(runner: DialogueRunner, peer: str, text: str) -> str:
    before = len(runner._sender.replies(peer))
    submitted = runner._engine.submit(  # type: ignore[union-attr]
        InboundMessage(
            tenant_id=runner.profile.info.id,
            channel=CHANNEL,
            peer=peer,
            text=text,
            provider_message_id=f"reminder-{uuid.uuid4()}",
            received_at=runner._clock(),
        )
    )
    assert runner._waiter.wait(submitted.inbox_id, 300)
    return "\n".join(runner._sender.replies(peer)[before:])


def _reminded(runner: DialogueRunner, peer: str, booking: tuple[str, str]) -> None:
    """Books, then moves the clock to the day before and runs the reminder job."""
    assert runner._db is not None
    with runner._db.begin() as conn:  # a calendar of its own, as each dialogue case
        reset_calendar(conn, runner.profile, runner._other_customer, [])
    runner._clock.set(runner._now)
    _say(runner, peer, booking[0])
    assert re.search(r"17:00|5:00 PM", _say(runner, peer, booking[1]))
    engine = runner._engine
    assert engine is not None
    later = runner._now + timedelta(hours=20)
    runner._clock.set(later)
    sent = send_due_reminders(
        engine.store, engine.dispatcher.enqueue, engine.tenant_services, lambda _k: True, later
    )
    assert sent >= 1
    for _ in range(100):  # the reminder goes out through the outbox, like a reply
        if re.search(r"recordamos|reminder", "\n".join(runner._sender.replies(peer))):
            break
        time.sleep(0.05)


ES = ("corte el jueves a las 17", "si")
EN = ("haircut thursday 5pm", "yes")


@pytest.mark.parametrize(
    ("booking", "answer", "kept"),
    [
        (ES, "confirmo", True),
        (ES, "sí, ahí estaré", True),
        (ES, "ahi estare!", True),
        (ES, "dale, gracias!", True),
        (ES, "👍", True),
        (EN, "yes see you tomorrow", True),
        (EN, "I'll be there", True),
        (ES, "no puedo ir", False),
        (ES, "nop, no llego", False),
        (ES, "no, no voy a poder ir", False),
        (ES, "sí, nos vemos mañana", True),
        (EN, "can't make it sorry", False),
    ],
)
def test_a_reminder_answer_confirms_or_cancels(
    runner: DialogueRunner, booking: tuple[str, str], answer: str, kept: bool
) -> None:
    peer = f"+5491170{uuid.uuid4().int % 10**6:06d}"
    _reminded(runner, peer, booking)
    runner._clock.set(runner._now + timedelta(hours=20, minutes=5))
    reply = _say(runner, peer, answer)
    said = r"esperamos|great|see you" if kept else r"cancel"
    assert re.search(said, reply, re.IGNORECASE), reply
    statuses = runner_statuses(runner, peer)
    assert statuses == ([BookingStatus.CONFIRMED] if kept else [BookingStatus.CANCELLED])


def runner_statuses(runner: DialogueRunner, peer: str) -> list[BookingStatus]:
    customer = select(Conversation.contact_id).where(Conversation.peer == peer)
    assert runner._db is not None
    with runner._db.begin() as conn:
        return list(
            conn.execute(select(Booking.status).where(Booking.contact_id.in_(customer))).scalars()
        )
