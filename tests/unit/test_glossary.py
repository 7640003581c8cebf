"""A service named in the other language than its catalogue's (nlu/glossary.py, used by
nlu/services.py): "clase de prueba" at a business whose lessons are named in English."""

from __future__ import annotations

import uuid

from hablo.engine.nlu.glossary import translations
from hablo.engine.nlu.services import ServiceMatcher
from hablo.plugins.sdk import ServiceInfo


def _service(name: str, names: tuple[tuple[str, str], ...] = ()) -> ServiceInfo:
    return ServiceInfo(uuid.uuid4(), name, "", 100, 60, (), names)


GCSE_MATHS, A_LEVEL = _service("GCSE maths lesson"), _service("A-level maths lesson")
ENGLISH, TRIAL = _service("GCSE English lesson"), _service("Trial lesson")
TUTORS = ServiceMatcher([GCSE_MATHS, A_LEVEL, ENGLISH, TRIAL])


def test_a_name_word_has_the_other_language_words_for_it() -> None:
    assert "prueba" in translations("trial")
    assert "corte" in translations("haircut")
    assert translations("hola") == ()
    assert "haircut" in translations("corte")


def test_a_spanish_request_finds_the_english_named_service() -> None:
    assert TUTORS.find("quisiera una clase de prueba para mi hijo") == TRIAL
    assert TUTORS.find("clase de ingles") == ENGLISH
    assert TUTORS.by_name_words("clases de matematicas") == (A_LEVEL, GCSE_MATHS)


def test_a_word_a_name_already_has_stays_that_names_own() -> None:
    haircut, kids = _service("Haircut"), _service("Kids cut", (("es", "Corte para niños"),))
    shop = ServiceMatcher([haircut, kids])
    # "corte" is the kids cut's own Spanish word: not the glossary's "haircut" as well
    assert shop.by_name_words("un corte") == (kids,)


def test_a_name_word_ending_a_sentence_is_still_a_name_word() -> None:
    said = "my daughter is doing her GCSEs, she struggles with maths. Do you have anything?"
    assert TUTORS.by_name_words(said) == (GCSE_MATHS,)
