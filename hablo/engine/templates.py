"""Localized reply templates: tenant overrides > skill-declared > files shipped with hablo."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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

    def render(
        self, name: str, language: str, variants: Sequence[str] = (), **values: Any
    ) -> str:
        """The template in the first of `variants` that has it ("es-MX-usted", "es-MX",
        "es-usted": the tenant's locale and formality), else in `language`, else in
        Spanish."""
        for key in dict.fromkeys((*variants, language, FALLBACK_LANGUAGE)):
            try:
                template = self._env.get_template(f"{key}/{name}.j2")
            except TemplateNotFound:
                continue
            # `language` is in every template's context: service.label(language).
            return template.render({"language": language, **values}).strip()
        raise LookupError(f"no template {name!r} for language {language!r}")


# How a business addresses its customers when it did not say: Argentina uses "vos",
# Mexico's businesses "usted", Spain and the rest "tú".
DEFAULT_FORMALITY = {"es-AR": "vos", "es-UY": "vos", "es-MX": "usted", "es-CO": "usted"}


def wording_variants(locale: str, formality: str | None) -> tuple[str, ...]:
    """Template keys to try before the bare language, most specific first."""
    locale = locale.replace("_", "-")
    language = locale.split("-")[0]
    if language != "es":
        return (locale,) if locale != language else ()
    chosen = formality or DEFAULT_FORMALITY.get(locale, "tu")
    return (f"{locale}-{chosen}", locale, f"{language}-{chosen}")
