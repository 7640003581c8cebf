""" "Do you do / have X?" read by rule: a service offered is never denied (named in the
other language, with a ñ, by the trade's own verb), and a term of the shop the bot was
never told (an invoice, a cash discount) is not known rather than "not offered"."""

from __future__ import annotations

import uuid

import pytest

from hablo.engine.nlu.services import ServiceMatcher
from hablo.engine.nlu.unknown import (
    NOT_OFFERED,
    UNKNOWN_FACT,
    UnknownAsk,
    asked_about,
    unknown_ask,
)
from hablo.plugins.sdk import ServiceInfo


def _matcher(*services: tuple[str, tuple[str, ...]]) -> ServiceMatcher:
    return ServiceMatcher([ServiceInfo(uuid.uuid4(), n, "", 1000, 30, s) for n, s in services])


SALON = _matcher(
    ("Corte de pelo", ("corte", "haircut")),
    ("Manicura", ("uñas", "manos", "manicure", "nails")),
    ("Brushing", ("secado", "blowout")),
)
NAILS = _matcher(("Manicura semipermanente", ()), ("Uñas esculpidas", ()), ("Pedicura spa", ()))
BEAUTY = _matcher(("Manicura", ()), ("Pedicura", ()), ("Lifting de pestañas", ()))
GLOW = _matcher(("Women's haircut", ()), ("Men's haircut", ()), ("Blowout", ()))
TUTORS = _matcher(
    ("GCSE maths lesson", ()), ("A-level maths lesson", ()), ("11+ exam preparation", ())
)
GARAGE = _matcher(("Revisión de frenos", ()), ("Cambio de balatas", ("pastillas de freno",)))
VET = _matcher(("Microchipping", ()), ("Nail trim", ()))
BARBER = _matcher(("Haircut", ("cut", "trim", "fade")), ("Kids cut", ()))
GROOMER = _matcher(
    ("Full groom (small dog)", ("groom",)), ("Full groom (large dog)", ()), ("Nail clipping", ())
)
COLOUR = _matcher(("Balayage", ()), ("Root touch-up", ()), ("Blowout", ()))
DENTIST = _matcher(("Extracción simple", ("sacar una muela",)), ("Limpieza dental", ()))
PSY = _matcher(("Sesión individual", ()), ("Sesión online", ("virtual", "por zoom")))


@pytest.mark.parametrize(
    ("matcher", "text", "service"),
    [
        (SALON, "hacen uñas?", "Manicura"),
        (SALON, "Hola, ¿tienen servicio de uñas?", "Manicura"),
        (NAILS, "hacen uñas de los pies?", "Pedicura spa"),
        (BEAUTY, "¿hacéis pestañas?", "Lifting de pestañas"),
        (GLOW, "cuanto sale un secado?", "Blowout"),
        (GLOW, "do you cut men's hair?", "Men's haircut"),
        (TUTORS, "do you do 11 plus?", "11+ exam preparation"),
        (TUTORS, "do you teach A level?", "A-level maths lesson"),
        (GARAGE, "revisan frenos?", "Revisión de frenos"),
        (GARAGE, "cambian balatas?", "Cambio de balatas"),
        (VET, "do you trim nails?", "Nail trim"),
        (VET, "do you microchip?", "Microchipping"),
        (VET, "do y'all microchip puppies?", "Microchipping"),  # y'all, and a puppy is a dog
        (VET, "do you all trim nails?", "Nail trim"),
        (BARBER, "do you cut kids hair?", "Kids cut"),
        (GROOMER, "do you groom big dogs?", "Full groom (large dog)"),
        (DENTIST, "sacan muelas?", "Extracción simple"),
        (PSY, "atiende por zoom?", "Sesión online"),
        (PSY, "atiende online?", "Sesión online"),
    ],
)
def test_a_service_offered_is_found_not_denied(
    matcher: ServiceMatcher, text: str, service: str
) -> None:
    found = unknown_ask(text, matcher)
    assert isinstance(found, ServiceInfo) and found.name == service


@pytest.mark.parametrize(
    ("matcher", "text", "services"),
    [
        (BEAUTY, "¿hacéis uñas?", {"Manicura", "Pedicura"}),
        (COLOUR, "do you do color?", {"Balayage", "Root touch-up"}),
        # no kids' cut on the list: the haircuts there are, not "I didn't get that"
        (GLOW, "how much for a trim?", {"Women's haircut", "Men's haircut"}),
        (GLOW, "do you cut kids hair?", {"Women's haircut", "Men's haircut"}),
        (GLOW, "do you do haircuts for children?", {"Women's haircut", "Men's haircut"}),
        (
            _matcher(("Limpieza dental", ()), ("Limpieza facial", ())),
            "¿hacen limpiezas?",
            {"Limpieza dental", "Limpieza facial"},
        ),
    ],
)
def test_several_services_it_may_mean_are_all_given(
    matcher: ServiceMatcher, text: str, services: set[str]
) -> None:
    found = asked_about(text, matcher)
    assert isinstance(found, tuple) and {s.name for s in found} == services
    assert unknown_ask(text, matcher) is None  # never "we don't offer" them


@pytest.mark.parametrize(
    ("matcher", "text"),
    [
        (VET, "do you speak spanish?"),  # no service: not "we don't offer Spanish"
        (TUTORS, "Do you do online lessons?"),  # "online" is none of the lessons
    ],
)
def test_no_service_and_no_denial_when_none_is_meant(matcher: ServiceMatcher, text: str) -> None:
    assert unknown_ask(text, matcher) is None


@pytest.mark.parametrize(
    "text",
    [
        "hacen descuento en efectivo?",
        "hace factura? la necesito para el reintegro de la prepaga",
        "do you do home visits?",
        "¿atendéis a domicilio?",
    ],
)
def test_a_term_of_the_shop_is_not_known_rather_than_not_offered(text: str) -> None:
    found = unknown_ask(text, SALON)
    assert isinstance(found, UnknownAsk) and found.kind == UNKNOWN_FACT


def test_a_service_of_the_trade_the_catalogue_lacks_is_not_offered() -> None:
    assert unknown_ask("¿hacen alisado?", SALON) == UnknownAsk(NOT_OFFERED, "alisado")
    price = unknown_ask("cuanto sale el alisado con keratina?", SALON)
    assert price == UnknownAsk(NOT_OFFERED, "alisado con keratina")


def test_what_is_told_after_a_question_is_not_asked() -> None:
    # the customer marks questions with "?": "tiene fiebre" is the child's, not the shop's
    assert unknown_ask("¿me da una cita para mi niño? tiene fiebre", SALON) is None
    asked = unknown_ask("¿abren mañana? ¿tienen estacionamiento?", SALON)
    assert asked == UnknownAsk(UNKNOWN_FACT, "estacionamiento")
    unmarked = unknown_ask("tienen estacionamiento", SALON)  # no "?" anywhere: still asked
    assert unmarked == UnknownAsk(UNKNOWN_FACT, "estacionamiento")


@pytest.mark.parametrize(
    ("text", "services"),
    [
        ("hola, cuanto cuesta el corte de mujer?", {"Women's haircut"}),
        ("un corte de hombre", {"Men's haircut"}),
    ],
)
def test_words_of_the_glossary_are_the_matchers_own(text: str, services: set[str]) -> None:
    # The matcher reads the other language's words itself (nlu/glossary.py): the
    # classifier gets the services as entities; never "we don't offer" them.
    named = GLOW.find(text)
    found = {named.name} if named else {s.name for s in GLOW.by_name_words(text)}
    assert found == services
    assert not isinstance(unknown_ask(text, GLOW), UnknownAsk)


# A name said with one of its words swapped for a thing the catalogue lacks
# (ServiceMatcher.swapped_name): that thing, not the service's price.
_DENTIST = _matcher(("Limpieza dental", ("limpieza",)), ("Extracción simple", ()))
_LASER = _matcher(("Depilación láser piernas", ()), ("Depilación láser axilas", ()))
_GROOMER = _matcher(("Full groom (small dog)", ()), ("Bath and brush", ()))


@pytest.mark.parametrize(
    ("matcher", "text"),
    [
        (TUTORS, "do you do A-level chemistry?"),
        (TUTORS, "GCSE physics"),
        (_DENTIST, "implantes dentales"),
        (_LASER, "depilación láser de brazos"),
        (_GROOMER, "a bath for a cat"),
        (_GROOMER, "¿cortan pelo de gato?"),
        (GROOMER, "Do you groom cats?"),  # every service says it is for dogs
    ],
)
def test_a_swapped_name_is_another_thing(matcher: ServiceMatcher, text: str) -> None:
    assert matcher.swapped_name(text)


@pytest.mark.parametrize(
    ("matcher", "text"),
    [
        (TUTORS, "A-level maths"),
        (TUTORS, "A-level for my son"),
        (TUTORS, "alevel maths lessons"),
        (TUTORS, "GCSE maths thursday"),
        (TUTORS, "the 11+ prep"),
        (_DENTIST, "limpieza dental profunda"),
        (_DENTIST, "hacen limpieza dental para niños"),
        (_LASER, "depilación láser de piernas"),
        (_GROOMER, "a full groom for a poodle"),
        (_GROOMER, "bath and brush for my puppy"),
    ],
)
def test_a_name_said_whole_or_qualified_is_no_swap(matcher: ServiceMatcher, text: str) -> None:
    assert matcher.swapped_name(text) is None


_PSY = _matcher(("Sesión individual", ()), ("Sesión online", ()), ("Entrevista inicial", ()))


@pytest.mark.parametrize(
    "text",
    [
        "hola quería saber si atienden adolescentes",
        "¿atienden niños?",
        "hacen sesiones en inglés?",
        "do you offer sessions in English?",
        "is there a discount if we book 10 lessons?",
    ],
)
def test_whom_they_see_and_their_terms_are_not_known(text: str) -> None:
    asked = unknown_ask(text, _PSY)
    assert isinstance(asked, UnknownAsk) and asked.kind == UNKNOWN_FACT, asked


def test_that_points_back_at_the_service_said_before() -> None:
    asked = asked_about("mi perro necesita limpieza dental, ¿hacen eso?", _DENTIST)
    assert isinstance(asked, ServiceInfo) and asked.name == "Limpieza dental"
