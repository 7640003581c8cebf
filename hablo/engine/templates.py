"""Localized reply templates: tenant overrides > skill-declared > files shipped with hablo.

hablo's own replies are one neutral template each (hablo/skills/templates/<name>.j2),
worded per language, country and formality by the gettext catalogues
(`hablo.engine.catalogues`); a tenant or a plugin words a reply per key ("es",
"es-MX", "es-usted": "{key}/{name}.j2"), which wins over hablo's wording."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from importlib.resources import files
from typing import Any

from jinja2 import (
    ChoiceLoader,
    DictLoader,
    Environment,
    StrictUndefined,
    Template,
    TemplateNotFound,
)
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from hablo.engine.catalogues import catalogues, localize
from hablo.plugins.sdk import Skill

# A plugin that words a reply only in Spanish is read in Spanish by anyone.
FALLBACK_LANGUAGE = "es"
# The same whitespace rules for shipped and tenant templates.
_OPTIONS: dict[str, Any] = {
    "autoescape": False,  # replies are chat text, not HTML: channels escape at display time
    "auto_reload": False,  # shipped files do not change under a running process
    "undefined": StrictUndefined,
    "trim_blocks": True,
    "lstrip_blocks": True,
    "keep_trailing_newline": False,
}
# hablo's own templates, once worded: trusted, shared by every tenant.
_BUILTIN_ENV = Environment(**_OPTIONS)


def skill_templates(skills: Iterable[type[Skill]]) -> dict[str, str]:
    """Flatten skills' inline templates into loader names "{lang}/{name}.j2"."""
    out: dict[str, str] = {}
    for skill in skills:
        for name, by_lang in skill.templates.items():
            for lang, source in by_lang.items():
                out[f"{lang}/{name}.j2"] = source
    return out


@functools.cache
def neutral_templates() -> dict[str, str]:
    """hablo's own reply templates by name, in English with `{% trans %}` blocks."""
    root = files("hablo.skills") / "templates"
    return {
        item.name.removesuffix(".j2"): item.read_text(encoding="utf-8")
        for item in root.iterdir()
        if item.name.endswith(".j2")
    }


def key_chain(key: str) -> tuple[str, ...]:
    """The wording keys a key falls back through: "es-MX-usted" -> es-MX-usted, es-MX,
    es-usted, es; a bare variety takes its country's formality ("es-ES" -> es-ES-tu...)."""
    language, *rest = key.split("-")
    if not rest:
        return (key,)
    region = next((p for p in rest if p.isupper()), None)
    formality = next((p for p in rest if not p.isupper()), None)
    locale = f"{language}-{region}" if region else language
    return tuple(dict.fromkeys((*wording_variants(locale, formality), language)))


def shipped_keys() -> tuple[str, ...]:
    """English (the templates' own language) and every catalogue's key."""
    return ("en", *sorted(catalogues()))


def shipped_templates(skills: Iterable[type[Skill]]) -> dict[str, str]:
    """Every built-in source by loader name "{key}/{name}.j2", as the bot would word it
    for that key (what a tenant starts from to word a reply its own way); skills' inline
    templates over hablo's."""
    out: dict[str, str] = {}
    for key in shipped_keys():
        chain = key_chain(key)
        for name, source in neutral_templates().items():
            out[f"{key}/{name}.j2"] = localize(source, chain)
    out.update(skill_templates(skills))
    return out


@functools.lru_cache(maxsize=1024)
def _builtin(name: str, keys: tuple[str, ...]) -> Template | None:
    """hablo's template `name` worded for `keys`, compiled once per process (the
    built-ins are the same for every tenant)."""
    source = neutral_templates().get(name)
    return None if source is None else _BUILTIN_ENV.from_string(localize(source, keys))


# A reply is a chat message: a tenant's template may not build more than this.
MAX_TENANT_OUTPUT = 10_000
MAX_TENANT_RANGE = 1_000
MAX_TENANT_INT_BITS = 4_096
# What can grow a text or loop without bound (lipsum(10**6), center(10**9), namespace
# accumulating across iterations) is not offered to a tenant's source.
_WITHHELD_GLOBALS = ("lipsum", "namespace")
_WITHHELD_FILTERS = (
    "batch",
    "center",
    "filesizeformat",
    "format",
    "indent",
    "pprint",
    "replace",
    "slice",
    "wordwrap",
    "xmlattr",
)
_SEQUENCES = (str, list, tuple)


def _small_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_TENANT_RANGE:
        raise SecurityError(f"range is limited to {MAX_TENANT_RANGE} numbers")
    return numbers


class TenantSandbox(SandboxedEnvironment):
    """The sandbox keeps a tenant's source from Python internals (`''.__class__`,
    `cycler.__init__.__globals__`); these limits keep it from eating the worker's memory
    and time ('x' * 10**9, 9**9**9, range over millions)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > 64:
            raise SecurityError("exponents above 64 are not allowed")
        if isinstance(left, int) and isinstance(right, int):
            # Bits of the result, about: a product adds, a power multiplies.
            grows = left.bit_length() * right if operator == "**" else 0
            if max(grows, left.bit_length() + right.bit_length()) > MAX_TENANT_INT_BITS:
                raise SecurityError("the number would be too large")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                sized = isinstance(seq, _SEQUENCES) and isinstance(times, int)
                if sized and len(seq) * times > MAX_TENANT_OUTPUT:
                    raise SecurityError("the result would be too long")
        return super().call_binop(context, operator, left, right)


def tenant_environment(loader: DictLoader | ChoiceLoader | None = None) -> TenantSandbox:
    """Where a tenant's own sources are parsed and rendered."""
    env = TenantSandbox(loader=loader, **_OPTIONS)
    env.globals["range"] = _small_range
    for name in _WITHHELD_GLOBALS:
        env.globals.pop(name, None)
    for name in _WITHHELD_FILTERS:
        env.filters.pop(name, None)
    return env


class TemplateRenderer:
    """One per tenant (its overrides differ); compiled templates are cached by jinja2."""

    def __init__(self, overrides: Mapping[str, str], skill_sources: Mapping[str, str]) -> None:
        builtin = DictLoader(dict(skill_sources))
        self._overrides = frozenset(overrides)
        self._env = Environment(loader=builtin, **_OPTIONS)
        # A tenant's source is untrusted: it renders in the sandbox.
        self._sandbox = tenant_environment(ChoiceLoader([DictLoader(dict(overrides)), builtin]))
        # One renderer per tenant runtime, rebuilt on reload: nothing goes stale here.
        self._found: dict[str, Template | None] = {}
        # The catalogues are read once per process (~0.2 s): here, as a tenant's runtime
        # is built, not inside the first turn's skill time budget.
        catalogues()

    def render(self, name: str, language: str, variants: Sequence[str] = (), **values: Any) -> str:
        """The tenant's or a plugin's wording for the first of `variants` ("es-MX-usted",
        "es-MX", "es-usted": the tenant's locale and formality) or `language` that has
        one; else hablo's own, worded by the catalogues of those keys; else a plugin's
        Spanish."""
        keys = tuple(dict.fromkeys((*variants, language)))
        found = next(
            (t for key in keys if (t := self._template(f"{key}/{name}.j2")) is not None),
            None,
        )
        found = found or _builtin(name, keys) or self._template(f"{FALLBACK_LANGUAGE}/{name}.j2")
        if found is None:
            raise LookupError(f"no template {name!r} for language {language!r}")
        # `language` is in every template's context: service.label(language).
        return found.render({"language": language, **values}).strip()

    def _template(self, path: str) -> Template | None:
        """A template by path, or None; misses are remembered too (a turn tries up to
        four variants per reply, and a failed lookup costs a filesystem probe)."""
        if path not in self._found:
            env = self._sandbox if path in self._overrides else self._env
            try:
                self._found[path] = env.get_template(path)
            except TemplateNotFound:
                self._found[path] = None
        return self._found[path]


# How a business addresses its customers when it did not say: Argentina uses "vos",
# Mexico's businesses "usted", Spain and the rest "tú".
DEFAULT_FORMALITY = {"es-AR": "vos", "es-UY": "vos", "es-MX": "usted", "es-CO": "usted"}


def tenant_wording(locale: str, settings: Mapping[str, Any]) -> tuple[str, ...]:
    """Template variants for a tenant's locale and its formality setting (settings
    "bot": {"formality": "usted"})."""
    bot = settings.get("bot")
    formality = bot.get("formality") if isinstance(bot, dict) else None
    return wording_variants(locale, formality if isinstance(formality, str) else None)


def wording_variants(locale: str, formality: str | None) -> tuple[str, ...]:
    """Template keys to try before the bare language, most specific first."""
    locale = locale.replace("_", "-")
    language = locale.split("-")[0]
    if language != "es":
        return (locale,) if locale != language else ()
    chosen = formality or DEFAULT_FORMALITY.get(locale, "tu")
    return (f"{locale}-{chosen}", locale, f"{language}-{chosen}")
