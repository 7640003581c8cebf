"""Text normalisation shared by the classifier, language detection and entity matchers."""

from __future__ import annotations

import functools
import re
import unicodedata

_NON_WORD = re.compile(r"[^\w\s:/+@.]", re.UNICODE)
_SPACES = re.compile(r"\s+")
# "holaaaa" -> "holaa": keeps emphasis from blowing up the n-gram space.
_REPEATS = re.compile(r"(\w)\1{2,}")


def strip_accents(text: str, keep_enye: bool = False) -> str:
    if keep_enye:
        text = text.replace("ñ", "\0")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.replace("\0", "ñ") if keep_enye else stripped


@functools.lru_cache(maxsize=4096)
def normalize(text: str, keep_enye: bool = False) -> str:
    """Lowercase, accent-free, punctuation-light text. ñ becomes n, as people type it,
    unless `keep_enye`: catalog matching needs "uñas" (nails) apart from "unas" (some).
    Cached: one turn's readers (acts, services, dates, holidays) normalise the same text."""
    text = strip_accents(text.casefold(), keep_enye)
    text = _NON_WORD.sub(" ", text)
    text = _REPEATS.sub(r"\1\1", text)
    return _SPACES.sub(" ", text).strip()


_SIGNS = re.compile(r"[:/+@._'-]")


def plain(text: str) -> str:
    """`normalize` without the signs it keeps for times and addresses: only words and
    digits, one space apart, for rules that read whole phrases ("sí, gracias")."""
    return " ".join(_SIGNS.sub(" ", normalize(text)).split())


class Phrase:
    """A rule that reads a whole message for a phrase: `phrase(text)` is whether the
    pattern occurs in the `plain` text. One object in place of a one-line predicate per
    pattern; `pattern` stays at hand for rules that combine it with others."""

    __slots__ = ("pattern",)

    def __init__(self, pattern: str | re.Pattern[str]) -> None:
        self.pattern = re.compile(pattern)

    def __call__(self, text: str) -> bool:
        return self.pattern.search(plain(text)) is not None

    def __repr__(self) -> str:
        return f"Phrase({self.pattern.pattern!r})"


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", normalize(text))
