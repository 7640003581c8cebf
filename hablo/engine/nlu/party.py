"""Bookings for more than one person: "2 cortes", "para mí y mi hijo", "can my son get
one right after me?". Small businesses book families back to back; the booking flow
books each person's service one after the other."""

from __future__ import annotations

import re
import unicodedata
from itertools import pairwise

from hablo.engine.nlu.text import plain

_KIN = (
    r"(?:hij[oa]s?|marido|esposa|esposo|mujer|novi[oa]|amig[oa]s?|mama|papa|madre|padre"
    r"|herman[oa]s?|nen[ea]s?|pareja|sobrin[oa]s?|prim[oa]s?|suegr[oa]|abuel[oa]"
    r"|son|daughter|husband|wife|partner|boyfriend|girlfriend|friend|mom|mum|dad|mother"
    r"|father|brother|sister|kid|niece|nephew|perr[oa]|gat[oa]|mascota|dog|cat|puppy|kitten)"
)
# "para mí y mi hijo", "for me and my wife", "y también para mi hija", "my son too"
_COMPANION_RE = re.compile(
    rf"\b(?:(?:para |for )?(?:mi|me|myself|yo) (?:y|and) (?:para |for )?(?:mi|my) {_KIN}"
    rf"|(?:y|and|tambien|also|plus) (?:tambien |also )?(?:para |for )?(?:mi|my) {_KIN}"
    rf"|(?:para |for )?(?:mi|my) {_KIN} (?:tambien|too|as well)"
    rf"|(?:otro|otra|another) (?:para|for) (?:mi|my) {_KIN}"
    rf"|(?:mi|my) {_KIN} (?:y|and) (?:mi|my) {_KIN}"
    rf"|(?:mi|my) {_KIN} (?:y|and) (?:yo|me|i)\b"
    # "para mi hija a las 5 y para mí a las 4": each named with their own time between
    rf"|(?:para|for) (?:mi|my) {_KIN}\b.{{0,40}}?\b(?:y|and) (?:para|for) (?:mi|me|myself)\b)\b"
)
# "somos 3", "para tres personas", "we're 3", "there are 3 of us", "3 of us": a group.
_GROUP_RE = re.compile(
    r"\b(?:somos|seremos|vamos|vendriamos|we re|we are|there are|there ll be|para)\s+"
    r"(?P<n>2|3|4|dos|tres|cuatro|two|three|four)(?:\s+(?:personas|people|of us))?\b"
    r"(?!\s*(?:hs|horas?|am|pm|de la|y media))"
    r"|\b(?P<m>2|3|4|two|three|four)\s+of\s+us\b"
    # "queremos ir las dos", "vamos los tres", "the two of us": the people who come
    r"|\b(?:ir|venir|vamos|venimos|iriamos|vendriamos|queremos|somos|the)\s+(?:las|los)?\s*"
    r"(?P<k>dos|tres|cuatro|two|three|four)\b(?=\s+(?:a|of us|juntos|juntas|queremos)\b|$)"
)
_COUNT = {"2": 2, "3": 3, "4": 4, "dos": 2, "tres": 3, "cuatro": 4, "two": 2, "three": 3,
          "four": 4}  # fmt: skip
# Words after a number that make it no count of services: time, an age ("mi hijo de 8
# años", "3 years old"), a weight, "11 plus" (an exam), "8 cilindros" (an engine).
_NOT_COUNTED = (
    r"(?:horas?|hs|minutos?|dias?|semanas?|meses|veces|de|del|y|pm|am|hours?|days?|weeks?"
    r"|minutes?|times|o|or|a|en|in|anos|anitos|years?|yrs?|months?|kg|kgs|kilos?|lbs?"
    r"|pounds|plus|cilindros|cylinders"
    # "a las 4 tenés algo?", "3 preguntas: …": a verb or the questions, not people served
    r"|tenes|tienes|tienen|tenemos|podes|puedes|pueden|estas|abris|abren|atendes|atienden"
    r"|queres|quieres|necesitas|hay|vas|venis|vienes|preguntas|preguntitas|dudas|cosas"
    r"|questions|things|is|was|pasadas|pasaditas|otras)"
)
# "2 cortes", "dos turnos", "para tres personas", "two haircuts": a count of people served
# one after the other (not "2 horas", "dos de la tarde").
_PARTY_RE = re.compile(
    r"(?<!las )(?<!la )(?<!at )(?<!by )(?<!around )(?<!tipo )"  # "a las 4 …": a time
    r"\b(?P<n>2|3|4|dos|tres|cuatro|two|three|four)\s+"
    rf"(?!{_NOT_COUNTED}\b)(?:(?:small|little|big|large|tiny|old|young)\s+)?(?P<what>[a-z]+s)\b"
)  # "two small dogs": a size or an age before the thing counted


# "2 cortes cuánto es?", "5 sesiones", "10 lessons", "dos muelas": how many of a service.
_HOW_MANY_RE = re.compile(
    r"\b(?P<n>[2-9]|1[0-9]|20|dos|tres|cuatro|cinco|seis|diez|two|three|four|five|six|ten)\s+"
    rf"(?!(?:{_NOT_COUNTED}|personas|people)\b)(?:[a-z]+\s+){{0,2}}?[a-z]+s\b"
)
_WORD_COUNTS = {**_COUNT, "cinco": 5, "seis": 6, "diez": 10, "five": 5, "six": 6, "ten": 10}


def quantity(text: str) -> int:
    """How many of a service a price question asks about: "2 cortes" -> 2; else 1."""
    found = _HOW_MANY_RE.search(plain(text))
    if found is None:
        return 1
    n = found["n"]
    return int(n) if n.isdigit() else _WORD_COUNTS.get(n, 1)


def party_size(text: str) -> int:
    """How many people one booking request is for: "2 cortes", "para mí y mi hijo" -> 2.
    The booking flow books them one after the other."""
    said = plain(text)
    counted = _PARTY_RE.search(said)
    if counted is not None:
        return _COUNT[counted["n"]]
    group = _GROUP_RE.search(said)
    if group is not None and (
        group["m"]
        or not group.group(0).startswith("para")
        or group.group(0).endswith(("personas", "people"))
    ):
        return _COUNT[group["n"] or group["m"] or group["k"]]
    return 2 if _COMPANION_RE.search(said) else 1


# "mi pareja", "my partner": a person, even where a service is named after them.
_THEIR_PERSON = re.compile(rf"\b(?:mi|my|tu|your|su|his|her|our|nuestr[oa]) {_KIN}\b", re.I)


def names_their_people(text: str) -> bool:
    """ "a haircut for me and a beard trim for my brother": someone of theirs is named."""
    return _THEIR_PERSON.search(plain(text)) is not None


def without_their_people(text: str) -> str:
    """The message without the people it names as someone's ("mi pareja no puede"): read
    for services, "pareja" there is no "Terapia de pareja"."""
    return _THEIR_PERSON.sub(" ", text)


# A person of the customer's ("mi hijo", "my wife") ...
_THEIR_RE = re.compile(rf"\b(?:mi|my|a mi|for my|para mi) {_KIN}\b")
# ... in a request to book them too ("también", "right after me", "se puede", "quiere").
_ALSO_RE = re.compile(
    r"\b(?:tambien|too|also|as well|despues de mi|after me|justo despues|right after"
    r"|quiere|quieren|wants?|se puede|puede|pueden|can|could|get one|turno|cita"
    r"|appointment|book|lo mismo|la misma|the same|same for|igual)\b"
)


def for_companion(text: str) -> bool:
    """ "¿y para mi hijo también?", "mi hija quiere manicura después de mí": a booking
    for someone the customer brings, to go with the customer's own."""
    said = plain(text)
    return bool(_THEIR_RE.search(said) and _ALSO_RE.search(said))


# Where a person of the request is named: "para mí", "para mi hija", "for me", "my son",
# "yo": each one's part of the message starts there.
_PERSON_RE = re.compile(
    rf"\b(?:(?:para|for) (?:mi|me|myself|my|a mi)(?: {_KIN})?|(?:mi|my) {_KIN}|yo|myself"
    # "uno a las 10 y otro a las 11", "one at 10 and one at 11", "he at 4 and me at 5"
    r"|(?<!las )(?<!la )(?:uno|una|otro|otra|one|another|the other)(?= (?:a las|a la|at|@)\b)"
    r"|(?:ella|el|he|she|me|him|her)(?= (?:a las|a la|at|@)\b))\b"
)


def person_parts(text: str) -> list[str]:
    """The message cut where each person is named: "quiero turno para mí a las 3 y para
    mi hija a las 4 el jueves" -> ["quiero turno", "para mí a las 3 y", "para mi hija a
    las 4 el jueves"]; "corte a las 10 y para mi hija a las 11" -> ["corte a las 10 y",
    "para mi hija a las 11"] (the words before the first person named are the speaker's).
    The whole text when no one is named past its start; cut as written."""
    # Folded letter by letter (no accents, no punctuation): its positions are the text's.
    said = "".join(
        unicodedata.normalize("NFKD", c)[0].lower() if c.isalnum() else " " for c in text
    )
    starts = [m.start() for m in _PERSON_RE.finditer(said)]
    if not starts or (len(starts) < 2 and starts[0] == 0):
        return [text]
    cuts = sorted({0, *starts, len(text)})
    return [text[a:b].strip() for a, b in pairwise(cuts) if text[a:b].strip()]
