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


class HolidayNames:
    """Immutable index of one tenant's holidays by name."""

    def __init__(self, holidays: Mapping[date, str]) -> None:
        self._by_name: dict[str, list[date]] = {}
        for day, name in holidays.items():
            for part in name.split(";"):  # the package joins same-day holidays with ";"
                key = normalize(part.split("(")[0]).replace("'", " ").strip()
                if len(key) >= 4:
                    self._by_name.setdefault(key, []).append(day)

    def find(self, text: str, today: date) -> tuple[date, str] | None:
        """The next date (today included) of a holiday the text names, else the latest,
        with the name found ("good friday")."""
        norm = " " + normalize(text).replace("'", " ") + " "
        wanted = [name for name in self._by_name if f" {name} " in norm]
        for alias, names in _ALIASES.items():
            if f" {alias} " in norm:
                wanted.extend(n for n in names if n in self._by_name)
        if not wanted:
            wanted = [name for name in self._by_name if self._distinctive_in(name, norm)]
        days = sorted({(d, name) for name in wanted for d in self._by_name[name]})
        if not days:
            return None
        upcoming = [d for d in days if d[0] >= today]
        return upcoming[0] if upcoming else days[-1]

    @staticmethod
    def _distinctive_in(name: str, norm: str) -> bool:
        """ "thanksgiving" names "Thanksgiving Day": every uncommon word of the name."""
        words = [w for w in name.split() if w not in _COMMON]
        return bool(words) and len(" ".join(words)) >= 6 and all(f" {w} " in norm for w in words)
