"""The rules that read a message against the conversation: acts, answers to the booking
flow's pending question, questions about unknown things, services named together."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from hablo.demo import DEMO_SERVICES
from hablo.engine.nlu.acts import (
    ACK,
    asks_opening,
    asks_total,
    asks_which_days,
    closes_topic,
    corrects_service,
    is_follow_up,
    leaves_for_now,
    moves_the,
    prefers,
    read_act,
    same_again,
    starts_no,
    swap_pair,
    undoes_cancel,
)
from hablo.engine.nlu.datetimes import extract_when
from hablo.engine.nlu.services import ServiceMatcher
from hablo.engine.nlu.unknown import NOT_OFFERED, UNKNOWN_FACT, UnknownAsk, unknown_ask
from hablo.plugins.sdk import ServiceInfo
from hablo.skills.booking import reading

BA = ZoneInfo("America/Argentina/Buenos_Aires")
NOW = datetime(2027, 3, 10, 12, 0, tzinfo=BA)
MATCHER = ServiceMatcher(
    [ServiceInfo(uuid.uuid4(), n, "", p, d, tuple(s)) for n, d, p, s in DEMO_SERVICES]
)


@pytest.mark.parametrize(
    ("text", "act"),
    [
        ("sí, gracias", "affirm"),
        ("confirmo", "affirm"),
        ("dale dale", "affirm"),
        ("👍", "affirm"),
        ("yes please", "affirm"),
        ("bet", "affirm"),  # US slang, like "for sure" and "aight"
        ("for sure", "affirm"),
        ("listo gracias!", "thanks"),  # a yes only where a question waits (the engine)
        ("no gracias", "deny"),
        ("nop", "deny"),
        ("jajaja", "laugh"),
        ("lol ok", "laugh"),
        ("perfecto, ¡hasta luego!", "goodbye"),
        ("chau", "goodbye"),
        ("buen día", None),  # a greeting, not a goodbye
        ("¿qué podés hacer?", "help"),
        ("what can you do?", "help"),
        ("thanks so much for the help", None),
        ("no, mejor a las 5", None),  # a no with a correction: the flow reads it
        ("ok, a las 17 entonces", None),
    ],
)
def test_acts(text: str, act: str | None) -> None:
    assert read_act(text) == act


def test_a_no_that_corrects() -> None:
    assert starts_no("no, mejor a las 6") and not starts_no("noviembre")


@pytest.mark.parametrize(
    ("text", "count", "index"),
    [
        ("2", 3, 2),
        ("la 3", 3, 3),
        ("la tercera", 3, 3),
        ("opción 1", 3, 1),
        ("vale, la segunda", 3, 2),
        ("number 2 pls", 3, 2),
        ("the last one", 3, 3),
        ("a las 3", 3, None),  # an hour, not an option
        ("15hs", 3, None),
        ("4", 3, None),
    ],
)
def test_option_index(text: str, count: int, index: int | None) -> None:
    assert reading.option_index(text, count) == index


def test_after_a_list_of_times_a_bare_number_is_an_hour_and_a_word_an_option() -> None:
    assert reading.ordinal_index("3", 6) is None and reading.bare_hour("3") == (3, 0)
    assert reading.ordinal_index("la tercera", 6) == 3
    assert reading.bare_hour("a las 5") == (5, 0) and reading.bare_hour("17 hs") == (17, 0)
    assert reading.bare_hour("5 personas") is None
    assert reading.day_of_month("el 31") == 31 and reading.day_of_month("22") == 22
    assert reading.period_hours("a la tarde") == (13, 24)  # noon is "mediodía"
    assert reading.wants_earliest("lo antes posible")


@pytest.mark.parametrize(
    ("text", "number", "asked"),
    [
        ("is 5 ok?", 5, True),
        ("¿5 puede ser?", 5, True),
        ("what about 3?", 3, True),
        ("5 te sirve?", 5, True),
        ("5", 5, False),
        ("dale, 2 porfa", 2, False),
        ("is 2 people ok?", None, False),
        ("puede ser el viernes?", None, False),
    ],
)
def test_a_number_put_as_a_question(text: str, number: int | None, asked: bool) -> None:
    """ "is 5 ok?": the number is read as said alone, and known to be proposed."""
    assert reading.bare_number(text) == number
    assert reading.put_as_question(text) is asked


@pytest.mark.parametrize(
    ("text", "kind", "thing"),
    [
        ("¿hacen alisado?", NOT_OFFERED, "alisado"),
        ("Hola! ¿Hacéis maquillaje para bodas?", NOT_OFFERED, "maquillaje para bodas"),
        ("cuanto sale el alisado con keratina?", NOT_OFFERED, "alisado con keratina"),
        ("how much is a perm?", NOT_OFFERED, "perm"),
        ("¿tienen estacionamiento?", UNKNOWN_FACT, "estacionamiento"),
        ("¿puedo ir sin turno?", UNKNOWN_FACT, "sin turno"),
        ("hi! are you hiring? I'm a hairdresser", UNKNOWN_FACT, "hiring"),
    ],
)
def test_questions_about_unknown_things(text: str, kind: str, thing: str) -> None:
    assert unknown_ask(text, MATCHER) == UnknownAsk(kind, thing)


@pytest.mark.parametrize(
    "text",
    ["¿hacen brushing?", "cuánto sale teñirme?", "¿tienen turno mañana?", "cuanto sale todo?"],
)
def test_known_things_are_not_unknown(text: str) -> None:
    asked = unknown_ask(text, MATCHER)
    assert asked is None or isinstance(asked, ServiceInfo)


def test_services_named_together_and_apart() -> None:
    assert [s.name for s in MATCHER.find_all("cuanto sale corte y barba?")] == [
        "Corte de pelo",
        "Arreglo de barba",
    ]
    chatty = (
        "el mes pasado me corte con ustedes y quede re contenta. Queria saber si para el "
        "viernes 19 tenes lugar para coloracion a la mañana, tipo 10"
    )
    when = extract_when(chatty, NOW)
    assert when is not None
    assert [s.name for s in MATCHER.find_all(chatty, near=when.text)] == ["Coloración"]


def test_follow_ups_carry_nothing_but_the_new_value() -> None:
    assert is_follow_up("¿y el sábado?", {"sabado"})
    assert not is_follow_up("y puedo ir el sabado temprano?", {"sabado"})
    assert not is_follow_up("el sábado", {"sabado"})


def test_english_weekday_abbreviations_before_a_time() -> None:
    when = extract_when("beard trim sat 10am?", NOW)
    assert when is not None and when.has_date and when.start == datetime(2027, 3, 13, 10, tzinfo=BA)
    sun = extract_when("the sun is out at 5", NOW)
    assert sun is not None and not sun.has_date
    week = extract_when("tenes lugar esta semana?", NOW)
    assert week is not None and week.start.date() == NOW.date()


def test_services_found_by_a_distinctive_word_of_their_name() -> None:
    def service(name: str, english: str | None = None) -> ServiceInfo:
        names = (("en", english),) if english else ()
        return ServiceInfo(uuid.uuid4(), name, "", 100, 30, (), names)

    clinic = ServiceMatcher(
        [
            service("Limpieza dental", "Dental cleaning"),
            service("Limpieza facial"),
            service("Consulta general"),
            service("Resina (empaste)"),
            service("Hot towel shave"),
        ]
    )

    def found(text: str) -> str | None:
        service = clinic.find(text)
        return service.name if service else None

    assert found("¿cuánto sale la consulta?") == "Consulta general"
    assert found("me hacen un empaste?") == "Resina (empaste)"
    assert found("how much for a shave") == "Hot towel shave"
    assert found("a dental cleaning please") == "Limpieza dental"
    # "limpieza" is two services: nothing is picked, both are candidates to ask about.
    assert found("quiero una limpieza") is None
    assert [s.name for s in clinic.by_name_words("quiero una limpieza")] == [
        "Limpieza dental",
        "Limpieza facial",
    ]
    assert unknown_ask("¿hacen limpiezas?", clinic) is None  # known, not "not offered"
    assert clinic.by_name_words("quiero un turno para hoy") == ()


def test_a_bare_day_of_the_month_in_a_booking_request() -> None:
    assert reading.day_mention("quiero turno para corte el 31") == 31
    assert reading.day_mention("a haircut on the 16th") == 16
    assert reading.day_mention("el 2 somos 3 personas") == 2
    assert reading.day_mention("a las 10") is None
    assert reading.day_mention("el 10:30") is None
    assert reading.day_mention("para el 5 personas") is None


def test_a_range_of_the_day_is_not_a_time() -> None:
    def window(text: str) -> tuple[int, int] | None:
        return reading.window(text, extract_when(text, NOW))

    assert window("mañana después de las 5") == (17 * 60, 24 * 60)
    assert window("any time before noon") == (0, 12 * 60)
    assert window("el viernes antes de las 11") == (0, 11 * 60)
    assert window("a la tarde") == (13 * 60, 24 * 60)
    assert window("a las 3 de la tarde") is None  # three o'clock
    assert window("mañana a las 5") is None
    # busy until then: free after it, though "hasta" alone is "before"
    assert window("¿qué días tiene libre esta semana? trabajo hasta las 5") == (17 * 60, 24 * 60)
    assert window("salgo del laburo a las 6") == (18 * 60, 24 * 60)
    assert window("what days this week? I work until 5") == (17 * 60, 24 * 60)
    assert window("I get off work at 4pm") == (16 * 60, 24 * 60)
    assert window("el jueves hasta las 5") == (0, 17 * 60)


def test_a_bare_time_with_minutes_answers_what_time() -> None:
    # "11.30 please" to "What time?": half past eleven, not a misunderstanding.
    assert reading.bare_hour("11.30 please") == (11, 30)
    assert reading.bare_hour("10:45") == (10, 45)
    assert reading.bare_hour("11.75") is None


def _name(service: ServiceInfo | None) -> str | None:
    return service.name if service is not None else None


@pytest.mark.parametrize(
    ("text", "old", "new"),
    [
        ("cambiá la manicura por un brushing", "Manicura", "Brushing"),
        ("mejor una coloración en vez del corte", "Corte de pelo", "Coloración"),
        ("en vez de la manicura, mejor un brushing", "Manicura", "Brushing"),
        ("can you switch it to a blow-dry?", None, "Brushing"),
        ("¿cuánto cuesta el corte por favor?", None, None),  # no swap: "por favor"
        ("change my appointment to friday", None, None),  # a move, not another service
    ],
)
def test_another_service_in_place_of_one(text: str, old: str | None, new: str | None) -> None:
    found = swap_pair(text, MATCHER.find)
    assert (_name(found[0]), _name(found[1])) == (old, new)


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("ay me equivoque, era barba", True),
        ("perdón, era pedicura", True),
        ("perdona, me he liado, quería pedicura", True),
        ("ay perdon, queria esculpidas", True),
        ("sorry I meant a blow dry", True),
        ("oops my bad, the beard trim", True),
        ("era barba", True),  # what is left of "no era corte, era barba"
        ("era para sacar turno de barba", False),  # "I'd like to book", an opener
        ("perdón, era para sacar turno de barba", False),
        ("en realidad quería manicura", True),
        ("actually I wanted a blow-dry", True),
        ("perdón, quería preguntar cuánto sale la barba", False),  # a question comes
        ("sorry, I wanted to ask about parking", False),
        ("quería un turno para barba", False),  # a request, nothing was wrong
        ("perdón la hora", False),
    ],
)
def test_a_service_said_by_mistake(text: str, meant: bool) -> None:
    assert corrects_service(text) is meant


def test_a_booking_named_to_be_moved() -> None:
    assert moves_the("can you move the nail trim to friday at 10:30 too?")
    assert moves_the("could you bump my haircut to saturday?")
    assert moves_the("¿me pasás la manicura al lunes?")
    assert moves_the("cambiame el corte para el sábado")
    assert not moves_the("cambio de aceite el viernes")  # the service's own "cambio"
    assert not moves_the("put me down for a nail trim on friday")
    assert not moves_the("afinación pasado mañana a las 10")


def test_pasado_manana_is_a_day_not_a_move() -> None:
    assert not prefers("afinación pasado mañana a las 11")
    assert not prefers("la semana pasada me atendieron")
    assert prefers("pasámelo al viernes")
    assert prefers("¿me lo pasás a pasado mañana?")


@pytest.mark.parametrize(
    ("text", "ends"),
    [
        ("tengo que estar lista para las 12", True),
        ("I need to be done by 12", True),
        ("tengo que salir a las 12", True),
        ("I have to be out by noon", True),
        ("quiero turno para las 12", False),
        ("antes de las 12", False),  # a start before 12: a range, read elsewhere
    ],
)
def test_a_time_the_service_must_end_by(text: str, ends: bool) -> None:
    assert reading.ends_by(text) is ends


@pytest.mark.parametrize(
    ("text", "again", "undo"),
    [
        ("otro igual para el viernes siguiente", True, False),
        ("great, can I get the same again next week?", True, False),
        ("me arrepentí, volvé a reservarlo", False, True),
        ("sorry I changed my mind, can you book it again?", True, True),
        ("¿me repetís el precio?", False, False),
        ("one more question", False, False),
    ],
)
def test_the_same_booking_again(text: str, again: bool, undo: bool) -> None:
    assert (same_again(text), undoes_cancel(text)) == (again, undo)


def test_una_before_a_service_is_an_article_not_one_oclock() -> None:
    assert extract_when("mejor una coloración en vez del corte", NOW) is None
    found = extract_when("quiero una manicura a la una", NOW)
    assert found is not None and found.start.hour == 13


@pytest.mark.parametrize(
    ("text", "total"),
    [
        ("¿cuánto es en total?", True),
        ("¿cuánto le debo en total?", True),
        ("what's the total?", True),
        ("how much is it altogether?", True),
        ("¿y cuánto sería todo?", True),
        ("¿cuánto sale el corte?", False),
        ("how much is a haircut for two?", False),
    ],
)
def test_the_total_of_what_was_asked(text: str, total: bool) -> None:
    assert asks_total(text) is total


@pytest.mark.parametrize(
    "text",
    ["I need to leave my car at 9am", "me voy a la playa el sábado, ¿tenés a las 10?"],
)
def test_a_drop_off_or_a_plan_is_no_end_time(text: str) -> None:
    assert reading.ends_by(text) is False


@pytest.mark.parametrize(
    ("text", "other_times", "other_day"),
    [
        ("¿no tenés otro horario?", True, False),
        ("¿Tendrá otros horarios?", True, False),
        ("can we do another time", True, False),
        ("tenés en otro momento", True, False),
        ("any other times?", True, False),
        ("y otro día?", False, True),
        ("no me sirve ninguno, otro día", False, True),
        ("¿hay otra fecha?", False, True),
        ("and another day", False, True),
        ("bueno, otro día vengo", False, False),  # leaves; asks nothing
        ("a las 10", False, False),
    ],
)
def test_asking_for_other_times_or_another_day(
    text: str, other_times: bool, other_day: bool
) -> None:
    assert reading.asks_other_times(text) is other_times
    assert reading.asks_other_day(text) is other_day


@pytest.mark.parametrize(
    ("text", "leaves"),
    [
        ("bueno, otro día vengo, gracias", True),
        ("Lo voy a pensar y le aviso", True),
        ("después te escribo", True),
        ("I'll think about it and get back to you", True),
        ("maybe another day, thanks", True),
        ("¿y otro día?", False),  # a question: the flow answers it
        ("más tarde te paso a buscar", False),
        ("otro día", False),
        ("anything later?", False),
        ("can we do another time", False),  # asks for other times
        ("tenes en otro momento", False),
        ("maybe another time, thanks", True),
    ],
)
def test_leaving_a_question_for_now(text: str, leaves: bool) -> None:
    assert leaves_for_now(text) is leaves


def test_leaving_for_now_closes_the_topic() -> None:
    assert closes_topic("hmm I'll think about it and get back to you, cheers") == ACK


@pytest.mark.parametrize(
    ("text", "week"),
    [
        ("qué días tenés libre para coloración esta semana?", True),
        ("what days do you have next week?", True),
        ("¿qué días tienen la semana que viene?", True),
        ("qué días tenés el viernes?", False),  # a day: its times
        ("what days do you have tomorrow?", False),
    ],
)
def test_a_week_asked_about_is_not_its_first_day(text: str, week: bool) -> None:
    # "esta semana" reads as today's date; the booking flow lists the week's days instead
    when = extract_when(text, NOW)
    assert when is not None and when.has_date
    assert reading.names_week(when.text) is week


@pytest.mark.parametrize(
    ("text", "free_days"),
    [
        ("hey, what days have you got free?", True),  # a booking: for what, then the days
        ("¿qué días tenéis hueco?", True),
        ("qué días tenés libre?", True),
        ("what days are you open?", False),  # the opening hours
        ("que dias atienden?", False),
    ],
)
def test_which_days_free_is_not_which_days_open(text: str, free_days: bool) -> None:
    assert asks_which_days(text) and asks_opening(text) is not free_days


@pytest.mark.parametrize(
    ("text", "number"),
    [("2", 2), ("2 please", 2), ("ok 3", 3), ("dale, 5", 5), ("a las 2", None), ("2pm", None),
     ("14 hs", None), ("la 2", None), ("2 y media", None)],
)  # fmt: skip
def test_a_bare_number_is_said_alone(text: str, number: int | None) -> None:
    assert reading.bare_number(text) == number


@pytest.mark.parametrize(
    ("text", "keeps"),
    [
        ("el martes a la misma hora", True),
        ("tuesday at the same time", True),
        ("friday same time", True),
        ("friday at 3", False),
    ],
)
def test_the_time_already_held(text: str, keeps: bool) -> None:
    assert reading.keeps_time(text) is keeps


def test_a_finer_part_of_the_day() -> None:
    assert reading.period_hours("late afternoon if possible") == (16, 24)
    assert reading.period_hours("early morning please") == (0, 10)
    assert reading.period_hours("in the afternoon") == (12, 24)
