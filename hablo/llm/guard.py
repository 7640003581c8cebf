"""The fact guard: every number and link in the model's reply must come from what hablo
gave it. A reply that invents one is dropped and the skill's own reply is sent instead.

* Money (a number next to a currency sign, code or word) must be an amount of this
  turn's tool result or, when no tool ran, of the priced services list. Never the
  customer's words (a "¿me lo dejás a $1000?" is no price) nor the other lines of the
  business context (its date and phone digits are no prices either).
* Other numbers (times, dates, counts) may come from the tool result, the business
  context or the customer's message.
* A link must appear verbatim in the tool result (payment links are never made up).

It compares digits, not meaning: "$8.000", "8000" and "8.000,00" are the same amount,
and a "17:00" in the facts also allows "5" and "5:00" (people say "5 de la tarde").
Numbers spelled out in words are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# A run of digits with inner separators: 8.000 / 8,000.50 / 17:00 / 11/3 / 2027-03-11.
_NUMBER = re.compile(r"\d+(?:[.,:/\-]\d+)*")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
# "10:00", "11/3", "2027-03-11": a time or a date, never an amount.
_TIME_OR_DATE = re.compile(r"[:/]|^\d{4}-\d{1,2}-\d{1,2}$")
# What format_money writes ("$8.000", "US$8.000", "R$ 8,50", "8,50 €") and how people
# name money; codes in capitals only, so a word like "pen" is not a currency.
_MARK = (
    r"(?:[$€£¥₹₩]|\b(?:ARS|USD|EUR|BRL|MXN|CLP|COP|UYU|PEN|PYG|BOB|GBP)\b"
    r"|(?i:\b(?:pesos?|d[oó]lar(?:es)?|dollars?|euros?|reais|reales)\b))"
)
_MARK_BEFORE = re.compile(_MARK + r"\s*$")
_MARK_AFTER = re.compile(r"^\s*" + _MARK)
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()\[\]{}]+", re.IGNORECASE)
_URL_TAIL = ".,;:!?¡¿"  # sentence punctuation after a link is not part of it


@dataclass(frozen=True)
class Facts:
    """What the model was given this turn, by how far each part may be trusted."""

    tool_results: Sequence[str] = ()  # this turn's skill answer; empty: no tool ran
    prices: Sequence[str] = ()  # the priced services list of the business context
    context: Sequence[str] = ()  # the rest of the system prompt (date, hours, phone...)
    customer: str = ""  # the customer's message


@dataclass(frozen=True)
class GuardVerdict:
    ok: bool
    unknown: tuple[str, ...] = ()


def _forms(token: str) -> set[str]:
    """The ways a (non-money) number found in trusted text may be repeated."""
    forms = {token, re.sub(r"\D", "", token)}
    if "-" in token and ":" in token:  # a range of times, "09:00-18:00": each end
        for part in token.split("-"):
            forms.update(_forms(part))
    if re.search(r"[:/\-]", token):  # a date or time: its parts ("11/3" -> the 11th)
        forms.update(part for part in re.split(r"[:/\-]", token) if part)
    time = _TIME.match(token)
    if time:
        hour, minute = int(time.group(1)), time.group(2)
        twelve = hour % 12 or 12
        forms.update({str(hour), str(twelve), f"{twelve}:{minute}", f"{hour:02d}:{minute}"})
    return forms


def allowed_numbers(sources: Iterable[str]) -> set[str]:
    allowed: set[str] = set()
    for text in sources:
        for token in _NUMBER.findall(_without_urls(text)):
            allowed.update(_forms(token))
    return allowed


def _value(token: str) -> str:
    """An amount's digits without zero decimals: "8.000,00", "8,000" and "8000" agree."""
    return re.sub(r"\D", "", re.sub(r"[.,]00$", "", token))


def _marked(text: str, match: re.Match[str]) -> bool:
    """A number next to a currency mark (and not a time or date) is money."""
    if _TIME_OR_DATE.search(match.group()):
        return False
    return bool(
        _MARK_BEFORE.search(text[: match.start()]) or _MARK_AFTER.match(text[match.end() :])
    )


def money_amounts(sources: Iterable[str]) -> set[str]:
    """The amounts written as money in `sources` (a date's or a phone's digits are not)."""
    out: set[str] = set()
    for text in sources:
        text = _without_urls(text)
        for match in _NUMBER.finditer(text):
            if _marked(text, match):
                out.add(_value(match.group()))
    return out - {""}


def urls(text: str) -> list[str]:
    return [m.group().rstrip(_URL_TAIL) for m in _URL.finditer(text)]


def _without_urls(text: str) -> str:
    # A link's digits ("/c/8000") are neither an amount nor a time.
    return _URL.sub(" ", text)


def check(reply: str, facts: Facts) -> GuardVerdict:
    """ok when every number and link of `reply` is backed by `facts` (see the module)."""
    tools_text = " ".join(facts.tool_results)
    unknown = [url for url in urls(reply) if url not in tools_text]
    allowed = allowed_numbers([*facts.tool_results, *facts.prices, *facts.context, facts.customer])
    prices = money_amounts(facts.tool_results if facts.tool_results else facts.prices)
    # An amount the customer named is money even when the model drops the "$".
    customer_money = money_amounts([facts.customer])
    text = _without_urls(reply)
    for match in _NUMBER.finditer(text):
        token = match.group()
        value = _value(token)
        said_by_customer = value in customer_money and not _TIME_OR_DATE.search(token)
        if _marked(text, match) or said_by_customer:
            if value not in prices:
                unknown.append(token)
        elif token not in allowed and re.sub(r"\D", "", token) not in allowed:
            unknown.append(token)
    return GuardVerdict(not unknown, tuple(unknown))
