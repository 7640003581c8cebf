"""Asking for the business's phone (nlu/reach.py) and the info skill's answer to it."""

from __future__ import annotations

from dataclasses import replace

from hablo.engine.nlu.reach import asks_phone
from hablo.skills.info import InfoSkill
from hablo.testing.context import DEMO_TENANT, make_turn, skill_context
from tests.reader_cases import reader_cases

ASKS_PHONE = [
    "whats your phone number, can i just call?",
    "have you got a number I can ring?",
    "is there a number to call?",
    "can I call you guys tomorrow?",
    "¿tienen teléfono?",
    "¿me pasás el cel del local?",
    "¿a qué número los llamo?",
    "buenas tardes, ¿me puede dar el teléfono del consultorio?",
    "oye, ¿me dais un número para llamaros?",
    "¿teléfono?",
]
NOT_ASKING = [
    "mi teléfono es 11 5555 6666",
    "my phone number is 305 555 1234",
    "my phone battery is dying",
    "¿me pasás el número de cuenta para transferir?",
    "¿cuál es el número de reserva?",
    "me llamo Juan",
    "te llamo cuando salga del trabajo",
    "how much is a phone case?",
]
test_asks_for_the_phone = reader_cases(asks_phone, ASKS_PHONE, NOT_ASKING)


def test_the_phone_is_given_when_the_business_has_one() -> None:
    ctx = skill_context(InfoSkill, tenant=replace(DEMO_TENANT, phone="+54 11 4832 5566"))
    result = InfoSkill().handle(make_turn("¿tienen teléfono?", intent="phone"), ctx)
    assert "+54 11 4832 5566" in result.replies[0].text
    assert not result.meta.get("offer")


def test_without_a_phone_this_chat_and_a_person_are_offered() -> None:
    ctx = skill_context(InfoSkill, tenant=replace(DEMO_TENANT, phone=" "))
    result = InfoSkill().handle(make_turn("can I call you?", "en", intent="phone"), ctx)
    assert "this chat" in result.replies[0].text
    assert result.meta.get("offer") == "human"
