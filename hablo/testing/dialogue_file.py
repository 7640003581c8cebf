"""Dialogue test files (YAML): pydantic models, loading, and one-line errors.

The format is documented in docs/dialogue-tests.md. Every problem in a file is reported
before any case runs, as one line naming the file, the case and the field.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

YAML_SUFFIXES = (".yaml", ".yml")


class DialogueFileError(Exception):
    """A dialogue file cannot be used; the message is one line naming file, case, field."""


def fold(text: str) -> str:
    """Accent-insensitive form: NFKD with the combining marks removed ("Sí" -> "Si")."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def compile_expectation(pattern: str) -> re.Pattern[str]:
    """A `bot`/`not_bot` regex, folded like the replies it is searched in."""
    return re.compile(fold(pattern), re.IGNORECASE)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BookingSpec(_Strict):
    service: str = Field(min_length=1)
    # A local time in the tenant's zone, minute precision ("2027-03-11T11:00").
    start: datetime

    @field_validator("start", mode="before")
    @classmethod
    def _local_iso(cls, value: Any) -> datetime:
        if not isinstance(value, str):
            raise ValueError("must be a local ISO time like 2027-03-11T11:00")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO time like 2027-03-11T11:00") from None
        if parsed.tzinfo is not None:
            raise ValueError(f"{value!r} has an offset: write the tenant's local time")
        if parsed.second or parsed.microsecond:
            raise ValueError(f"{value!r}: bookings have minute precision")
        return parsed

    def key(self) -> tuple[str, str]:
        return self.service, self.start.strftime("%Y-%m-%dT%H:%M")


def _field_error(field: str, message: str) -> PydanticCustomError:
    """An error of a whole step or case that belongs to one of its fields: `_parse_case`
    names that field after the step's place (steps[2].user)."""
    return PydanticCustomError("dialogue_field", message, {"field": field})


class Step(_Strict):
    """The customer writes `user`, or (`reminder: true`) the bot sends the reminder of the
    customer's next booking, as the reminder job does; `bot`/`not_bot` check either."""

    user: str | None = Field(default=None, min_length=1)
    reminder: bool = False
    bot: str | None = None
    not_bot: str | None = None
    skill: str | None = Field(default=None, min_length=1)
    not_skill: str | None = Field(default=None, min_length=1)

    @field_validator("reminder", mode="before")
    @classmethod
    def _only_true(cls, value: Any) -> bool:
        # Plain scalars stay text (see _StringsLoader): `reminder: true` arrives as "true".
        if value is True or (isinstance(value, str) and value.casefold() == "true"):
            return True
        raise ValueError("only `true`: the bot sends the customer's reminder here")

    @field_validator("bot", "not_bot")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                compile_expectation(value)
            except re.error as exc:
                raise ValueError(f"invalid regex {value!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _user_or_reminder(self) -> Step:
        if self.reminder and self.user is not None:
            raise _field_error(
                "reminder", "a step is the customer's (user) or a reminder, not both"
            )
        if not self.reminder and self.user is None:
            raise _field_error("user", "Field required (or `reminder: true`)")
        if self.reminder and (self.skill or self.not_skill):
            field = "skill" if self.skill else "not_skill"
            raise _field_error(field, "a reminder step checks only bot / not_bot")
        return self


class Given(_Strict):
    bookings: list[BookingSpec] = Field(default_factory=list)


class DialogueCase(_Strict):
    name: str = Field(min_length=1)
    given: Given | None = None
    steps: list[Step] = Field(min_length=1)
    # None: no check; []: the customer must end with no active booking.
    bookings: list[BookingSpec] | None = None

    @model_validator(mode="after")
    def _reminder_after_a_booking(self) -> DialogueCase:
        if self.steps[0].reminder:
            raise _field_error(
                "steps[0].reminder", "a reminder needs a booking made in an earlier step"
            )
        return self


@dataclass(frozen=True)
class LoadedCase:
    path: Path
    index: int  # 1-based position in its file
    case: DialogueCase

    @property
    def label(self) -> str:
        return f"{self.path}: case {self.index} {self.case.name!r}"


class _StringsLoader(yaml.SafeLoader):
    """Plain scalars stay strings: a customer writing `no`, `13:15` or `2027-03-11` must
    not become False, 795 (YAML 1.1 sexagesimal) or a date. Only `null`/`~` keep meaning."""


_StringsLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def expand_paths(arguments: Sequence[str | Path]) -> list[Path]:
    """Files as given; a directory means its *.yaml / *.yml files, sorted by name."""
    out: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())
            if not found:
                raise DialogueFileError(f"{path}: no *.yaml or *.yml files in this directory")
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise DialogueFileError(f"{path}: no such file or directory")
    return out


def load_file(path: Path) -> list[LoadedCase]:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DialogueFileError(f"{path}: cannot read: {exc}") from None
    try:
        data = yaml.load(source, Loader=_StringsLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise DialogueFileError(f"{path}: invalid YAML{where}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise DialogueFileError(f"{path}: invalid YAML: {exc}") from None
    if data is None:
        raise DialogueFileError(f"{path}: the file is empty (expected a list of cases)")
    if not isinstance(data, list):
        raise DialogueFileError(f"{path}: expected a YAML list of cases, not a mapping or text")
    cases: list[LoadedCase] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(data, 1):
        case = _parse_case(path, index, raw)
        if case.name in seen:
            raise DialogueFileError(
                f"{path}: case {index} {case.name!r}, field name: duplicate of case "
                f"{seen[case.name]} (names are unique in a file)"
            )
        seen[case.name] = index
        cases.append(LoadedCase(path, index, case))
    return cases


def _parse_case(path: Path, index: int, raw: Any) -> DialogueCase:
    name = raw.get("name") if isinstance(raw, dict) else None
    label = f"case {index} {name!r}" if isinstance(name, str) and name else f"case {index}"
    if not isinstance(raw, dict):
        raise DialogueFileError(f"{path}: {label}: expected a mapping with name and steps")
    try:
        return DialogueCase.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        # An unknown key first: a typo ("stepz") also explains the "missing" field.
        error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        field = _field_path(error["loc"]) or "?"
        if error["type"] == "dialogue_field":
            own = error.get("ctx", {})["field"]
            field = f"{field}.{own}" if error["loc"] else own
        message = error["msg"].removeprefix("Value error, ")
        raise DialogueFileError(f"{path}: {label}, field {field}: {message}") from None


def _field_path(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_cases(arguments: Sequence[str | Path], name_filter: str | None = None) -> list[LoadedCase]:
    """Every case of every file, validated; `name_filter` keeps names containing it
    (case-insensitive). Raises DialogueFileError on the first problem."""
    cases = [case for path in expand_paths(arguments) for case in load_file(path)]
    if name_filter:
        needle = name_filter.casefold()
        cases = [c for c in cases if needle in c.case.name.casefold()]
    return cases


def check_services(cases: Iterable[LoadedCase], services: Iterable[str]) -> None:
    """Every booking names one of the tenant's services (exact name, any case)."""
    names = sorted(services)
    known = {s.casefold() for s in names}
    for loaded in cases:
        case = loaded.case
        lists = [("bookings", case.bookings or [])]
        if case.given is not None:
            lists.insert(0, ("given.bookings", case.given.bookings))
        for field, bookings in lists:
            for i, booking in enumerate(bookings):
                if booking.service.casefold() not in known:
                    raise DialogueFileError(
                        f"{loaded.label}, field {field}[{i}].service: unknown service "
                        f"{booking.service!r} (the tenant has: {', '.join(names)})"
                    )


def load_skill_config(spec: str) -> tuple[str, dict[str, Any]]:
    """--skill-config NAME=FILE: a skill's config from a YAML (or JSON) mapping."""
    name, sep, file = spec.partition("=")
    if not sep or not name or not file:
        raise DialogueFileError(f"--skill-config {spec!r}: expected NAME=FILE, e.g. faq=faq.yaml")
    try:
        data = yaml.safe_load(Path(file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DialogueFileError(f"--skill-config {name}: cannot read {file}: {detail}") from None
    if not isinstance(data, dict):
        raise DialogueFileError(f"--skill-config {name}: {file} must hold a YAML mapping")
    return name, data
