"""The readers behind tests/dialogues/known_gaps.yaml: each person's part of a request
(nlu/party.py), "was it 11 or 11:30?" (nlu/acts.py), "the same for men and women?"
(nlu/genders.py) and "both, the same day" (engine/followups.py)."""

from __future__ import annotations

import uuid

from hablo.engine.followups import says_both
from hablo.engine.nlu.acts import asks_which_days, asks_which_time_held
from hablo.engine.nlu.genders import asks_if_age_matters, asks_if_gender_matters, gendered_family
from hablo.engine.nlu.party import party_size, person_parts
from hablo.plugins.sdk import ServiceInfo
from hablo.skills.booking.reading import asks_what_there_is, checks_time, period_hours
from tests.reader_cases import reader_cases

test_asks_which_time_held = reader_cases(
    asks_which_time_held,
    says=[
        "¿era a las 11 o a las 11:30?",
        "is it at 11 or 11:30?",
        "was it 10 or 10.30?",
        "gracias! una pregunta, quedamos 11 o 11 y media?",
        "mi turno era a las 4 o a las 5?",
        "11 o 11:30 era?",
        "was my appointment at 3pm or 4pm?",
    ],
    does_not=[
        "¿a las 11 o a las 12 tenés lugar?",
        "corte el jueves a las 11",
        "can I come at 11 or 12?",
        "me da igual, 10 o 11",
        "¿tengo turno el viernes?",
    ],
)

test_asks_if_gender_matters = reader_cases(
    asks_if_gender_matters,
    says=[
        "es lo mismo para hombre y mujer el corte?",
        "is it the same price for men and women?",
        "el corte cuesta igual para hombres que para mujeres?",
        "do you charge women more than men for a haircut?",
        "hay diferencia de precio entre dama y caballero?",
        "cuanto sale el corte de hombre y el de mujer?",
    ],
    does_not=[
        "corte para mi marido",
        "is the men's haircut available on friday?",
        "quiero turno para mi y mi marido",
        "¿y para mujer?",
    ],
)

test_says_both = reader_cases(
    says_both,
    says=[
        "quiero ir los dos el mismo día",
        "I'd like both on the same day",
        "los quiero hacer juntos",
        "las dos cosas",
        "both please",
    ],
    does_not=["el viernes", "quiero ir el viernes", "and the beard?"],
)


def test_person_parts_cut_where_each_person_is_named() -> None:
    assert person_parts("quiero turno para mí a las 3 y para mi hija a las 4 el jueves") == [
        "quiero turno",
        "para mí a las 3 y",
        "para mi hija a las 4 el jueves",
    ]
    assert person_parts("haircuts for me at 3 and my son at 4 on thursday") == [
        "haircuts",
        "for me at 3 and",
        "my son at 4 on thursday",
    ]
    # The speaker's part comes before the first person named.
    assert person_parts("corte mañana a las 10 y para mi hija a las 11, brushing") == [
        "corte mañana a las 10 y",
        "para mi hija a las 11, brushing",
    ]


def test_person_parts_leave_a_request_for_one_whole() -> None:
    assert person_parts("corte el jueves a las 3") == ["corte el jueves a las 3"]
    assert person_parts("para mi hija corte el jueves") == ["para mi hija corte el jueves"]


def test_each_person_with_their_own_time_counts_as_two() -> None:
    assert party_size("turno para mi hija a las 5 y para mi a las 4 el viernes") == 2
    assert party_size("for my son at 4 and for me at 3") == 2
    assert party_size("para mi hija a las 5") == 1


def _service(name: str) -> ServiceInfo:
    return ServiceInfo(
        id=uuid.uuid4(), name=name, description="", duration_minutes=30, price_minor=1000
    )


def test_gendered_family_is_the_services_cut_for_men_or_women() -> None:
    women, men, blowout = (
        _service("Women's haircut"),
        _service("Men's haircut"),
        _service("Blowout"),
    )
    catalogue = [women, men, blowout]
    assert gendered_family(catalogue, None) == (women, men)
    assert gendered_family(catalogue, men) == (women, men)
    assert gendered_family(catalogue, blowout) == ()
    haircut = _service("Corte de pelo")  # one haircut for everybody
    assert gendered_family([haircut, blowout], haircut) == ()


test_checks_time = reader_cases(
    checks_time,
    says=[
        "wait is that 2pm?",
        "¿o sea a las 17?",
        "¿es a las 5 de la tarde?",
        "is it 10 in the morning?",
    ],
    does_not=["a las 17", "yes, 2pm is fine", "si, a las 5?", "2pm works", "¿5 puede ser?"],
)


test_forgot_when_is_the_booking_held = reader_cases(
    asks_which_time_held,
    says=[
        "hola, saque turno para el jueves pero no se a que hora era",
        "i forgot what time my appointment is",
        "no me acuerdo que dia tengo el turno",
    ],
    does_not=[
        "queria turno para corte, pero no se que dia, que me recomendas?",
        "no sé qué día es mejor",
        "no se que hora es mejor para venir",
        "me olvidé qué día tengo libre",
        "I don't remember what day is best",
    ],
)


def test_a_part_of_the_day_turned_down_is_no_period() -> None:
    assert period_hours("no puedo a la mañana, despues de las 4") is None
    assert period_hours("not in the morning") is None
    assert period_hours("a la tarde") == (13, 24)
    assert period_hours("no, mejor a la tarde") == (13, 24)


def test_person_parts_cut_at_one_and_the_other() -> None:
    assert person_parts("dos turnos de corte el viernes, uno a las 10 y otro a las 11") == [
        "dos turnos de corte el viernes,",
        "uno a las 10 y",
        "otro a las 11",
    ]
    assert person_parts("2 haircuts tomorrow, one at 10 and one at 11")[-2:] == [
        "one at 10 and",
        "one at 11",
    ]
    # "a las una" is one o'clock, no person
    assert person_parts("corte a las una y media") == ["corte a las una y media"]
    assert party_size("i need a haircut thursday, my son too") == 2


test_asks_what_there_is = reader_cases(
    asks_what_there_is,
    says=["no se, que tenes?", "not sure, what do you have?", "que hacen?", "what services?"],
    does_not=["corte", "el jueves", "no se que dia", "a las 3"],
)

test_que_dia_tenes_libre = reader_cases(
    asks_which_days,
    says=["que dia tenes libre?", "hola, es para hacerme las manos, que dia hay lugar?"],
    does_not=["que dia es hoy?"],
)


test_asks_if_age_matters = reader_cases(
    asks_if_age_matters,
    says=["is it the same price for kids and adults?", "cobran igual el corte a niños y adultos?"],
    does_not=["corte para mi hijo y para mi", "kids cut please", "adults only?"],
)
