"""Days said by name ("Good Friday", "Navidad", "Thanksgiving", "Semana Santa", "Boxing
Day"; "el 16 de septiembre" is already a date) resolved to dates: the tenant's own
holidays as stored, its country's public holidays in Spanish and English, and the feasts
of `feasts` (Easter-based ones computed for the year)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from hablo.engine.nlu.feasts import named_days
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
    "pascuas": ("viernes santo", "lunes de pascua"),
    "christmas": ("christmas day",),
    "new year": ("new year s day",),
    "ano nuevo": ("ano nuevo",),
    "4th of july": ("independence day",),
    "fourth of july": ("independence day",),
    "presidents day": ("washington s birthday",),
    "president s day": ("washington s birthday",),
    "mlk day": ("martin luther king jr day",),
    "labour day": ("labor day",),
    "dia del trabajo": ("dia del trabajo", "dia del trabajador"),
    "dia del trabajador": ("dia del trabajo", "dia del trabajador"),
    "bank holiday monday": ("spring bank holiday", "late summer bank holiday", "may day"),
    "accion de gracias": ("thanksgiving day",),
}
_ALIAS_WORDS = frozenset(w for alias in _ALIASES for w in alias.split())
# A holiday named by one uncommon word only after one of these ("on Thanksgiving", "el
# día de la Constitución"), not anywhere ("¿están en Constitución 1500?").
_BEFORE_ONE_WORD = frozenset(
    {"el", "on", "for", "this", "next", "dia", "day", "para", "over", "until", "till"}
    | {"after", "before", "este", "proximo", "hasta", "despues", "antes"}
)


def _key(name: str) -> str:
    return normalize(name.split("(")[0]).replace("'", " ").strip()


class _Index:
    """Holiday names -> dates, and the words that name one on their own."""

    def __init__(self, days: Iterable[tuple[date, str]]) -> None:
        self.by_name: dict[str, set[date]] = {}
        for day, name in days:
            for part in name.split(";"):  # the package joins same-day holidays with ";"
                key = " ".join(_key(part).split())
                if len(key) >= 4:
                    self.by_name.setdefault(key, set()).add(day)
        # "thanksgiving" names "Thanksgiving Day": a name by its uncommon words.
        self.distinctive = {
            name: frozenset(words)
            for name in self.by_name
            if (words := [w for w in name.split() if w not in _COMMON])
            and len(" ".join(words)) >= 6
        }
        self.words = frozenset(w for words in self.distinctive.values() for w in words)


class HolidayNames:
    """Immutable index of the days one tenant's customers may name: its own holidays,
    its country's in Spanish and English, and feasts of any year (`feasts`)."""

    def __init__(self, holidays: Mapping[date, str], country: str | None = None) -> None:
        self._own = tuple(holidays.items())
        self._country = country
        self._by_year: dict[int, _Index] = {}  # filled on first use, per year of "today"

    def _index(self, year: int) -> _Index:
        index = self._by_year.get(year)
        if index is None:
            days = [
                *self._own,
                *named_days(self._country, year),
                *named_days(self._country, year + 1),
            ]
            index = self._by_year[year] = _Index(days)
        return index

    @staticmethod
    def name_words(name: str) -> frozenset[str]:
        """The words that may have named the holiday `find` returned: its own and its
        aliases' ("semana santa" names "jueves santo")."""
        aliases = [alias for alias, names in _ALIASES.items() if name in names]
        return frozenset(" ".join([name, *aliases]).split())

    def find(self, text: str, today: date) -> tuple[date, str] | None:
        """The next date (today included) of a holiday the text names, else the latest,
        with the name found ("good friday")."""
        index = self._index(today.year)
        said = normalize(text).replace("'", " ").split()
        if not index.words.intersection(said) and not _ALIAS_WORDS.intersection(said):
            return None  # nearly every message: no word of any holiday's name
        norm = " " + " ".join(said) + " "
        wanted = [name for name in index.by_name if f" {name} " in norm]
        if not wanted:  # "Easter Monday" is itself a name; "Easter" stands for two
            for alias, names in _ALIASES.items():
                if f" {alias} " in norm:
                    wanted.extend(n for n in names if n in index.by_name)
        if not wanted:
            wanted = [
                name
                for name, need in index.distinctive.items()
                if need <= set(said)
                and (len(need) > 1 or (_after_a_lead(said, need) and not need & _EVERYDAY))
            ]
        days = sorted({(d, name) for name in wanted for d in index.by_name[name]})
        if not days:
            return None
        upcoming = [d for d in days if d[0] >= today]
        return upcoming[0] if upcoming else days[-1]


# Everyday words that are a holiday's only uncommon word: said alone they are the thing
# ("un certificado para el trabajo"), the holiday is said in full ("el día del trabajo").
_EVERYDAY = frozenset({"trabajo", "trabajador", "work", "labor", "labour"})
# "en el trabajo", "at the office": a place after an article, not a holiday's one word.
_PLACE_BEFORE = frozenset({"en", "a", "al", "de", "del", "desde", "at", "in", "from", "to", "into"})


def _after_a_lead(said: list[str], need: frozenset[str]) -> bool:
    (word,) = need
    return any(
        i > 0
        and said[i - 1] in _BEFORE_ONE_WORD
        and not (said[i - 1] in ("el", "the") and i > 1 and said[i - 2] in _PLACE_BEFORE)
        for i, w in enumerate(said)
        if w == word
    )
