"""`hablo nlu eval`: score a tenant's NLU on a labelled JSONL file.

Each line: {"text": ..., "lang": "es"|"en", "intent": name (or null: no intent),
optional "service": the service's name, optional "when": local ISO time "2027-03-11T17:00"}.

The NLU is built as the engine builds it for the tenant (its skills, its own examples,
its catalog), plus every built-in intent from the shipped example files, so intents whose
skill is not installed are scored too. "now" is a local time in the tenant's zone.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hablo.db.models import Tenant
from hablo.engine.nlu.model_store import DbModelStore, ModelStore
from hablo.engine.nlu.pipeline import ClassifierCache, NluPipeline
from hablo.engine.nlu.text import normalize
from hablo.engine.skillset import build_tenant_runtime
from hablo.engine.tenant_profile import TenantProfile, load_profile
from hablo.plugins.loader import SkillRegistry
from hablo.plugins.sdk import IntentSpec, Skill, SkillContext, SkillResult, Turn
from hablo.skills.examples import BUILTIN_INTENTS, load_examples

NO_INTENT = "(none)"
_MINUTE = "%Y-%m-%dT%H:%M"


class EvalInputError(ValueError):
    """The evaluation file (or --now) cannot be used; the message names the line."""


@dataclass(frozen=True)
class Case:
    line: int
    text: str
    lang: str
    intent: str | None
    service: str | None = None
    when: str | None = None  # local "YYYY-MM-DDTHH:MM"


@dataclass(frozen=True)
class Outcome:
    case: Case
    intent: str | None
    confidence: float
    best: str
    language: str
    service: str | None
    when: str | None


@dataclass(frozen=True)
class IntentRow:
    intent: str
    precision: float
    recall: float
    f1: float
    support: int
    predicted: int


@dataclass
class EvalReport:
    tenant: str
    now: datetime
    source: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.outcomes)

    @property
    def intent_hits(self) -> int:
        return sum(o.intent == o.case.intent for o in self.outcomes)

    @property
    def intent_accuracy(self) -> float | None:
        return _ratio(self.intent_hits, self.n)

    @property
    def service_cases(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.case.service is not None]

    @property
    def service_hits(self) -> int:
        return sum(_same_name(o.service, o.case.service) for o in self.service_cases)

    @property
    def service_accuracy(self) -> float | None:
        return _ratio(self.service_hits, len(self.service_cases))

    @property
    def when_cases(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.case.when is not None]

    @property
    def when_hits(self) -> int:
        return sum(o.when == o.case.when for o in self.when_cases)

    @property
    def when_accuracy(self) -> float | None:
        return _ratio(self.when_hits, len(self.when_cases))

    @property
    def language_accuracy(self) -> float | None:
        return _ratio(sum(o.language == o.case.lang for o in self.outcomes), self.n)

    def per_intent(self) -> list[IntentRow]:
        expected = Counter(_label(o.case.intent) for o in self.outcomes)
        predicted = Counter(_label(o.intent) for o in self.outcomes)
        hits = Counter(_label(o.intent) for o in self.outcomes if o.intent == o.case.intent)
        order = [i for i in BUILTIN_INTENTS if i in expected or i in predicted]
        order += sorted(k for k in (expected | predicted) if k not in order and k != NO_INTENT)
        if NO_INTENT in expected or NO_INTENT in predicted:
            order.append(NO_INTENT)
        rows = []
        for intent in order:
            p = _ratio(hits[intent], predicted[intent]) or 0.0
            r = _ratio(hits[intent], expected[intent]) or 0.0
            f1 = 2 * p * r / (p + r) if p + r else 0.0
            rows.append(IntentRow(intent, p, r, f1, expected[intent], predicted[intent]))
        return rows

    def summary(self) -> dict[str, Any]:
        return {
            "intent_accuracy": _round(self.intent_accuracy),
            "service_accuracy": _round(self.service_accuracy),
            "when_accuracy": _round(self.when_accuracy),
            "n": self.n,
        }

    def lines(self) -> list[str]:
        """The human-readable report; the last line is the JSON summary."""
        out = [
            f"NLU evaluation of tenant {self.tenant!r} on {self.source}: {self.n} lines, "
            f"now {self.now.strftime(_MINUTE)} {self.now.tzinfo}",
            "",
            f"{'intent':<14}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}{'predicted':>11}",
        ]
        rows = self.per_intent()
        for row in rows:
            out.append(
                f"{row.intent:<14}{row.precision:>10.4f}{row.recall:>8.4f}{row.f1:>8.4f}"
                f"{row.support:>9}{row.predicted:>11}"
            )
        scored = [r for r in rows if r.support]
        if scored:
            macro = sum(r.f1 for r in scored) / len(scored)
            out.append(f"{'macro f1':<14}{'':>10}{'':>8}{macro:>8.4f}{self.n:>9}")
        out.append("")
        out.append(
            f"intent accuracy    {_fmt(self.intent_accuracy)}  ({self.intent_hits}/{self.n})"
        )
        out.append(
            f"service accuracy   {_fmt(self.service_accuracy)}  "
            f"({self.service_hits}/{len(self.service_cases)} lines with a service)"
        )
        out.append(
            f"when accuracy      {_fmt(self.when_accuracy)}  "
            f"({self.when_hits}/{len(self.when_cases)} lines with a when)"
        )
        out.append(f"language accuracy  {_fmt(self.language_accuracy)}")
        misses = [o for o in self.outcomes if o.intent != o.case.intent]
        if misses:
            out.append("")
            out.append(f"misclassified ({len(misses)}):")
            for o in misses:
                got = o.intent or f"{NO_INTENT}, best {o.best}"
                out.append(
                    f"  line {o.case.line}: {o.case.text!r} expected {_label(o.case.intent)}, "
                    f"got {got} ({o.confidence:.2f})"
                )
            pairs = Counter((_label(o.case.intent), _label(o.intent)) for o in misses)
            top = ", ".join(f"{a}->{b} x{k}" for (a, b), k in pairs.most_common(5))
            out.append(f"  most confused: {top}")
        service_misses = [
            o for o in self.service_cases if not _same_name(o.service, o.case.service)
        ]
        if service_misses:
            out.append("")
            out.append(f"service misses ({len(service_misses)}):")
            for o in service_misses:
                out.append(
                    f"  line {o.case.line}: {o.case.text!r} expected {o.case.service}, "
                    f"got {o.service}"
                )
        when_misses = [o for o in self.when_cases if o.when != o.case.when]
        if when_misses:
            out.append("")
            out.append(f"when misses ({len(when_misses)}):")
            for o in when_misses:
                out.append(
                    f"  line {o.case.line}: {o.case.text!r} expected {o.case.when}, got {o.when}"
                )
        out.append("")
        out.append(json.dumps(self.summary()))
        return out


# -- input -----------------------------------------------------------------------------------


def load_cases(path: str | Path) -> list[Case]:
    """Parse and validate the whole file first, so a bad line fails before any work."""
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EvalInputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise EvalInputError(f"{path}: is a directory, not a JSONL file") from None
    except UnicodeDecodeError:
        raise EvalInputError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise EvalInputError(f"{path}: cannot read ({exc.strerror})") from None
    cases = [
        _parse_line(path, number, line)
        for number, line in enumerate(raw.splitlines(), start=1)
        if line.strip()
    ]
    if not cases:
        raise EvalInputError(f"{path}: no evaluation lines")
    return cases


def _parse_line(path: str | Path, number: int, line: str) -> Case:
    where = f"{path}: line {number}"
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EvalInputError(f"{where}: invalid JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise EvalInputError(f"{where}: expected a JSON object")
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise EvalInputError(f"{where}: 'text' must be a non-empty string")
    lang = obj.get("lang")
    if not isinstance(lang, str) or not lang:
        raise EvalInputError(f"{where}: 'lang' must be a language code such as \"es\"")
    if "intent" not in obj:
        raise EvalInputError(f"{where}: 'intent' is missing")
    intent = obj["intent"]
    if intent is not None and (not isinstance(intent, str) or not intent):
        raise EvalInputError(f"{where}: 'intent' must be an intent name or null")
    service = obj.get("service")
    if service is not None and (not isinstance(service, str) or not service.strip()):
        raise EvalInputError(f"{where}: 'service' must be a service name")
    when = obj.get("when")
    if when is not None:
        if not isinstance(when, str):
            raise EvalInputError(f"{where}: 'when' must be a local ISO time string")
        try:
            when = datetime.fromisoformat(when).strftime(_MINUTE)
        except ValueError:
            raise EvalInputError(
                f"{where}: 'when' {when!r} is not an ISO time like 2027-03-11T17:00"
            ) from None
    return Case(number, text, lang, intent, service, when)


def parse_now(value: str | None, zone: ZoneInfo) -> datetime:
    """A local time in the tenant's zone ("2027-03-10T12:00"); an offset is converted."""
    if value is None:
        return datetime.now(zone).replace(second=0, microsecond=0)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise EvalInputError(f"--now {value!r} is not an ISO time like 2027-03-10T12:00") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=zone)
    return parsed.astimezone(zone)


# -- building and running ----------------------------------------------------------------------


class _BuiltinIntents(Skill):
    """Declares every built-in intent from the shipped files; it never answers a turn."""

    name = "nlu-eval"
    intents = tuple(IntentSpec(intent, load_examples(intent)) for intent in BUILTIN_INTENTS)

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:  # pragma: no cover
        raise NotImplementedError("evaluation only")


def build_pipeline(
    profile: TenantProfile,
    registry: SkillRegistry,
    threshold: float,
    now: datetime,
    store: ModelStore | None = None,
) -> NluPipeline:
    """The tenant's NLU as the engine builds it, with all built-in intents present.

    Always the model trained on exactly this training set: the shipped or stored one when
    there is one (`store`), else trained here and stored."""
    runtime = build_tenant_runtime(
        profile,
        registry,
        ClassifierCache(threshold, store, wait_for_exact=True),
        lambda: now,
        extra_skills=lambda _profile: {_BuiltinIntents.name: _BuiltinIntents()},
    )
    return runtime.nlu


def evaluate(
    pipeline: NluPipeline,
    profile: TenantProfile,
    cases: Sequence[Case],
    now: datetime,
    source: str = "-",
) -> EvalReport:
    report = EvalReport(profile.info.slug, now, source)
    zone = profile.zone
    for case in cases:
        understanding = pipeline.understand(case.text, now, profile.opening_hours)
        prediction = pipeline.classifier.predict(case.text)
        service = understanding.entities.get("service")
        when = understanding.entities.get("when")
        report.outcomes.append(
            Outcome(
                case=case,
                intent=understanding.intent,
                confidence=understanding.confidence,
                best=prediction.best,
                language=understanding.language,
                service=getattr(service, "name", None),
                when=None if when is None else when.start.astimezone(zone).strftime(_MINUTE),
            )
        )
    return report


def tenant_id_by_slug(session: Any, slug: str) -> uuid.UUID:
    from sqlalchemy import select

    found = session.scalars(select(Tenant.id).where(Tenant.slug == slug)).one_or_none()
    if found is None:
        raise LookupError(f"no tenant with slug {slug!r}")
    return uuid.UUID(str(found))


def run_evaluation(
    db: Any,
    tenant_slug: str,
    path: str | Path,
    now: str | None,
    *,
    threshold: float,
    registry: SkillRegistry | None = None,
) -> EvalReport:
    """Validate the file, load the tenant from `db` (a hablo Database), build, evaluate.

    Raises EvalInputError for the file or --now, LookupError for an unknown tenant."""
    cases = load_cases(path)
    with db.transaction() as session:
        profile = load_profile(session, tenant_id_by_slug(session, tenant_slug))
    local_now = parse_now(now, profile.zone)
    pipeline = build_pipeline(
        profile,
        registry if registry is not None else SkillRegistry.discover(),
        threshold,
        local_now,
        DbModelStore(db),
    )
    return evaluate(pipeline, profile, cases, local_now, str(path))


# -- helpers -----------------------------------------------------------------------------------


def _ratio(hits: int, total: int) -> float | None:
    return hits / total if total else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _fmt(value: float | None) -> str:
    return "n/a   " if value is None else f"{value:.4f}"


def _label(intent: str | None) -> str:
    return NO_INTENT if intent is None else intent


def _same_name(found: str | None, expected: str | None) -> bool:
    """Service names compare case- and accent-insensitively ("Coloracion" is Coloración)."""
    return found is not None and expected is not None and normalize(found) == normalize(expected)


__all__ = [
    "Case",
    "EvalInputError",
    "EvalReport",
    "build_pipeline",
    "evaluate",
    "load_cases",
    "parse_now",
    "run_evaluation",
]
