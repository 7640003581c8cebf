"""Chat spelling is read as the words meant, and nothing else is touched."""

from __future__ import annotations

import pytest

from hablo.engine.nlu.acts import COMPLAINT, asks_shift, read_act, says_yes
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
