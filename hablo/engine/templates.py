"""Localized reply templates: tenant overrides > skill-declared > files shipped with hablo."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from jinja2 import (
    ChoiceLoader,
    DictLoader,
    Environment,
    PackageLoader,
    StrictUndefined,
    TemplateNotFound,
)

from hablo.plugins.sdk import Skill

FALLBACK_LANGUAGE = "es"


def skill_templates(skills: Iterable[type[Skill]]) -> dict[str, str]:
    """Flatten skills' inline templates into loader names "{lang}/{name}.j2"."""
    out: dict[str, str] = {}
    for skill in skills:
        for name, by_lang in skill.templates.items():
            for lang, source in by_lang.items():
                out[f"{lang}/{name}.j2"] = source
    return out


class TemplateRenderer:
    """One per tenant (its overrides differ); compiled templates are cached by jinja2."""

    def __init__(self, overrides: Mapping[str, str], skill_sources: Mapping[str, str]) -> None:
        # Replies are chat text, not HTML: channels escape at display time.
        self._env = Environment(
            loader=ChoiceLoader(
                [
                    DictLoader(dict(overrides)),
                    DictLoader(dict(skill_sources)),
                    PackageLoader("hablo.skills", "templates"),
                ]
            ),
            autoescape=False,
            auto_reload=False,  # shipped files do not change under a running process
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )

    def render(self, name: str, language: str, **values: Any) -> str:
        for lang in dict.fromkeys((language, FALLBACK_LANGUAGE)):
            try:
                template = self._env.get_template(f"{lang}/{name}.j2")
            except TemplateNotFound:
                continue
            # `language` is in every template's context: service.label(language).
            return template.render({"language": language, **values}).strip()
        raise LookupError(f"no template {name!r} for language {language!r}")
