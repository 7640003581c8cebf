"""What the bot says and understands, per tenant: its own wording of any reply template
(per language or variety, previewed before saving) and extra example phrases for the
intents its skills know. Stored in `tenants.settings` ("templates", "intent_examples");
the engine rereads them at once (a new classifier trains in the background meanwhile)."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

from jinja2 import DictLoader, TemplateError, TemplateSyntaxError, meta, nodes
from pydantic import BaseModel, Field, StringConstraints, field_validator

from hablo.api.app_keys import RUNTIME
from hablo.api.endpoints import ApiRoutes, Call, RequestModel
from hablo.api.problems import ApiError
from hablo.api.routes.tenants import own_tenant
from hablo.api.scope import TenantScope, check_if_match, etag_of
from hablo.api.template_samples import sample_values
from hablo.db.models import Tenant
from hablo.engine.skillset import enabled_skills
from hablo.engine.templates import shipped_templates, tenant_environment
from hablo.engine.tenant_profile import load_profile
from hablo.plugins.loader import SkillRegistry
from hablo.plugins.sdk import TenantInfo

routes = ApiRoutes("replies")

TEMPLATES_KEY = "templates"
EXAMPLES_KEY = "intent_examples"
MAX_SOURCE_CHARS = 2000
MAX_PHRASE_CHARS = 200
MAX_PHRASES = 200
# A language ("es"), a country's variety ("es-MX") and/or a formality ("es-usted").
_KEY = re.compile(r"^[a-z]{2}(-[A-Z]{2})?(-(tu|usted|vos))?$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _registry(call: Call[Any, Any]) -> SkillRegistry:
    return call.request.app[RUNTIME].engine.registry


def _builtins(registry: SkillRegistry) -> dict[str, dict[str, str]]:
    """name -> key -> shipped source, over every skill this process has."""
    skills = [cls for n in registry.names() if (cls := registry.get(n)) is not None]
    out: dict[str, dict[str, str]] = {}
    for path, source in shipped_templates(skills).items():
        key, _, file = path.partition("/")
        out.setdefault(file.removesuffix(".j2"), {})[key] = source
    return out


def _overrides(tenant: Tenant) -> dict[str, str]:
    stored = (tenant.settings or {}).get(TEMPLATES_KEY) or {}
    return {str(k): str(v) for k, v in stored.items()} if isinstance(stored, dict) else {}


def _error(field: str, message: str, kind: str) -> ApiError:
    return ApiError(
        422,
        "validation_error",
        "the request is not valid",
        [{"loc": field.split("."), "msg": message, "type": kind}],
    )


def _known(call: Call[Any, Any]) -> tuple[str, str, dict[str, str]]:
    """The path's key and name, checked; with the name's shipped sources."""
    key, name = str(call.path["key"]), str(call.path["name"])
    shipped = _builtins(_registry(call)).get(name) if _NAME.match(name) else None
    if shipped is None:
        raise _error("path.name", "not a reply template (GET /api/settings/templates)", "name")
    if not _KEY.match(key):
        raise _error("path.key", "a language (es), variety (es-MX) or formality (es-usted)", "key")
    return key, name, shipped


# A reply is plain wording: no macros, includes or inheritance (which could recurse
# forever), and loops at most two deep (a list inside a list).
_REFUSED = (
    nodes.Macro,
    nodes.CallBlock,
    nodes.Include,
    nodes.Import,
    nodes.FromImport,
    nodes.Extends,
)
MAX_LOOP_DEPTH = 2


def _loop_depth(loop: nodes.For) -> int:
    inner = [_loop_depth(child) for child in loop.find_all(nodes.For)]
    return 1 + max(inner, default=0)


def _parse(source: str) -> nodes.Template:
    """The source as a sandboxed template: 422 naming the line of a syntax error, and no
    reading of private attributes (the sandbox would refuse them at every reply)."""
    env = tenant_environment()
    try:
        tree = env.parse(source)
        env.compile(source)  # unknown filters and tests are found here
    except TemplateSyntaxError as exc:
        raise _error("body.source", f"line {exc.lineno}: {exc.message}", "template_syntax") from exc
    except RecursionError as exc:
        raise _error("body.source", "nested too deeply", "template_syntax") from exc
    for refused in tree.find_all(_REFUSED):
        what = type(refused).__name__.lower()
        raise _error(
            "body.source",
            f"line {refused.lineno}: '{what}' is not allowed in a reply",
            "template_unsafe",
        )
    for loop in tree.find_all(nodes.For):
        if loop.recursive or _loop_depth(loop) > MAX_LOOP_DEPTH:
            raise _error(
                "body.source",
                f"line {loop.lineno}: loops nest at most {MAX_LOOP_DEPTH} deep, not recursively",
                "template_unsafe",
            )
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        attr = node.attr if isinstance(node, nodes.Getattr) else None
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            attr = str(node.arg.value)
        if attr is not None and attr.startswith("_"):
            raise _error(
                "body.source", f"line {node.lineno}: '{attr}' may not be read", "template_unsafe"
            )
    return tree


class TemplateOut(BaseModel):
    name: str
    builtin: dict[str, str] = Field(description="Shipped source per language/variety key")
    overrides: dict[str, str] = Field(description="This business's own source per key")


class TemplateList(BaseModel):
    items: list[TemplateOut]


class TemplateIn(RequestModel):
    source: str = Field(min_length=1, max_length=MAX_SOURCE_CHARS, description="jinja2")


class PreviewIn(RequestModel):
    source: str | None = Field(
        default=None, max_length=MAX_SOURCE_CHARS, description="Unsaved source; else stored"
    )
    values: dict[str, Any] | None = Field(
        default=None, description="Values to use instead of the samples"
    )


class PreviewOut(BaseModel):
    text: str


def _listing(registry: SkillRegistry, tenant: Tenant) -> TemplateList:
    overrides = _overrides(tenant)
    items = []
    for name, shipped in sorted(_builtins(registry).items()):
        own = {
            key: source
            for path, source in overrides.items()
            for key, _, file in [path.partition("/")]
            if file == f"{name}.j2"
        }
        items.append(TemplateOut(name=name, builtin=dict(sorted(shipped.items())), overrides=own))
    return TemplateList(items=items)


@routes.get(
    "/api/settings/templates",
    "settings:read",
    response=TemplateList,
    errors=(404,),
    summary="Every reply template: its shipped source per language and the business's own",
)
async def list_templates(call: Call[None, None]) -> TemplateList:
    registry = _registry(call)

    def work(scope: TenantScope) -> TemplateList:
        tenant = own_tenant(scope)
        call.response_headers["ETag"] = etag_of(tenant)
        return _listing(registry, tenant)

    return await call.db(work)


_TEMPLATE_PATH = "/api/settings/templates/{key}/{name}"
_STR_PATH = {"key": str, "name": str}


@routes.put(
    _TEMPLATE_PATH,
    "settings:write",
    body=TemplateIn,
    response=TemplateOut,
    errors=(404, 412),
    path_types=_STR_PATH,
    summary="Word one reply your own way for a language or variety; used on the next message",
)
async def put_template(call: Call[None, TemplateIn]) -> TemplateOut:
    key, name, shipped = _known(call)
    source = call.body.source
    _parse(source)
    return await _store_override(call, key, name, shipped, source)


@routes.delete(
    _TEMPLATE_PATH,
    "settings:write",
    response=TemplateOut,
    errors=(404, 412),
    path_types=_STR_PATH,
    summary="Go back to the shipped wording of one reply",
)
async def delete_template(call: Call[None, None]) -> TemplateOut:
    key, name, shipped = _known(call)
    return await _store_override(call, key, name, shipped, None)


async def _store_override(
    call: Call[Any, Any], key: str, name: str, shipped: dict[str, str], source: str | None
) -> TemplateOut:
    path = f"{key}/{name}.j2"

    def work(scope: TenantScope) -> TemplateOut:
        tenant = own_tenant(scope, for_update=True)
        check_if_match(call.if_match(), tenant)
        overrides = _overrides(tenant)
        if source is None:
            overrides.pop(path, None)
        else:
            overrides[path] = source
        # A new dict: JSON columns do not track in-place edits.
        tenant.settings = {**(tenant.settings or {}), TEMPLATES_KEY: overrides}
        scope.session.flush()
        scope.audit(
            "delete" if source is None else "update", "template", tenant.id, {"template": path}
        )
        call.response_headers["ETag"] = etag_of(tenant)
        own = {k.partition("/")[0]: v for k, v in overrides.items() if k.endswith(f"/{name}.j2")}
        return TemplateOut(name=name, builtin=shipped, overrides=own)

    result = await call.db(work)
    call.tenant_changed()
    return result


@routes.post(
    _TEMPLATE_PATH + "/preview",
    "settings:read",
    body=PreviewIn,
    response=PreviewOut,
    errors=(404,),
    path_types=_STR_PATH,
    summary="Render a reply (the source sent, else the saved or shipped one) with samples",
)
async def preview_template(call: Call[None, PreviewIn]) -> PreviewOut:
    key, name, shipped = _known(call)
    registry = _registry(call)

    def work(scope: TenantScope) -> tuple[dict[str, str], TenantInfo]:
        tenant = own_tenant(scope)
        return _overrides(tenant), load_profile(scope.session, tenant.id).info

    overrides, info = await call.db(work)
    source = call.body.source
    if source is None:  # the saved wording, else the shipped one the bot would pick
        language = key.split("-")[0]
        candidates = (f"{key}/{name}.j2", f"{language}/{name}.j2")
        source = next((overrides[p] for p in candidates if p in overrides), None)
        source = source or shipped.get(key) or shipped.get(language) or next(iter(shipped.values()))
    tree = _parse(source)
    language = key.split("-")[0]
    values = sample_values(meta.find_undeclared_variables(tree), info, language)
    values.update(call.body.values or {})
    skills = [cls for n in registry.names() if (cls := registry.get(n)) is not None]
    env = tenant_environment(DictLoader({**shipped_templates(skills), **overrides}))
    try:
        # Off the event loop: a tenant's loops are bounded, not free.
        text = (await asyncio.to_thread(env.from_string(source).render, values)).strip()
    except TemplateError as exc:
        raise _error("body.source", str(exc.message), "template_render") from exc
    except (TypeError, ValueError, ArithmeticError, LookupError, RuntimeError) as exc:
        raise _error("body.source", str(exc), "template_render") from exc
    return PreviewOut(text=text)


Phrase = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_PHRASE_CHARS)
]


class ExamplesIn(RequestModel):
    """The business's own phrases for one intent, per language (replaces the stored)."""

    es: list[Phrase] = Field(default_factory=list, max_length=MAX_PHRASES)
    en: list[Phrase] = Field(default_factory=list, max_length=MAX_PHRASES)

    @field_validator("es", "en")
    @classmethod
    def _unique(cls, phrases: list[str]) -> list[str]:
        # Same phrase twice (case aside) weighs nothing more: kept once, in order.
        return list({p.casefold(): p for p in reversed(phrases)}.values())[::-1]


class IntentExamplesOut(BaseModel):
    intents: list[str] = Field(description="Intents the business's enabled skills know")
    examples: dict[str, dict[str, list[str]]] = Field(
        description="intent -> language -> the business's own phrases"
    )


def _known_intents(registry: SkillRegistry, scope: TenantScope) -> list[str]:
    profile = load_profile(scope.session, scope.tenant_id)
    skills = enabled_skills(registry, profile)
    return sorted({spec.name for skill in skills.values() for spec in skill.intents})


def _examples(tenant: Tenant) -> dict[str, dict[str, list[str]]]:
    stored = (tenant.settings or {}).get(EXAMPLES_KEY) or {}
    if not isinstance(stored, dict):
        return {}
    return {
        str(intent): {str(lang): [str(p) for p in phrases] for lang, phrases in by_lang.items()}
        for intent, by_lang in stored.items()
        if isinstance(by_lang, dict)
    }


@routes.get(
    "/api/settings/intent-examples",
    "settings:read",
    response=IntentExamplesOut,
    errors=(404,),
    summary="The business's own example phrases per intent (they train its classifier)",
)
async def get_intent_examples(call: Call[None, None]) -> IntentExamplesOut:
    registry = _registry(call)

    def work(scope: TenantScope) -> IntentExamplesOut:
        tenant = own_tenant(scope)
        call.response_headers["ETag"] = etag_of(tenant)
        return IntentExamplesOut(
            intents=_known_intents(registry, scope), examples=_examples(tenant)
        )

    return await call.db(work)


@routes.put(
    "/api/settings/intent-examples/{intent}",
    "settings:write",
    body=ExamplesIn,
    response=IntentExamplesOut,
    errors=(404, 412),
    path_types={"intent": str},
    summary="Teach the bot more ways customers ask for one intent; it retrains in the background",
)
async def put_intent_examples(call: Call[None, ExamplesIn]) -> IntentExamplesOut:
    registry = _registry(call)
    intent = str(call.path["intent"])
    phrases = {lang: v for lang, v in call.body.model_dump().items() if v}

    def work(scope: TenantScope) -> IntentExamplesOut:
        tenant = own_tenant(scope, for_update=True)
        check_if_match(call.if_match(), tenant)
        known = _known_intents(registry, scope)
        if intent not in known:
            raise _error("path.intent", f"unknown intent; known: {', '.join(known)}", "intent")
        examples = _examples(tenant)
        if phrases:
            examples[intent] = phrases
        else:
            examples.pop(intent, None)
        tenant.settings = {**(tenant.settings or {}), EXAMPLES_KEY: examples}
        scope.session.flush()
        scope.audit("update", "intent_examples", tenant.id, {"intent": intent, **phrases})
        call.response_headers["ETag"] = etag_of(tenant)
        return IntentExamplesOut(intents=known, examples=examples)

    result = await call.db(work)
    # The actor rebuilds its runtime: the stored/shipped model serves while the new
    # training set trains in the background (ClassifierCache), never on this thread.
    call.tenant_changed()
    return result
