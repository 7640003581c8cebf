"""The fact guard: every number in the model's reply (prices, times, dates, counts) must
appear in what hablo gave it (tool results, business facts, the customer's own words).
A reply that invents one is dropped and the skill's own reply is sent instead.

It compares digits, not meaning: "$8.000", "8000" and "8,000" are the same number, and a
"17:00" in the facts also allows "5" and "5:00" (people say "5 de la tarde"). Numbers
spelled out in words are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# A run of digits with inner separators: 8.000 / 8,000.50 / 17:00 / 11/3 / 2027-03-11.
_NUMBER = re.compile(r"\d+(?:[.,:/\-]\d+)*")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_CURRENCY = re.compile(r"[$€£¥]\s*$")


@dataclass(frozen=True)
class GuardVerdict:
    ok: bool
    unknown: tuple[str, ...] = ()


def _forms(token: str) -> set[str]:
    """The ways a number found in trusted text may be repeated."""
    forms = {token, re.sub(r"\D", "", token)}
    if re.search(r"[:/\-]", token):  # a date or time: its parts ("11/3" -> the 11th)
        forms.update(part for part in re.split(r"[:/\-]", token) if part)
    time = _TIME.match(token)
    if time:
        hour, minute = int(time.group(1)), time.group(2)
        twelve = hour % 12 or 12
        forms.update({str(hour), str(twelve), f"{twelve}:{minute}", f"{hour:02d}:{minute}"})
    # 8.000,00 or 8000.00: the amount without its decimals
    decimals = re.match(r"^(.*\d)[.,]00$", token)
    if decimals:
        forms.add(re.sub(r"\D", "", decimals.group(1)))
    return forms


def allowed_numbers(sources: Iterable[str]) -> set[str]:
    allowed: set[str] = set()
    for text in sources:
        for token in _NUMBER.findall(text):
            allowed.update(_forms(token))
    return allowed


def _amounts(sources: Iterable[str]) -> set[str]:
    """Whole numbers of the sources that can be money (not a date's or a time's parts)."""
    out: set[str] = set()
    for text in sources:
        for token in _NUMBER.findall(text):
            if not re.search(r"[:/]", token):
                out.update({re.sub(r"\D", "", token), *_forms(token)} - {""})
    return out


def check(reply: str, sources: Iterable[str]) -> GuardVerdict:
    """ok when every number of `reply` is among the trusted `sources`' numbers; after a
    currency sign it must be an amount there (the "11" of "11/3" is no price)."""
    sources = list(sources)
    allowed = allowed_numbers(sources)
    amounts = _amounts(sources)
    unknown = []
    for match in _NUMBER.finditer(reply):
        token = match.group()
        whole = re.sub(r"\D", "", token)
        money = bool(_CURRENCY.search(reply[: match.start()]))
        pool = amounts if money else allowed
        if token in pool or whole in pool:
            continue
        unknown.append(token)
    return GuardVerdict(not unknown, tuple(unknown))
