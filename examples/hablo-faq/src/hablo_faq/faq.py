"""A tenant's FAQ file: loading, validation, live reload and fuzzy matching.

The file is YAML the tenant edits by hand::

    faqs:
      - question:
          es: ["¿Tienen estacionamiento?", "¿Dónde estaciono?"]
          en: "Do you have parking?"
        answer:
          es: "Sí, hay estacionamiento gratis en la puerta."
          en: "Yes, there is free parking at the door."
        tags: [parking]

Nothing here knows about the engine: `FaqFile` turns a path into a `FaqBook` (re-read
when the file changes), and `FaqBook.best()` finds the answer to a message.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from hablo.engine.nlu.text import normalize
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    ValidationError,
    model_validator,
)
from rapidfuzz import fuzz

log = logging.getLogger("hablo_faq")

LANGUAGES: tuple[str, ...] = ("es", "en")
Language = Literal["es", "en"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

# Words that say "this is a question" but not what about: "¿tienen wifi?" and "¿tienen
# estacionamiento?" must not look alike because both start with "tienen". They are dropped
# before matching (unless nothing else is left).
_STOPWORDS = """
    a al algo alguna alguno como con cual cuales de del el en es esta estan hay la las lo
    los me mi nos o para pero por puede pueden puedo que se si su sus te tenes tengo tiene
    tienen un una uno unos unas usted ustedes y ya vos hacen hacer
    an and are at be can could do does for from have has how i if in is it of on or our
    any my the there to we what when where which will with would you your
"""
STOPWORDS = frozenset(_STOPWORDS.split())


def _as_list(value: Any) -> Any:
    """A single phrasing may be written as a string instead of a one-item list."""
    return [value] if isinstance(value, str) else value


Phrasings = Annotated[list[Text], BeforeValidator(_as_list)]


class FaqEntry(BaseModel):
    """One question (one or more phrasings per language) and its answer per language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: dict[Language, Phrasings]
    answer: dict[Language, Text]
    tags: tuple[Text, ...] = ()

    @model_validator(mode="after")
    def _not_empty(self) -> FaqEntry:
        if not any(self.question.values()):
            raise ValueError("question needs at least one phrasing (es or en)")
        if not self.answer:
            raise ValueError("answer needs at least one language (es or en)")
        return self

    def answer_in(self, language: str) -> tuple[str, str]:
        """(language, text): the answer in `language`, else in the other one."""
        answers: dict[str, str] = {str(lang): text for lang, text in self.answer.items()}
        lang = next(lang for lang in _preference(language) if lang in answers)
        return lang, answers[lang]


class FaqDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    faqs: list[FaqEntry]


class FaqError(Exception):
    """The FAQ file cannot be used; the message says why, for the tenant to fix."""


@dataclass(frozen=True)
class FaqMatch:
    index: int  # position in the file's `faqs` list (0-based)
    entry: FaqEntry
    score: float  # token_set_ratio, 0..100
    phrasing: str  # the phrasing that matched
    language: str  # the answer's language
    answer: str


@dataclass(frozen=True)
class _Candidate:
    index: int
    phrasing: str
    content: str  # normalized, without stopwords
    full: str  # normalized


def _preference(language: str) -> tuple[str, ...]:
    first = language if language in LANGUAGES else LANGUAGES[0]
    return (first, *(lang for lang in LANGUAGES if lang != first))


def _content(normalized: str) -> str:
    words = normalized.split()
    kept = [w for w in words if w not in STOPWORDS]
    return " ".join(kept or words)


class FaqBook:
    """A validated FAQ, ready to match. Immutable."""

    def __init__(self, entries: Sequence[FaqEntry]) -> None:
        self.entries = tuple(entries)
        self._by_language: dict[str, list[_Candidate]] = {lang: [] for lang in LANGUAGES}
        for index, entry in enumerate(self.entries):
            for lang, phrasings in entry.question.items():
                for phrasing in phrasings:
                    full = normalize(phrasing)
                    self._by_language[lang].append(
                        _Candidate(index, phrasing, _content(full), full)
                    )

    def __len__(self) -> int:
        return len(self.entries)

    def best(self, text: str, language: str, min_score: float) -> FaqMatch | None:
        """The entry whose phrasing best matches `text` with a score >= `min_score`,
        looking at the phrasings in `language` first, then the other language. The
        answer is in `language` when the entry has it."""
        full = normalize(text)
        if not full:
            return None
        content = _content(full)
        for lang in _preference(language):
            found = self._best_in(self._by_language[lang], content, full, min_score)
            if found is not None:
                candidate, score = found
                entry = self.entries[candidate.index]
                answer_lang, answer = entry.answer_in(language)
                return FaqMatch(
                    candidate.index, entry, score, candidate.phrasing, answer_lang, answer
                )
        return None

    @staticmethod
    def _best_in(
        candidates: Iterable[_Candidate], content: str, full: str, min_score: float
    ) -> tuple[_Candidate, float] | None:
        best: tuple[float, float, _Candidate] | None = None
        for candidate in candidates:
            score = fuzz.token_set_ratio(content, candidate.content)
            if score < min_score:
                continue
            # Ties (several phrasings contain all the message's words) go to the closest
            # phrasing overall.
            key = (score, fuzz.ratio(full, candidate.full), candidate)
            if best is None or key[:2] > best[:2]:
                best = key
        return None if best is None else (best[2], best[0])


def _location(loc: Sequence[int | str]) -> str:
    """('faqs', 2, 'answer', 'en') -> 'entry 3 (faqs[2]), field answer.en'."""
    parts = list(loc)
    where = ""
    if len(parts) >= 2 and parts[0] == "faqs" and isinstance(parts[1], int):
        where = f"entry {parts[1] + 1} (faqs[{parts[1]}])"
        parts = parts[2:]
    fields = ".".join(
        f"[{p}]" if isinstance(p, int) else str(p) for p in parts if p != "[key]"
    ).replace(".[", "[")
    if where and fields:
        return f"{where}, field {fields}"
    return where or (f"field {fields}" if fields else "top level")


def parse_faq(source: str, origin: str = "<faq>") -> FaqBook:
    """Parse and validate FAQ YAML; raise FaqError naming the line or entry and field."""
    try:
        raw = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        # PyYAML rejects an unquoted "?" inside [...] and {...}: FAQ questions hit it.
        hint = (
            ' (inside [...] or {...} put questions in quotes, ["¿Tienen wifi?"], '
            "or write one '- ' line per question)"
            if "'?'" in problem
            else ""
        )
        raise FaqError(f"{origin}: invalid YAML{at}: {problem}{hint}") from None
    if raw is None:
        raise FaqError(f"{origin}: the file is empty (expected a 'faqs:' list)")
    if not isinstance(raw, dict):
        raise FaqError(f"{origin}: expected a mapping with a 'faqs:' list at the top")
    try:
        document = FaqDocument.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        shown = "; ".join(f"{_location(e['loc'])}: {e['msg']}" for e in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise FaqError(f"{origin}: {shown}{more}") from None
    return FaqBook(document.faqs)


def load_faq(path: str | Path) -> FaqBook:
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FaqError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FaqError(f"{path}: cannot read: {exc}") from None
    return parse_faq(source, str(path))


class FaqFile:
    """A FAQ file that is re-read whenever it changes (mtime, size or inode: editors that
    save by rename count too). Thread-safe: one instance serves all of a tenant's
    conversations.

    `current()` returns the book, or None while the file is missing or broken; the error
    is logged once per version of the file (not once per message) and kept in `error`.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self.error: str | None = None
        self._book: FaqBook | None = None
        self._stamp: tuple[Any, ...] | None = None
        self._lock = threading.Lock()

    def _current_stamp(self) -> tuple[Any, ...]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return ("missing",)
        except OSError as exc:
            return ("unreadable", str(exc))
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def current(self, label: str = "") -> FaqBook | None:
        """The FAQ as the file is now. `label` prefixes log lines (e.g. the tenant)."""
        prefix = f"{label}: " if label else ""
        with self._lock:
            stamp = self._current_stamp()
            if stamp == self._stamp:
                return self._book
            self._stamp = stamp
            try:
                book = load_faq(self.path)
            except FaqError as exc:
                self._book, self.error = None, str(exc)
                log.error(
                    "%sFAQ unavailable, answering 'no tengo esa info' until it is fixed: %s",
                    prefix,
                    exc,
                )
                return None
            self._book, self.error = book, None
            log.info("%sFAQ loaded: %d entries from %s", prefix, len(book), self.path)
            return book
