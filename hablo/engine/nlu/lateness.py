"""A customer who says they will arrive late ("running about 15 min late", "we'll be a
couple of minutes late", "voy a llegar como 10 minutos tarde", "llego un poco
demorada"): the team has to know, and a person answers, not a menu. Late for something
else ("I'm late for work") is not such a message."""

from __future__ import annotations

import re

from hablo.engine.nlu.text import plain

_ARRIVES_LATE = re.compile(
    r"\b(?:"
    # "voy a llegar como 10 minutos tarde", "llegamos unos minutitos más tarde"
    r"(?:llego|llegare|llegaremos|voy a llegar|llegamos|estoy llegando|vamos a llegar) "
    r"(?:como |unos |tipo )?"
    r"(?:\d+|unos|un par de|diez|cinco|quince|veinte|media) ?(?:min\w*|minutitos|hora)?"
    r" (?:tarde|mas tarde)"
    # "voy con 10 minutos de retraso", "vamos con unos minutos de demora"
    r"|(?:voy|vamos|estoy|estamos) con (?:como |unos )?(?:\d+|unos|un par de|media) ?"
    r"(?:min\w*|hora)? de (?:retraso|demora|atraso)"
    # "llego un poco tarde", "vamos medio atrasados"
    r"|(?:llego|llegare|voy|vamos) (?:un poco |re |medio )?"
    r"(?:tarde|demorad[oa]s?|atrasad[oa]s?)"
    # "running about 15 min late", "we'll be a couple of minutes late", not "late for work"
    r"|(?:running|(?:i ll|i will|gonna|we ll|going to) be|i m|we re) "
    r"(?:(?:about|around|like|maybe|roughly|some) )?"
    r"(?:\d+ ?(?:min\w*)? |a (?:bit|little) |(?:a )?(?:few|couple)(?: of)? min\w* "
    r"|half an hour |an hour )?late\b"
    r"(?! (?:for|to) (?:work|school|class))"
    r")\b"
)


def arrives_late(text: str) -> bool:
    """Does the customer say they will be late to their booking?"""
    return bool(_ARRIVES_LATE.search(plain(text)))
