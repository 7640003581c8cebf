"""`hablo nlu eval` in LLM mode: the same cases and the same report, but each message is
understood the way an LLM-mode turn understands it (the model picks a skill as a tool;
a fault or a plain-text answer leaves it to the local NLU, as in the engine)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hablo.config import Settings
from hablo.engine.nlu.evaluation import (
    _MINUTE,
    EvalReport,
    Outcome,
    _BuiltinIntents,
    load_cases,
    parse_now,
    tenant_id_by_slug,
)
from hablo.engine.nlu.model_store import DbModelStore
from hablo.engine.nlu.pipeline import ClassifierCache
from hablo.engine.skillset import build_tenant_runtime
from hablo.engine.tenant_profile import load_profile
from hablo.llm.config import TenantLlmConfig
from hablo.llm.mode import LlmLayer
from hablo.plugins.loader import SkillRegistry


@dataclass
class LlmEvalStats:
    model: str
    base_url: str
    outcomes: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def line(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.outcomes.items()))
        return (
            f"LLM mode: model {self.model} at {self.base_url}: {kinds or 'no calls'}; "
            f"tokens {self.prompt_tokens} prompt + {self.completion_tokens} completion"
        )


def run_llm_evaluation(
    db: Any,
    tenant_slug: str,
    path: str | Path,
    now: str | None,
    *,
    settings: Settings,
    base_url: str,
    model: str,
    api_key: str,
    registry: SkillRegistry | None = None,
) -> tuple[EvalReport, LlmEvalStats]:
    cases = load_cases(path)
    with db.transaction() as session:
        profile = load_profile(session, tenant_id_by_slug(session, tenant_slug))
    local_now = parse_now(now, profile.zone)
    # The tenant's own LLM config must not switch this runtime on: the flags decide.
    profile = _without_llm(profile)
    runtime = build_tenant_runtime(
        profile,
        registry if registry is not None else SkillRegistry.discover(),
        ClassifierCache(settings.nlu_threshold, DbModelStore(db), wait_for_exact=True),
        lambda: local_now,
        extra_skills=lambda _profile: {_BuiltinIntents.name: _BuiltinIntents()},
    )
    skills = {k: v for k, v in runtime.skills.items() if k != _BuiltinIntents.name}
    config = TenantLlmConfig(base_url=base_url, model=model)
    layer = LlmLayer(settings)
    stats = LlmEvalStats(model, config.base_url or base_url)
    report = EvalReport(profile.info.slug, local_now, str(path))
    try:
        assistant = layer.assistant(profile.info.id, profile.info.slug, skills, config, api_key)
        ctx = runtime.services.for_turn(None)
        for case in cases:
            local = runtime.nlu.understand(case.text, local_now, profile.opening_hours)
            turn = assistant.read(case.text, local, None, None, ctx, None).understand()
            stats.outcomes[turn.outcome] += 1
            stats.prompt_tokens += turn.prompt_tokens
            stats.completion_tokens += turn.completion_tokens
            u = turn.understanding
            service = u.entities.get("service")
            when = u.entities.get("when")
            report.outcomes.append(
                Outcome(
                    case=case,
                    intent=u.intent,
                    confidence=u.confidence,
                    best=u.intent or runtime.nlu.classifier.predict(case.text).best,
                    language=u.language,
                    service=getattr(service, "name", None),
                    when=None
                    if when is None
                    else when.start.astimezone(profile.zone).strftime(_MINUTE),
                )
            )
    finally:
        layer.close()
    return report, stats


def _without_llm(profile: Any) -> Any:
    from dataclasses import replace

    settings = {k: v for k, v in profile.settings.items() if k != "llm"}
    return replace(profile, settings=settings)
