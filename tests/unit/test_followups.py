"""Follow-ups read from the conversation's context (engine/followups.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hablo.engine.dialogue import DialogueState
from hablo.engine.followups import remember, with_context
from hablo.engine.nlu.datetimes import WhenMention
from hablo.engine.nlu.pipeline import Understanding
from hablo.plugins.sdk import ServiceInfo

NOW = datetime(2027, 3, 10, 12, 0, tzinfo=ZoneInfo("America/Argentina/Buenos_Aires"))
CUT = ServiceInfo(uuid.uuid4(), "Corte de pelo", "", 800000, 30)
SATURDAY_11 = WhenMention(NOW.replace(day=13, hour=11), True, True, "el sabado a las 11")


def _turn(state: DialogueState, intent: str, **entities: Any) -> None:
    remember(state, Understanding(intent, 1.0, "es", entities), "info")


def _book(state: DialogueState) -> Understanding:
    asked = Understanding("book", 1.0, "es", {"when": SATURDAY_11})
    return with_context(asked, "pasame un turno el sabado a las 11", state, [CUT], NOW)


@pytest.mark.parametrize("between", ["hours", "location"])
def test_a_priced_service_carries_past_another_question_into_a_booking(between: str) -> None:
    state = DialogueState()
    _turn(state, "pricing", service=CUT)
    _turn(state, between, when=SATURDAY_11)
    assert _book(state).entities["service"] == CUT


def test_a_booked_service_is_not_carried_into_the_next_booking() -> None:
    state = DialogueState()
    _turn(state, "book", service=CUT, when=SATURDAY_11)
    _turn(state, "hours", when=SATURDAY_11)
    assert "service" not in _book(state).entities


@pytest.mark.parametrize("between", ["thanks", "ack", "laugh", "unknown_fact"])
def test_a_thanks_between_keeps_the_priced_service(between: str) -> None:
    state = DialogueState()
    _turn(state, "pricing", service=CUT)
    _turn(state, between)
    assert _book(state).entities["service"] == CUT


def test_another_day_right_after_a_cancel_moves_the_booking_cancelled() -> None:
    state = DialogueState()
    _turn(state, "cancel", service=CUT)
    tuesday = WhenMention(NOW.replace(day=16, hour=0), True, False, "el martes")
    asked = Understanding(None, 0.3, "es", {"when": tuesday})
    read = with_context(asked, "¿y el martes a la misma hora?", state, [CUT], NOW)
    assert read.intent == "reschedule"
    # a new service named is a booking of its own, not the cancelled one again
    named = Understanding("book", 0.9, "es", {"when": tuesday, "service": CUT})
    assert with_context(named, "y el martes un corte", state, [CUT], NOW).intent == "book"
