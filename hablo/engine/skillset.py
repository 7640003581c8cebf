"""A tenant's skills, ready to run: instances with validated config, NLU and templates."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from hablo.engine.assist import TurnAssistant
from hablo.engine.context import Clock, TenantServices
from hablo.engine.dialogue import DIALOGUE_ACTS
from hablo.engine.nlu.datetimes import month_first_locale
from hablo.engine.nlu.holidays import HolidayNames
from hablo.engine.nlu.pipeline import ClassifierCache, NluPipeline, TrainingSet, training_set
from hablo.engine.nlu.services import ServiceMatcher
from hablo.engine.ports import PaymentDeskFactory
from hablo.engine.templates import TemplateRenderer, skill_templates
from hablo.engine.tenant_profile import TenantProfile
from hablo.plugins.loader import SkillRegistry
from hablo.plugins.sdk import Skill
from hablo.skills.examples import load_examples

FALLBACK_INTENT = "fallback"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TenantRuntime:
    """Everything a ConversationActor needs about its tenant. Immutable, shared."""

    profile: TenantProfile
    skills: Mapping[str, Skill]
    by_intent: Mapping[str, Skill]
    nlu: NluPipeline
    services: TenantServices
    # LLM mode when the tenant configured it (settings["llm"]); None: the local NLU alone.
    assistant: TurnAssistant | None = None


# Puts a tenant in LLM mode: the engine's port to the LLM layer (bootstrap hands in
# `hablo.llm.attach_assistant`); the engine never imports the layer or the openai SDK.
AttachAssistant = Callable[[TenantRuntime], TenantRuntime]


def enabled_skills(registry: SkillRegistry, profile: TenantProfile) -> dict[str, Skill]:
    """Built-ins are on unless disabled; third-party skills run only where enabled.

    A skill whose tenant config does not validate is skipped (and logged), not fatal.
    """
    builtins = set(registry.builtin_names())
    out: dict[str, Skill] = {}
    for name in registry.names():
        setting = profile.skill_settings.get(name)
        enabled = setting.enabled if setting else name in builtins
        if not enabled:
            continue
        cls = registry.get(name)
        assert cls is not None
        try:
            config = cls.config_model.model_validate(dict(setting.config) if setting else {})
        except ValidationError as exc:
            log.warning(
                "tenant %s: skill %s config invalid, skipped: %s",
                profile.info.slug,
                name,
                exc.errors()[0]["msg"],
            )
            continue
        out[name] = cls(config)
    return out


def build_tenant_runtime(
    profile: TenantProfile,
    registry: SkillRegistry,
    classifiers: ClassifierCache,
    clock: Clock,
    extra_skills: Callable[[TenantProfile], Mapping[str, Skill]] | None = None,
    payments: PaymentDeskFactory | None = None,
    assistant: AttachAssistant | None = None,
) -> TenantRuntime:
    skills = enabled_skills(registry, profile)
    if extra_skills:
        skills.update(extra_skills(profile))
    by_intent: dict[str, Skill] = {}
    for skill in skills.values():
        for spec in skill.intents:
            by_intent.setdefault(spec.name, skill)
    services = build_tenant_services(profile, skills, clock, payments)
    nlu = NluPipeline(
        classifiers.get(tenant_training_set(profile, skills)),
        services.matcher,
        profile.info.language,
        HolidayNames(profile.holidays, profile.settings.get("country")),
        month_first=month_first_locale(profile.info.locale),
    )
    runtime = TenantRuntime(profile, skills, by_intent, nlu, services)
    if profile.settings.get("llm") and assistant is not None:
        runtime = assistant(runtime)
    return runtime


def tenant_training_set(profile: TenantProfile, skills: Mapping[str, Skill]) -> TrainingSet:
    """The tenant's NLU examples: its skills' intents with its own extra examples."""
    return skills_training_set(skills, profile.intent_examples)


def builtin_training_set(registry: SkillRegistry) -> TrainingSet:
    """What a tenant with the built-in skills (default config) and no examples of its own
    trains on: the training set of the shipped weights (`hablo nlu train --builtin`)."""
    skills: dict[str, Skill] = {}
    for name in registry.builtin_names():
        cls = registry.get(name)
        assert cls is not None
        skills[name] = cls(cls.config_model.model_validate({}))
    return skills_training_set(skills)


def skills_training_set(
    skills: Mapping[str, Skill],
    intent_examples: Mapping[str, Mapping[str, tuple[str, ...]]] | None = None,
) -> TrainingSet:
    extra_examples = intent_examples or {}
    seen: set[str] = set()
    examples: list[tuple[str, Mapping[str, tuple[str, ...]]]] = []
    for skill in skills.values():
        for spec in skill.intents:
            seen.add(spec.name)
            merged = {lang: tuple(v) for lang, v in spec.examples.items()}
            for lang, extra in extra_examples.get(spec.name, {}).items():
                merged[lang] = merged.get(lang, ()) + tuple(extra)
            examples.append((spec.name, merged))
    # Dialogue acts ("sí", "no") are the engine's own: flows and the human offer use them.
    for act in DIALOGUE_ACTS:
        if act not in seen:
            examples.append((act, load_examples(act)))
    return training_set(examples)


def build_tenant_services(
    profile: TenantProfile,
    skills: Mapping[str, Skill],
    clock: Clock,
    payments: PaymentDeskFactory | None = None,
) -> TenantServices:
    """The per-tenant context without the NLU (for jobs that render and write, not read)."""
    renderer = TemplateRenderer(
        profile.template_overrides, skill_templates(type(s) for s in skills.values())
    )
    return TenantServices(profile, renderer, ServiceMatcher(profile.services), clock, payments)
