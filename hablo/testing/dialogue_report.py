"""Results of dialogue cases and how they are printed: a transcript of each failing case
(or one JSON object per case), one line per passing case, and a last JSON line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hablo.testing.dialogue_file import Step, compile_expectation, fold

FALLBACK_SKILL = "fallback"
BookingKey = tuple[str, str]  # (service name, local start "YYYY-MM-DDTHH:MM")


@dataclass
class StepResult:
    user: str | None  # None: a reminder step (the bot wrote first)
    replies: list[str]
    skill: str
    failures: list[str] = field(default_factory=list)
    reminder: bool = False

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"user": self.user}
        if self.reminder:  # only on reminder steps: the other steps' objects stay as they were
            out["reminder"] = True
        out.update(replies=self.replies, skill=self.skill, failures=self.failures)
        return out


@dataclass
class CaseResult:
    name: str
    path: str
    steps: list[StepResult]
    # None: the case has no `bookings:` key, so no check.
    expected_bookings: list[BookingKey] | None
    actual_bookings: list[BookingKey]
    # Something that stopped the case (a turn that never got delivered, ...).
    error: str | None = None

    @property
    def wrong_bookings(self) -> list[BookingKey]:
        if self.expected_bookings is None:
            return []
        return [b for b in self.actual_bookings if b not in set(self.expected_bookings)]

    @property
    def missing_bookings(self) -> list[BookingKey]:
        if self.expected_bookings is None:
            return []
        return [b for b in self.expected_bookings if b not in set(self.actual_bookings)]

    @property
    def failed_steps(self) -> int:
        return sum(1 for s in self.steps if s.failures)

    @property
    def passed(self) -> bool:
        return (
            self.error is None
            and not self.failed_steps
            and not self.wrong_bookings
            and not self.missing_bookings
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.path,
            "passed": self.passed,
            "error": self.error,
            "steps": [s.as_json() for s in self.steps],
            "bookings": {
                "expected": _booking_dicts(self.expected_bookings),
                "actual": _booking_dicts(self.actual_bookings),
                "wrong": _booking_dicts(self.wrong_bookings),
                "missing": _booking_dicts(self.missing_bookings),
            },
        }


def _booking_dicts(bookings: Iterable[BookingKey] | None) -> list[dict[str, str]] | None:
    if bookings is None:
        return None
    return [{"service": service, "start": start} for service, start in bookings]


def check_step(step: Step, replies: Sequence[str], skill: str) -> list[str]:
    """The step's failed expectations, each as one readable line."""
    failures = []
    text = fold("\n".join(replies))
    if step.bot is not None and not compile_expectation(step.bot).search(text):
        failures.append(f"bot: /{step.bot}/ not found in the reply")
    if step.not_bot is not None:
        found = compile_expectation(step.not_bot).search(text)
        if found is not None:
            failures.append(f"not_bot: /{step.not_bot}/ matched {found.group(0)!r}")
    if step.skill is not None and skill != step.skill:
        failures.append(f"skill: expected {step.skill}, answered by {skill}")
    if step.not_skill is not None and skill == step.not_skill:
        failures.append(f"not_skill: answered by {skill}")
    return failures


def summary(results: Sequence[CaseResult]) -> dict[str, int]:
    return {
        "cases": len(results),
        "passed": sum(1 for r in results if r.passed),
        "failed_steps": sum(r.failed_steps for r in results),
        "wrong_bookings": sum(len(r.wrong_bookings) for r in results),
        "missing_bookings": sum(len(r.missing_bookings) for r in results),
    }


def case_lines(result: CaseResult) -> list[str]:
    """`ok  name` for a passing case; the annotated transcript of a failing one."""
    if result.passed:
        return [f"ok    {result.name}"]
    lines = [f"FAIL  {result.name}  ({result.path})"]
    for step in result.steps:
        if step.user is None:
            lines.append("  (the bot sends the booking reminder)")
        else:
            lines.append(f"  you> {_indented(step.user, 7)}")
        for reply in step.replies or ["(no reply)"]:
            lines.append(f"  bot> {_indented(reply, 7)}")
        lines.append(f"       [skill: {step.skill}]")
        lines.extend(f"    ✗ {failure}" for failure in step.failures)
    if result.error:
        lines.append(f"    ✗ {result.error}")
    for service, start in result.wrong_bookings:
        lines.append(f"    ✗ wrong booking (not expected): {service} {start}")
    for service, start in result.missing_bookings:
        lines.append(f"    ✗ missing booking: {service} {start}")
    if result.wrong_bookings or result.missing_bookings:
        held = ", ".join(f"{s} {t}" for s, t in result.actual_bookings) or "none"
        lines.append(f"      the customer holds: {held}")
    return lines


def _indented(text: str, width: int) -> str:
    return text.replace("\n", "\n" + " " * width)


def report_lines(results: Sequence[CaseResult], *, as_json: bool) -> list[str]:
    """Everything to print; the last line is always the summary JSON object."""
    lines: list[str] = []
    for result in results:
        if as_json:
            lines.append(json.dumps(result.as_json(), ensure_ascii=False))
        else:
            lines.extend(case_lines(result))
    lines.append(json.dumps(summary(results)))
    return lines
