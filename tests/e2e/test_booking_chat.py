"""The booking conversation end to end (console channel, real engine, both databases),
with the clock fixed on Wednesday 2027-03-10 12:00 in Buenos Aires."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from hablo.adapters.console import ConsoleSender, run_console
from hablo.bootstrap import Runtime, bootstrap
from hablo.db.enums import BookingStatus
from hablo.db.models import Booking, Service
from hablo.demo import seed_demo
from tests.conftest import make_settings

ZONE = ZoneInfo("America/Argentina/Buenos_Aires")
NOW = datetime(2027, 3, 10, 12, 0, tzinfo=ZONE)


@pytest.fixture
def salon(db_url: str) -> Iterator[tuple[Runtime, uuid.UUID, Callable[[str, str], list[str]]]]:
    rt = bootstrap(make_settings(db_url), upgrade_schema=False, clock=lambda: NOW.astimezone(UTC))
    with rt.db.transaction() as session:
        tenant_id = seed_demo(session, today=NOW.date())
    out = io.StringIO()
    rt.engine.add_sender(ConsoleSender(out, prefix=""))
    rt.start()

    def say(peer: str, text: str) -> list[str]:
        before = out.getvalue()
        run_console(rt.engine, tenant_id, peer, [text])
        new = out.getvalue()[len(before) :]
        return [line for line in new.split("\n") if line.strip()]

    yield rt, tenant_id, say
    rt.close()


def _bookings(rt: Runtime) -> list[tuple[str, datetime, BookingStatus]]:
    with rt.db.transaction() as session:
        rows = session.execute(
            select(Service.name, Booking.starts_at, Booking.status)
            .join(Service, Service.id == Booking.service_id)
            .order_by(Booking.starts_at)
        ).all()
    return [(name, start.astimezone(ZONE), status) for name, start, status in rows]


def test_book_across_messages_with_a_price_question_in_the_middle(salon: tuple) -> None:
    rt, _, say = salon
    ana = "+5491155550001"
    assert "Peluquería Sol" in say(ana, "hola")[0]
    assert "servicio" in " ".join(say(ana, "quiero sacar un turno")).lower()
    assert "día" in " ".join(say(ana, "corte")).lower()
    interrupted = say(ana, "¿cuánto sale la coloración?")
    assert interrupted[0].startswith("Coloración: $25.000")
    assert "Sigamos con tu turno" in " ".join(interrupted)
    times = " ".join(say(ana, "mañana"))
    assert "¿A qué hora?" in times and "jueves 11 de marzo" in times
    confirm = " ".join(say(ana, "a las 5 de la tarde"))
    assert "Corte de pelo" in confirm and "17:00" in confirm and "$8.000" in confirm
    done = " ".join(say(ana, "sí"))
    assert "Listo" in done
    assert _bookings(rt) == [
        ("Corte de pelo", datetime(2027, 3, 11, 17, 0, tzinfo=ZONE), BookingStatus.CONFIRMED)
    ]

    # A second customer asks for the same slot in one message and is offered others.
    bruno = "+5491155550002"
    offered = " ".join(say(bruno, "quiero turno para corte mañana a las 17"))
    assert "ocupado" in offered and "1)" in offered
    confirm = " ".join(say(bruno, "el 1"))
    assert "¿Te reservo Corte de pelo" in confirm
    say(bruno, "dale")
    booked = _bookings(rt)
    assert len(booked) == 2
    assert booked[0][1] != booked[1][1]

    # Ana lists her bookings, then cancels.
    listed = " ".join(say(ana, "¿para cuándo tengo turno?"))
    assert "Corte de pelo" in listed and "17:00" in listed
    assert "Cancelo" in " ".join(say(ana, "necesito cancelar mi turno"))
    assert "cancelé" in " ".join(say(ana, "sí"))
    statuses = sorted(status for _, _, status in _bookings(rt))
    assert statuses == [BookingStatus.CANCELLED, BookingStatus.CONFIRMED]


def test_english_booking_in_one_message(salon: tuple) -> None:
    rt, _, say = salon
    reply = " ".join(say("+14155550123", "can I book a haircut tomorrow at 3pm?"))
    assert "Shall I book Haircut" in reply and "3:00" in reply
    assert "Done" in " ".join(say("+14155550123", "yes please"))
    assert _bookings(rt)[0][1] == datetime(2027, 3, 11, 15, 0, tzinfo=ZONE)


def test_a_closed_day_offers_open_days(salon: tuple) -> None:
    rt, _, say = salon
    reply = " ".join(say("+5491155550003", "quiero turno de manicura el domingo a las 10"))
    assert "cerrados" in reply and "1)" in reply
    assert _bookings(rt) == []


def test_yes_no_questions_are_numbered_on_the_console_and_a_number_answers(
    salon: tuple,
) -> None:
    rt, _, say = salon
    ana = "+5491155550001"
    confirm = say(ana, "quiero turno para corte mañana a las 17")
    assert confirm[-2:] == ["1. Sí", "2. No"]
    assert "Listo" in " ".join(say(ana, "1"))
    assert [status for _, _, status in _bookings(rt)] == [BookingStatus.CONFIRMED]
    # The number only means a choice right after the choices were offered.
    assert "Listo" not in " ".join(say(ana, "1"))
    cancel = say(ana, "necesito cancelar mi turno")
    assert cancel[-2:] == ["1. Sí", "2. No"]
    assert "sigue en pie" in " ".join(say(ana, "2"))  # "No": the booking is kept
    assert [status for _, _, status in _bookings(rt)] == [BookingStatus.CONFIRMED]
