"""Public holidays said by name ("Good Friday", "el 16 de septiembre" is already a date,
"Navidad", "Thanksgiving", "Semana Santa") resolved to the tenant's own calendar: the
names come from the holidays the tenant has, in the language they were stored in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from hablo.engine.nlu.text import normalize

# Words too common in holiday names to name one ("día", "day", "of", "national"...).
_COMMON = frozenset(
    [
        "dia",
        "day",
        "de",
        "del",
        "la",
        "el",
        "los",
        "las",
        "of",
        "the",
        "national",
        "nacional",
        "holiday",
        "feriado",
        "festivo",
        "fiesta",
        "observed",
        "puente",
    ]
)
# Names customers use for a holiday that the calendar spells otherwise.
_ALIASES = {
    "semana santa": ("jueves santo", "viernes santo"),
    "easter": ("good friday", "easter monday"),
    "pascua": ("viernes santo", "lunes de pascua"),
    "christmas": ("christmas day",),
    "navidad": ("navidad", "natividad del senor"),
    "new year": ("new year's day",),
    "ano nuevo": ("ano nuevo",),
}


_ALIAS_WORDS = frozenset(w for alias in _ALIASES for w in alias.split())


class HolidayNames:
    """Immutable index of one tenant's holidays by name."""

    def __init__(self, holidays: Mapping[date, str]) -> None:
        self._by_name: dict[str, list[date]] = {}
        for day, name in holidays.items():
            for part in name.split(";"):  # the package joins same-day holidays with ";"
                key = normalize(part.split("(")[0]).replace("'", " ").strip()
                if len(key) >= 4:
                    self._by_name.setdefault(key, []).append(day)
        # "thanksgiving" names "Thanksgiving Day": a name by its uncommon words.
        self._distinctive = {
            name: frozenset(words)
            for name in self._by_name
            if (words := [w for w in name.split() if w not in _COMMON])
            and len(" ".join(words)) >= 6
        }
        self._words = frozenset(w for words in self._distinctive.values() for w in words)

    def find(self, text: str, today: date) -> tuple[date, str] | None:
        """The next date (today included) of a holiday the text names, else the latest,
        with the name found ("good friday")."""
        said = normalize(text).replace("'", " ").split()
        if not self._words.intersection(said) and not _ALIAS_WORDS.intersection(said):
            return None  # nearly every message: no word of any holiday's name
        norm = " " + " ".join(said) + " "
        wanted = [name for name in self._by_name if f" {name} " in norm]
        for alias, names in _ALIASES.items():
            if f" {alias} " in norm:
                wanted.extend(n for n in names if n in self._by_name)
        if not wanted:
            words = set(said)
            wanted = [name for name, need in self._distinctive.items() if need <= words]
        days = sorted({(d, name) for name in wanted for d in self._by_name[name]})
        if not days:
            return None
        upcoming = [d for d in days if d[0] >= today]
        return upcoming[0] if upcoming else days[-1]
