"""Readers for whole conversations with any trade: a service had at a distance
(nlu/remote.py), a missed visit and a first visit (nlu/acts.py), the animal's size said
after its service (nlu/sizes.py), a listed option named by one word (nlu/services.py)."""

from __future__ import annotations

import uuid

from hablo.engine.nlu.acts import after_missed_visit, first_time, missed_visit
from hablo.engine.nlu.remote import asks_remote, is_remote, remote_thing
from hablo.engine.nlu.services import named_among
from hablo.engine.nlu.sizes import resized_to
from hablo.plugins.sdk import ServiceInfo
from tests.reader_cases import reader_cases


def _service(name: str, synonyms: tuple[str, ...] = ()) -> ServiceInfo:
    return ServiceInfo(
        id=uuid.uuid4(),
        name=name,
        description="",
        price_minor=1000,
        duration_minutes=60,
        synonyms=synonyms,
    )


test_asks_remote = reader_cases(
    asks_remote,
    says=[
        "y online se puede?",
        "¿atienden por videollamada?",
        "do you do online sessions?",
        "can the lessons be on zoom?",
        "are lessons in person or online?",
        "Vivo lejos, ¿atienden a distancia?",
        "hacen terapia virtual?",
    ],
    does_not=[
        "se puede pagar online?",
        "can I book online?",
        "can I pay online?",
        "prefiero online",
        "do you have a website?",
        "can I leave a review online?",
    ],
)
test_missed_visit = reader_cases(
    missed_visit,
    says=[
        "no pude ir a mi cita de ayer",
        "perdón, no pude ir al turno del lunes",
        "I missed my appointment yesterday",
        "sorry we couldn't make it on monday",
        "falté el martes",
    ],
    does_not=[
        "no voy a poder ir el viernes",
        "I can't make it on friday",
        "quiero ir el lunes",
    ],
)
test_first_time = reader_cases(
    first_time,
    says=[
        "es la primera vez que voy",
        "hola, nunca he ido",
        "I'm a new patient",
        "we're new here",
        "first time at your clinic",
    ],
    does_not=["la primera que tengas", "the first available", "quiero la primera"],
)


def test_after_a_missed_visit_the_day_wanted_is_what_follows() -> None:
    assert after_missed_visit("no pude ir al turno del lunes, me das otro para el viernes?") == (
        "me das otro para el viernes"
    )
    assert after_missed_visit("hola, no pude ir a mi cita de ayer") == ""
    assert after_missed_visit("quiero turno el viernes") is None


def test_what_is_asked_at_a_distance_is_said_as_the_customer_said_it() -> None:
    assert remote_thing("do you do online sessions?") == "online sessions"
    assert remote_thing("¿atienden por videollamada?") == "por videollamada"


def test_a_service_given_at_a_distance_says_so_in_its_name_or_synonyms() -> None:
    assert is_remote(_service("Sesión online"))
    assert is_remote(_service("Consulta", synonyms=("por zoom",)))
    assert is_remote(_service("Videoconsulta"))
    assert not is_remote(_service("Sesión individual"))


def test_the_breed_said_after_the_groom_picks_its_size() -> None:
    small = _service("Full groom (small dog)")
    large = _service("Full groom (large dog)")
    bath = _service("Bath and brush")
    catalogue = [small, large, bath]
    assert resized_to(small, catalogue, "ah, it's a golden retriever") == large
    assert resized_to(small, catalogue, "my dog is quite big actually") == large
    assert resized_to(large, catalogue, "he's a chihuahua") == small
    assert resized_to(small, catalogue, "he's a chihuahua") == small
    assert resized_to(large, catalogue, "could we do a little later?") is None
    assert resized_to(bath, catalogue, "she's a husky") is None


def test_one_word_of_a_listed_option_names_it() -> None:
    pads = _service("Brake pad replacement")
    inspection = _service("Brake inspection")
    assert named_among([pads, inspection], "the pads") == pads
    assert named_among([pads, inspection], "inspection please") == inspection
    assert named_among([pads, inspection], "brakes") is None
    assert named_among([pads, inspection], "tomorrow at 9") is None
