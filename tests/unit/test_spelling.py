"""Chat spelling is read as the words meant, and nothing else is touched."""

from __future__ import annotations

import pytest

from hablo.engine.nlu.acts import COMPLAINT, GREETING, asks_reminder, asks_shift, read_act, says_yes
from hablo.engine.nlu.party import for_companion, party_size
from hablo.engine.nlu.spelling import Speller, sound_key

SALON = Speller(["corte", "pelo", "barba", "manicura", "uñas", "coloración", "haircut"])


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("ola kiero un turno pa korte", "hola quiero un turno pa corte"),
        ("el juebes", "el jueves"),
        ("el biernes a la tarde", "el viernes a la tarde"),
        ("tienes lugar el mierkoles?", "tienes lugar el miércoles?"),
        ("q dias abren?", "que dias abren?"),
        ("hay turno x la mañana?", "hay turno por la mañana?"),
        ("manikura", "manicura"),
        ("manucura", "manicura"),  # one keystroke off a service word
        ("on firday at 2pm", "on friday at 2pm"),
        ("thrusday morning", "thursday morning"),
        ("tmrw", "tomorrow"),
        ("i need a hiarcut", "i need a haircut"),
    ],
)
def test_chat_spelling_is_read_as_meant(typed: str, meant: str) -> None:
    assert SALON.respell(typed) == meant


@pytest.mark.parametrize(
    "text",
    [
        "unas preguntas",  # "some", not "uñas"
        "2x1 en corte?",  # the x of a promotion is no "por"
        "do you do x-rays?",  # nor the x of a word joined by a hyphen
        "soy Valeria",  # a name that sounds like nothing we know
        "tienes turno?",  # an everyday word one letter from "tienen" is left alone
        "cortes",
        "en 2 semanas",
        "siete u ocho",
    ],
)
def test_everything_else_is_left_alone(text: str) -> None:
    assert SALON.respell(text) == text


def test_short_english_service_words_do_not_catch_spanish_ones() -> None:
    # "Lash lift" would otherwise turn "a las 11" into "a lash 11".
    assert Speller(["lash", "lift", "hair"]).respell("a las 11") == "a las 11"


def test_sound_alike_letters_share_a_key() -> None:
    assert sound_key("juebes") == sound_key("jueves")
    assert sound_key("korte") == sound_key("corte")
    assert sound_key("serca") == sound_key("cerca")
    assert sound_key("uñas") != sound_key("unas")


@pytest.mark.parametrize(
    ("text", "shift"),
    [
        ("se puede más tarde?", "later"),
        ("che al final no llego, se puede más tarde?", "later"),
        ("could we do it a bit earlier?", "earlier"),
        ("¿lo podemos pasar un poco antes?", "earlier"),
        ("más tarde te escribo", None),  # a plan, not a request
        ("gracias", None),
    ],
)
def test_asks_shift(text: str, shift: str | None) -> None:
    assert asks_shift(text) == shift


def test_yes_with_thanks_and_complaints() -> None:
    assert says_yes("perfecto gracias") and says_yes("ok, gracias!")
    assert not says_yes("gracias, pero a las 5")
    assert read_act("no entendés nada") == COMPLAINT
    assert read_act("you don't understand") == COMPLAINT
    assert read_act("no entendí el precio, cuánto sale?") != COMPLAINT


@pytest.mark.parametrize(
    ("text", "people"),
    [
        ("quiero corte para mí el viernes y para mi hijo justo después", 2),
        ("tenés turno para 2 cortes el sábado?", 2),
        ("tres turnos de manicura", 3),
        ("haircut for me and my son", 2),
        ("a las dos de la tarde", 1),
        ("en 2 semanas", 1),
        ("corte para mí", 1),
        ("I've got two small dogs that need a bath", 2),
        ("dos perros grandes para bañar", 2),
        ("two hours later", 1),
        ("a las 4 tenes algo? el viernes digo, para brushing", 1),
        ("at 2 works for my boys", 1),
        ("hola! 3 preguntas: cuanto sale el corte", 1),
        ("corte el viernes, tipo 4 pasadas", 1),
    ],
)
def test_party_size(text: str, people: int) -> None:
    assert party_size(text) == people


def test_a_companion_is_a_request_for_someone_else() -> None:
    assert for_companion("y para mi hijo también?")
    assert for_companion("can my son get one right after me?")
    assert not for_companion("mi hijo está enfermo")
    assert not for_companion("gracias")


def test_reminder_questions_and_a_raised_hand() -> None:
    assert asks_reminder("me podés recordar el día antes?")
    assert asks_reminder("do you send reminders?")
    assert not asks_reminder("me recordás a qué hora es mi turno?")
    assert read_act("🙋‍♀️") == GREETING
