"""Understanding customers of any appointment business: services found by a word cut
short or by the words that name them, a partly said name that fits two services left
open, several services named together, month-first dates and a bare hour offered
instead of another."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from hablo.engine.nlu.datetimes import extract_when, month_first_locale
from hablo.engine.nlu.feasts import easter_sunday
from hablo.engine.nlu.holidays import HolidayNames
from hablo.engine.nlu.party import without_their_people
from hablo.engine.nlu.services import ServiceMatcher
from hablo.plugins.sdk import ServiceInfo

NOW = datetime(2027, 3, 10, 12, 0, tzinfo=ZoneInfo("America/Chicago"))


def _matcher(*names: str) -> ServiceMatcher:
    return ServiceMatcher([ServiceInfo(uuid.uuid4(), n, "", 1000, 30, ()) for n in names])


NAILS = _matcher("Manicura semipermanente", "Kapping gel", "Uñas esculpidas", "Pedicura spa")
VET = _matcher("Wellness exam", "Vaccinations", "Microchipping", "Nail trim")
TUTORS = _matcher("GCSE maths lesson", "A-level maths lesson", "GCSE English lesson")


@pytest.mark.parametrize(
    ("matcher", "text", "service"),
    [
        (NAILS, "cuánto sale el semi?", "Manicura semipermanente"),
        (NAILS, "¿cuánto están las esculpidas?", "Uñas esculpidas"),
        (NAILS, "una pedi para el viernes", "Pedicura spa"),
        (VET, "a microchip for my cat", "Microchipping"),
        (VET, "what's the price of a vaccination?", "Vaccinations"),
        (TUTORS, "how much for A level maths?", "A-level maths lesson"),
    ],
)
def test_a_word_cut_short_or_in_the_singular_finds_the_service(
    matcher: ServiceMatcher, text: str, service: str
) -> None:
    found = matcher.find(text)
    assert found is not None and found.name == service


def test_a_name_partly_said_that_fits_two_services_is_left_open() -> None:
    assert TUTORS.find("how much is a maths lesson?") is None
    options = {s.name for s in TUTORS.by_name_words("how much is a maths lesson?")}
    assert options == {"GCSE maths lesson", "A-level maths lesson"}


def test_a_short_word_said_in_the_plural_tells_two_services_apart() -> None:
    # "pads" is the pad replacement's own word: the brake inspection is not asked about
    garage = _matcher("Brake inspection", "Brake pad replacement", "Oil change")
    for text in ("do you do brake pads? how much?", "new brake pads for my truck"):
        assert [s.name for s in garage.by_name_words(text)] == ["Brake pad replacement"]
    both = {s.name for s in garage.by_name_words("do you do brakes?")}
    assert both == {"Brake inspection", "Brake pad replacement"}


def test_several_services_named_together_are_all_found_in_order() -> None:
    text = "Can I book GCSE maths and GCSE English on Saturday at 10?"
    found = TUTORS.find_all(text, near="on Saturday at 10")
    assert [s.name for s in found] == ["GCSE maths lesson", "GCSE English lesson"]
    both = VET.find_all("can I get a nail trim and a microchip for my cat on Saturday at 9?")
    assert [s.name for s in both] == ["Nail trim", "Microchipping"]


def test_without_names_leaves_what_the_customer_wants_done() -> None:
    garage = _matcher("Cambio de aceite y filtro", "Alineación y balanceo")
    named = garage.find_all("Quiero cambio de aceite y alineación el jueves a las 10")
    rest = garage.without_names("Quiero cambio de aceite y alineación el jueves a las 10", named)
    assert "cambio" not in rest and "jueves" in rest and rest.startswith("quiero")


@pytest.mark.parametrize(
    ("text", "month_first", "day"),
    [
        ("a nail trim on 3/12 at 2pm", True, (3, 12)),
        ("a nail trim on 3/12 at 2pm", False, (12, 3)),
        ("on 3/18", False, (3, 18)),  # D/M impossible: M/D
        ("on 18/3", True, (3, 18)),  # M/D impossible: D/M
    ],
)
def test_numeric_dates_follow_the_locale(
    text: str, month_first: bool, day: tuple[int, int]
) -> None:
    when = extract_when(text, NOW, month_first=month_first)
    assert when is not None and (when.start.month, when.start.day) == day


def test_month_first_locales() -> None:
    assert month_first_locale("en-US") and month_first_locale("en_US")
    assert not month_first_locale("en-GB") and not month_first_locale("es-MX")


def test_a_fraction_stays_a_fraction_month_first() -> None:
    assert extract_when("1/2 kilo", NOW, month_first=True) is None


@pytest.mark.parametrize(
    ("text", "hour"),
    [
        ("actually 11 would be better", 11),
        ("make it 11", 11),
        ("how about 3?", 15),
        ("10 instead", 10),
        ("no, mejor 12", 12),
    ],
)
def test_a_bare_hour_offered_instead_is_a_time(text: str, hour: int) -> None:
    when = extract_when(text, NOW)
    assert when is not None and when.has_time and when.start.hour == hour


@pytest.mark.parametrize("text", ["I have 2 dogs", "tengo 3 perros", "son 2 chicos mejor"])
def test_a_count_is_no_time(text: str) -> None:
    assert extract_when(text, NOW) is None


@pytest.mark.parametrize(
    ("country", "text", "day"),
    [
        ("AR", "¿abren el jueves santo?", date(2027, 3, 25)),
        ("ES", "¿abrís en Semana Santa?", date(2027, 3, 25)),
        ("GB", "are you open on Easter Monday?", date(2027, 3, 29)),  # England's
        ("GB", "and on Boxing Day?", date(2027, 12, 26)),
        ("US", "are you open on thanksgiving?", date(2027, 11, 25)),
        ("US", "open on the 4th of July?", date(2027, 7, 4)),
        ("US", "can I bring my cat in on Memorial Day?", date(2027, 5, 31)),
        ("MX", "¿abren el día de muertos?", date(2027, 11, 2)),
        ("MX", "¿abren el día de la Constitución?", date(2028, 2, 7)),  # 2027's has passed
        ("ES", "¿abrís en Nochebuena?", date(2027, 12, 24)),
        (None, "¿abren en navidad?", date(2027, 12, 25)),
        ("MX", "¿abren el día del trabajo?", date(2027, 5, 1)),  # said in full
        ("US", "are you open on labor day?", date(2027, 9, 6)),
    ],
)
def test_days_named_by_customers_are_dates(country: str | None, text: str, day: date) -> None:
    found = HolidayNames({}, country).find(text, date(2027, 3, 10))
    assert found is not None and found[0] == day


@pytest.mark.parametrize(
    ("country", "text"),
    [
        ("MX", "¿están en Constitución 1500?"),  # a street, not the holiday
        ("AR", "salgo del trabajo a las 6"),
        ("MX", "necesito un certificado médico para el trabajo"),
        ("US", "i need a haircut for work on friday"),
        ("US", "do you take walk-ins?"),
    ],
)
def test_everyday_words_of_a_holiday_name_are_no_date(country: str, text: str) -> None:
    assert HolidayNames({}, country).find(text, date(2027, 3, 10)) is None


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2027, date(2027, 3, 28)),
        (2038, date(2038, 4, 25)),
    ],
)
def test_easter_is_computed(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


def test_the_head_of_a_compound_name_and_a_short_word_that_tells_two_apart() -> None:
    salon = _matcher("Women's haircut", "Men's haircut", "Balayage", "Blowout")
    men = salon.find("how much for a men's cut?")
    assert men is not None and men.name == "Men's haircut"
    assert salon.find("how much is a haircut?") is None  # women's or men's: asked
    assert {s.name for s in salon.by_name_words("a cut for my son")} == {
        "Women's haircut",
        "Men's haircut",
    }
    assert salon.find("what do you have on friday?") is None


def test_a_synonym_of_one_service_inside_the_fuller_name_of_another() -> None:
    groomer = ServiceMatcher(
        [
            ServiceInfo(uuid.uuid4(), "Full groom (small dog)", "", 4500, 90, ("full groom",)),
            ServiceInfo(uuid.uuid4(), "Full groom (large dog)", "", 6500, 120, ()),
        ]
    )
    large = groomer.find("How much is a full groom for a large dog?")
    assert large is not None and large.name == "Full groom (large dog)"
    small = groomer.find("a full groom please")
    assert small is not None and small.name == "Full groom (small dog)"


def test_a_part_of_a_request_that_fits_two_services_is_unsettled() -> None:
    salon = _matcher("Women's haircut", "Men's haircut", "Balayage", "Blowout")
    assert {s.name for s in salon.unsettled("a cut and a blowout on Saturday")} == {
        "Women's haircut",
        "Men's haircut",
    }
    assert salon.unsettled("a men's cut and a blowout") == ()


def test_an_everyday_word_is_no_name_cut_short() -> None:
    beauty = _matcher("Estética facial", "Masaje relajante")
    assert beauty.find("¿tienen lugar este jueves?") is None
    assert beauty.by_name_words("¿tienen lugar este jueves?") == ()


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("no, el viernes no, mejor el sábado", 13),
        ("not friday, saturday please", 13),
        ("hoy no puedo, el viernes a las 10", 12),
        ("el viernes no puedo", 12),  # the only day said stays the day
    ],
)
def test_a_day_turned_down_gives_way_to_the_other(text: str, day: int) -> None:
    when = extract_when(text, NOW)
    assert when is not None and when.start.day == day


def test_a_person_of_theirs_names_no_service() -> None:
    # "Terapia de pareja" is not asked for by "mi pareja no puede".
    couples = _matcher("Sesión individual", "Terapia de pareja")
    said = "no, mejor sesión individual, mi pareja no puede"
    assert [s.name for s in couples.find_all(without_their_people(said))] == ["Sesión individual"]
    kept = "terapia de pareja para el jueves"
    assert without_their_people(kept) == kept
    assert "partner" not in without_their_people("couples session, my partner too")


def test_only_a_name_is_a_name() -> None:
    assert NAILS.only_names("las esculpidas")
    assert NAILS.only_names("kapping gel")
    assert not NAILS.only_names("tienen kapping")
    assert not NAILS.only_names("kapping el")
    assert not NAILS.only_names("sé")
