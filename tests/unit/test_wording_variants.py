"""Every Spanish reply has a tú and an usted wording (Spain, Mexico, Colombia...) with the
same variables as the Argentine one and no voseo in it; a tenant's locale picks its wording;
no shipped reply names a service, a trade or a place (the demo is a hair salon, tenants
are not)."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from typing import Any

import pytest

from hablo.engine.catalogues import catalogues
from hablo.engine.templates import (
    TemplateRenderer,
    key_chain,
    neutral_templates,
    shipped_keys,
    shipped_templates,
    wording_variants,
)
from hablo.plugins.sdk import ServiceInfo, TenantInfo
from hablo.skills.smalltalk import SmalltalkSkill
from hablo.testing.context import DEMO_TENANT, skill_context

VARIANTS = ("es-tu", "es-usted")
NAMES = sorted(neutral_templates())
# (key, name) -> the source a tenant of that key starts from (every catalogue's wording).
SOURCES = {
    tuple(path.removesuffix(".j2").split("/")): source
    for path, source in shipped_templates(()).items()
}

SERVICE = ServiceInfo(
    id=uuid.UUID("00000000-0000-4000-8000-0000000000aa"),
    name="Masaje",
    description="",
    price_minor=900000,
    duration_minutes=45,
)
TENANT = TenantInfo(
    id=uuid.UUID("00000000-0000-4000-8000-0000000000bb"),
    slug="negocio",
    name="Negocio Uno",
    locale="es-MX",
    timezone="America/Mexico_City",
    currency="MXN",
    address="Calle 1 #23",
    phone=None,
    persona=None,
)
OPTIONS = {"options": ["jueves 11 de marzo, 10:00", "jueves 11 de marzo, 11:00"]}
BOOKINGS = {"bookings": ["Masaje, jueves 11 de marzo, 10:00", "Masaje, lunes 15 de marzo"]}
OPTIONS_TEXT = {"options_text": "Te puedo ofrecer: 1) jueves 11 de marzo, 10:00"}
SERVICES = {"services": ["Masaje", "Consulta"], "when": None}
PAY = {"service": "Masaje", "when": "jueves 11 de marzo, 10:00", "amount": "$ 900", "url": "x"}
HOURS = {"day_name": "sábado 13 de marzo", "relative": "mañana"}

# Values as the skills and the engine pass them (ctx.render calls), one dict per branch.
SAMPLES: dict[str, list[dict[str, Any]]] = {
    "ack": [{}],
    "fallback": [{"example": "Masaje"}, {"example": None}, {}],
    "flow_exit": [{}],
    "goodbye": [{}],
    "greeting": [{}],
    "handoff": [{"minutes": 5}],
    "handoff_back": [{}],
    "help": [{"example": "Masaje"}, {"example": None}],
    "hours_day": [
        {**HOURS, "intervals": [("09:00", "13:00"), ("16:00", "20:00")], "holiday": None},
        {**HOURS, "intervals": [], "holiday": "Día de la Independencia"},
        {**HOURS, "relative": None, "intervals": [], "holiday": None},
    ],
    "booking_cancel_confirm_all": [{"bookings": ["Corte, lunes 15", "Barba, martes 16"]}],
    "booking_cancelled_all": [{"bookings": ["Corte, lunes 15", "Barba, martes 16"]}],
    "booking_ends": [{"booking": "Corte, viernes 12", "minutes": 30, "end": "10:30"}],
    "price_sum": [{"total": "$13.000"}],
    "hours_holidays": [{"day_name": "miércoles 24 de marzo", "holiday": "Día de la Memoria"}],
    "hours_week": [{"week": [("lunes", [("09:00", "18:00")]), ("domingo", [])]}],
    "human_declined": [{}],
    "laugh": [{}],
    "ask_away": [{}],
    "location": [{}, {"tenant": replace(TENANT, address=None)}],
    "message_quarantined": [{}],
    "not_offered": [{"thing": "tatuajes", **SERVICES}],
    "offer_human": [{}],
    "phone": [{}, {"tenant": replace(TENANT, phone="+52 55 1234 5678")}],
    "plan_limit": [{}],
    "price_list": [{"items": [(SERVICE, "$ 9.000")]}, {"items": []}],
    "price_one": [{"service": SERVICE, "price": "$ 9.000"}],
    "price_total": [{"count": 2, "total": "$ 18.000"}],
    "rephrase": [{}],
    "recommend": [{"items": [(SERVICE, "$ 9.000")]}, {"items": []}],
    "skill_error": [{}],
    "thanks": [{}],
    "unknown_fact": [{"thing": "estacionamiento"}, {"thing": ""}],
    "booking_ask_service": [SERVICES, {**SERVICES, "when": "jueves 11 de marzo a las 10:00"}],
    "booking_reminder_info": [{"hours": 24}, {"hours": 2}, {"hours": 0}],
    "booking_confirm_many": [{"bookings": ["Masaje, jueves 11", "Consulta"], "price": "$ 9"}],
    "booking_done_many": [
        {"bookings": ["Masaje, jueves 11", "Consulta, jueves 11"], "remote": False},
        {"bookings": ["Sesión online, jueves 11", "Sesión online, jueves 11"], "remote": True},
    ],
    "booking_ask_day": [
        {"service": "Masaje"},
        {"service": "Masaje", "free_days": ["jueves 11 de marzo"]},
    ],
    "booking_ask_time": [{"day": "jueves 11 de marzo", "slots": ["10:00", "11:00"]}],
    "booking_day_full": [{"day": "jueves 11 de marzo", "service": "Masaje", **OPTIONS_TEXT}],
    "booking_unavailable": [{"reason": "Cerramos a las 20:00.", **OPTIONS_TEXT}],
    "booking_period_full": [OPTIONS_TEXT],
    "booking_past_closing": [
        {**OPTIONS_TEXT, "service": "Coloración", "minutes": 90, "close": "19:00"}
    ],
    "booking_closed_period": [{"day_hours": "El viernes 12 de marzo abrimos de 09:00 a 14:00."}],
    "booking_which_option": [OPTIONS],
    "booking_price_note": [{"service": "Masaje", "price": "$ 9.000"}],
    "booking_confirm": [{"service": "Masaje", "when": "jueves 11, 10:00", "price": "$ 9.000"}],
    "booking_done": [
        {"service": "Masaje", "when": "jueves 11, 10:00", "remote": False},
        {
            "service": "Masaje",
            "when": "jueves 11, 10:00",
            "tenant": replace(TENANT, address=None),
            "remote": False,
        },
        {"service": "Sesión online", "when": "jueves 11, 10:00", "remote": True},
    ],
    "booking_taken": [OPTIONS_TEXT],
    "booking_options": [OPTIONS],
    "booking_no_options": [{}],
    "booking_past": [
        {"day": "lunes 1 de marzo", "ask_service": True, **SERVICES},
        {"day": "lunes 1 de marzo", "ask_service": False, **SERVICES},
    ],
    "booking_too_far": [
        {"day": "1 de mayo", "last": "10 de abril", "ask_service": True, **SERVICES},
        {"day": "1 de mayo", "last": "10 de abril", "ask_service": False, **SERVICES},
    ],
    "booking_closed_ask_service": [
        {"day": "domingo 14 de marzo", "holiday": None, **SERVICES},
        {"day": "martes 16 de marzo", "holiday": "Natalicio de Benito Juárez", **SERVICES},
    ],
    "booking_next_options": [{"service": "Masaje", **OPTIONS_TEXT}],
    "booking_denied": [{}],
    "booking_abandoned": [{}],
    "booking_resume": [{"question": "¿A qué hora?"}],
    "booking_none": [{}],
    "booking_none_to_change": [{}],
    "booking_named": [{"holder": "Juan Pérez"}],
    "booking_notice": [
        {"days": 60, "hours": 1, "minutes": 60},
        {"days": 30, "hours": 24, "minutes": 1440},
        {"days": 60, "hours": 0, "minutes": 30},
        {"days": 90, "hours": 0, "minutes": 0},
    ],
    "booking_list": [BOOKINGS],
    "booking_pick": [BOOKINGS],
    "booking_cancel_confirm": [{"booking": "Masaje, jueves 11 de marzo, 10:00"}],
    "booking_cancelled": [{"booking": "Masaje, jueves 11 de marzo, 10:00"}],
    "booking_kept": [{}],
    "booking_reschedule_ask": [{"booking": "Masaje, jueves 11 de marzo, 10:00"}],
    "booking_rescheduled": [{"service": "Masaje", "when": "viernes 12, 10:00"}],
    "booking_reschedule_confirm": [{"service": "Masaje", "when": "viernes 12, 10:00"}],
    "booking_reminder": [{"service": "Masaje", "when": "jueves 11, 10:00"}],
    "booking_reminder_confirmed": [{}],
    "booking_closed_day": [
        {"day": "domingo 14 de marzo", "holiday": None, **OPTIONS_TEXT},
        {"day": "martes 16 de marzo", "holiday": "Natalicio de Benito Juárez", **OPTIONS_TEXT},
    ],
    "payment_link": [{**PAY, "deposit": True}, {**PAY, "deposit": False}],
    "payment_already_paid": [PAY],
    "payment_nothing_due": [{}],
    "payment_offline": [{}],
    "payment_methods_unknown": [
        {"online": "Por ahora no cobramos en línea.", "method": "tarjeta"},
        {"online": "", "method": "efectivo"},
    ],
    "payment_unavailable": [{}],
    "payment_received": [{"service": "Masaje", "when": "jueves 11 de marzo a las 10:00"}],
    "booking_why_not": [
        {"reason": "passed"},
        {"reason": "too_soon"},
        {"reason": "before_opening", "clock": "09:00"},
        {"reason": "after_closing", "clock": "20:00"},
        {"reason": "break", "start": "13:00", "end": "16:00"},
        {"reason": "overruns", "clock": "20:00"},
        {"reason": "taken"},
    ],
    "day_relative": [{"days": 0}, {"days": 1}, {"days": 5}],
    "choice_yes": [{}],
    "choice_no": [{}],
    "choice_separate": [{}],
    "booking_first_noted": [{}],
    "booking_hold_on": [{}],
    "booking_one_at_a_time": [{}],
    "booking_change_later": [{"booking": "Masaje, jueves 11 de marzo, 10:00"}, {"booking": None}],
    "choice_change_mine": [{}],
    "booking_move_or_new": [
        {"booking": "Masaje, jueves 11 de marzo, 10:00", "service": "Consulta"}
    ],
    "booking_period_noted": [
        {"start": "13:00", "end": ""},
        {"start": "", "end": "12:00"},
        {"start": "10:00", "end": "12:00"},
    ],
    "booking_no_room_then": [
        {"service": "Masaje", "minutes": 180, "start": "17:00", "end": ""},
        {"service": "Masaje", "minutes": 180, "start": "", "end": "12:00"},
        {"service": "Masaje", "minutes": 180, "start": "10:00", "end": "12:00"},
    ],
    "date_time": [{"day": "jueves 11 de marzo", "clock": "10:00"}],
}

# Voseo (the stressed last vowel: "querés", not "quieres"; "respondé", not "responde") and
# Argentine words a Mexican or Spanish customer would notice.
ARGENTINE = re.compile(
    r"\b(?:querés|tenés|podés|necesitás|confirmás|venís|sabés|respondé|escribime|decime"
    r"|contame|avisame|aboná|dale|che|b[áa]rbaro|joya"
    r"|turnos?|seña|ac[áa]|vos|ratito|cargad[ao]s?)\b",
    re.IGNORECASE,
)


def _renderer() -> TemplateRenderer:
    # As build_tenant_services builds it, with no tenant overrides.
    return TemplateRenderer({}, {})


def test_every_template_has_samples() -> None:
    # A template added without samples here would go untested in the other wordings.
    assert set(NAMES) == set(SAMPLES)


@pytest.mark.parametrize("key", [k for k in shipped_keys() if k != "es"])
@pytest.mark.parametrize("name", NAMES)
def test_every_wording_renders_with_the_argentine_lines_and_no_voseo(name: str, key: str) -> None:
    renderer = _renderer()
    language = key.split("-")[0]
    for values in SAMPLES[name]:
        values = {"tenant": TENANT, **values}
        argentine = renderer.render(name, "es", **values)
        text = renderer.render(name, language, variants=key_chain(key), **values)
        assert text.count("\n") == argentine.count("\n"), (name, text)
        assert not ARGENTINE.search(text), (name, key, text)


@pytest.mark.parametrize("key", [k for k in catalogues() if k != "es"])
def test_no_voseo_in_any_non_argentine_catalogue(key: str) -> None:
    for msgid, text in catalogues()[key].items():
        assert not ARGENTINE.search(text), (key, msgid, text)


def test_spain_words_its_replies_its_own_way() -> None:
    spain, tu = catalogues()["es-ES-tu"], catalogues()["es-tu"]
    assert spain, "es_ES@tu translates nothing"
    for msgid, text in spain.items():
        assert text != tu[msgid], msgid


def test_the_tenant_locale_picks_the_wording() -> None:
    renderer = _renderer()
    values: dict[str, Any] = {"tenant": TENANT, "service": "Masaje"}

    def say(locale: str, formality: str | None = None) -> str:
        variants = wording_variants(locale, formality)
        return renderer.render("booking_ask_day", "es", variants=variants, **values)

    usted = renderer.render("booking_ask_day", "es", variants=("es-usted",), **values)
    argentine = renderer.render("booking_ask_day", "es", **values)
    assert say("es-MX") == usted == "¿Para qué día desea su cita de Masaje?"
    assert say("es-AR") == argentine == "¿Para qué día querés el turno de Masaje?"
    assert say("es-ES") == "¿Para qué día quieres la cita de Masaje?"
    assert say("es-ES", "usted") == usted
    ask = {"tenant": TENANT, **SERVICES}
    spain = renderer.render("booking_ask_service", "es", wording_variants("es-ES", None), **ask)
    assert spain.startswith("¡Vale!")


def test_a_mexican_tenant_skill_context_speaks_usted() -> None:
    ctx = skill_context(SmalltalkSkill, tenant=replace(DEMO_TENANT, locale="es-MX"))
    text = ctx.render("help", "es", example="Manicura")
    assert "¿Qué necesita?" in text and not ARGENTINE.search(text)
    argentine = skill_context(SmalltalkSkill).render("help", "es", example="Manicura")
    assert "¿Qué necesitás?" in argentine


@pytest.mark.parametrize("key", ["es", "en", *VARIANTS, "es-ES"])
def test_fallback_names_the_example_it_is_given_and_no_other(key: str) -> None:
    renderer = _renderer()
    language = "en" if key == "en" else "es"
    bare = renderer.render("fallback", language, variants=(key,), tenant=TENANT)
    given = renderer.render("fallback", language, (key,), tenant=TENANT, example="Masaje")
    assert "masaje" not in bare.lower() and "masaje" in given
    assert not re.search(r"corte|haircut", bare + given, re.IGNORECASE)


# The demo salon's services and trade: built-in replies serve every kind of business.
TRADE = re.compile(
    r"\b(?:corte|pelo|haircut|barba|beard|manicur[ae]|uñas|nails|tintura|coloraci[óo]n"
    r"|brushing|peluquer[íi]a|barber[íi]a|sal[óo]n|salon|hairdresser)\b",
    re.IGNORECASE,
)


@pytest.mark.parametrize(("key", "name"), sorted(SOURCES))
def test_no_built_in_reply_names_a_service_or_a_trade(key: str, name: str) -> None:
    assert not TRADE.search(SOURCES[(key, name)]), (key, name)


# A place or a kind of shop ("come to the shop") is the demo's, not every business's.
PLACE = re.compile(
    r"\b(?:shop|store|salon|studio|clinic|office|local|tienda|consultorio|oficina"
    r"|Buenos Aires|CABA|Palermo|Argentina|Corrientes)\b",
    re.IGNORECASE,
)


@pytest.mark.parametrize(("key", "name"), sorted(SOURCES))
def test_no_built_in_reply_names_a_place(key: str, name: str) -> None:
    assert not PLACE.search(SOURCES[(key, name)]), (key, name)
