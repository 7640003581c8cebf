"""Full-text search of messages: safe queries from user text, on both backends.

User text is never passed to a query parser as syntax. It is split into words (letters
and digits only), and every word must appear in the message (AND), accents ignored:

- SQLite: the `messages_fts` FTS5 table (migration 0003) with the `unicode61
  remove_diacritics 2` tokenizer; each word is a quoted FTS5 string, so `OR`, `NEAR`,
  `*`, `"` or `-` typed by a user are plain text.
- PostgreSQL: `to_tsvector('simple', body)`, the exact expression of the GIN index of
  migration 0003. The 'simple' configuration keeps accents ("coloración"), so each word
  becomes an OR of its Spanish spellings ("coloracion" | "coloración" | ...): the index
  still answers it, and "coloracion" finds "Coloración" as it does on SQLite.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import product

from sqlalchemy import ColumnElement, bindparam, func, literal_column, text

from hablo.db.models import Message

MAX_TERMS = 8
MAX_TERM_LENGTH = 64
# A word's spellings sent to PostgreSQL; beyond this only the commonest ones are kept.
MAX_VARIANTS = 48
_WORD = re.compile(r"[^\W_]+")
_ACUTE = {"a": "á", "e": "é", "i": "í", "o": "ó", "u": "ú"}


def fold(word: str) -> str:
    """Lower case without diacritics ("Coloración" -> "coloracion", "Ñandú" -> "nandu")."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def search_terms(query: str) -> list[str]:
    """The words of a user's query, folded, deduplicated, in order (at most MAX_TERMS)."""
    terms: list[str] = []
    for word in _WORD.findall(unicodedata.normalize("NFC", query)):
        folded = fold(word)[:MAX_TERM_LENGTH]
        if folded and folded not in terms:
            terms.append(folded)
    return terms[:MAX_TERMS]


def spellings(plain: str, typed: str | None = None) -> list[str]:
    """How a folded word may be written in Spanish: at most one acute accent, any ñ, and
    ü in güe/güi. `typed` (the word as the user wrote it) is always included."""
    n_positions = [i for i, ch in enumerate(plain) if ch == "n"]
    accent_positions = [None, *[i for i, ch in enumerate(plain) if ch in _ACUTE]]
    dieresis = [
        i
        for i, ch in enumerate(plain)
        if ch == "u" and i > 0 and plain[i - 1] == "g" and plain[i + 1 : i + 2] in ("e", "i")
    ]
    found: list[str] = [plain] if typed is None or typed == plain else [typed, plain]
    # Fewer changes first, so the cap drops the least likely spellings.
    tilde_sets = sorted(product((False, True), repeat=min(len(n_positions), 3)), key=sum)
    for tildes in tilde_sets:
        for accent in accent_positions:
            for umlaut in (False, True) if dieresis else (False,):
                chars = list(plain)
                for position, on in zip(n_positions, tildes, strict=False):
                    if on:
                        chars[position] = "ñ"
                if umlaut:
                    for position in dieresis:
                        chars[position] = "ü"
                if accent is not None and not (umlaut and accent in dieresis):
                    chars[accent] = _ACUTE[plain[accent]]
                spelling = "".join(chars)
                if spelling not in found:
                    found.append(spelling)
                if len(found) >= MAX_VARIANTS:
                    return found
    return found


def postgres_tsquery(query: str) -> str:
    """to_tsquery text: (spellings of word 1) & (spellings of word 2) & ...

    Words are letters and digits only, and are still quoted as tsquery lexemes."""
    typed = {fold(w)[:MAX_TERM_LENGTH]: w.lower() for w in _WORD.findall(query)}
    groups = []
    for term in search_terms(query):
        lexemes = " | ".join(_quote_lexeme(s) for s in spellings(term, typed.get(term)))
        groups.append(f"({lexemes})")
    return " & ".join(groups)


def sqlite_match(query: str) -> str:
    """FTS5 MATCH text: every word as a quoted string (implicit AND)."""
    return " ".join('"' + term.replace('"', '""') + '"' for term in search_terms(query))


def _quote_lexeme(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def matches(dialect: str, query: str) -> ColumnElement[bool]:
    """WHERE condition on `messages` for the user's query (terms must be non-empty)."""
    if dialect == "postgresql":
        # Literal config, so the planner matches the index expression exactly.
        document = func.to_tsvector(literal_column("'simple'::regconfig"), Message.body)
        tsquery = func.to_tsquery(
            literal_column("'simple'::regconfig"), bindparam("fts_query", postgres_tsquery(query))
        )
        condition: ColumnElement[bool] = document.op("@@")(tsquery)
        return condition
    return text(
        "messages.rowid IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH :fts_query)"
    ).bindparams(fts_query=sqlite_match(query))  # type: ignore[return-value]


def snippet(body: str, query: str, width: int = 160) -> str:
    """Plain text around the first matching word (no markup: the caller escapes)."""
    flat = " ".join(body.split())
    if len(flat) <= width:
        return flat
    folded = fold(flat)
    hits = [folded.find(term) for term in search_terms(query)]
    first = min((h for h in hits if h >= 0), default=0)
    # fold() may shorten text with decomposed characters: positions are close enough.
    start = max(0, min(first - width // 3, len(flat) - width))
    piece = flat[start : start + width]
    return ("…" if start > 0 else "") + piece + ("…" if start + width < len(flat) else "")
