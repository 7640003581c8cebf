"""LLM mode's process-wide layer (event loop, circuit breakers, key box, HTTP clients)
and the per-tenant assistant the engine calls through its `TurnAssistant` port
(hablo/engine/assist.py)."""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from pydantic import ValidationError

from hablo.config import Settings, load_settings
from hablo.engine.context import EngineSkillContext
from hablo.engine.nlu.pipeline import Understanding
from hablo.engine.store import LockedConversation
from hablo.llm import configured_settings
from hablo.llm.breaker import BreakerBoard, CircuitBreaker
from hablo.llm.client import ChatClient, LoopThread
from hablo.llm.config import TenantLlmConfig
from hablo.llm.session import LlmTurn
from hablo.llm.tokens import TokenCounter
from hablo.notify.mailer import Mailer, build_mailer
from hablo.plugins.sdk import Skill
from hablo.security.secrets import SecretBox, SecretError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from hablo.engine.skillset import TenantRuntime

log = logging.getLogger(__name__)


class LlmLayer:
    """Shared by every tenant in LLM mode: one loop thread, the breakers (they outlive a
    tenant's runtime reload), the secret box, the mailer, and HTTP clients reused across
    turns."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = LoopThread()
        self.breakers = BreakerBoard(settings.llm_breaker_failures, settings.llm_breaker_cooldown_s)
        self._lock = threading.Lock()
        self._box: SecretBox | None = None
        self._mailer: Mailer | None = None
        self._clients: dict[tuple[str, str, float], ChatClient] = {}

    def box(self) -> SecretBox:
        with self._lock:
            if self._box is None:
                self._box = SecretBox.from_config(
                    self.settings.secret_keys, self.settings.state_dir
                )
            return self._box

    def mailer(self) -> Mailer:
        """Built on first use: most processes never reach a budget."""
        with self._lock:
            if self._mailer is None:
                self._mailer = build_mailer(self.settings)
            return self._mailer

    def client(self, base_url: str, api_key: str, timeout_s: float) -> ChatClient:
        # Keyed by a digest, so the key itself is not kept twice.
        digest = hashlib.sha256(api_key.encode()).hexdigest()
        key = (base_url, digest, timeout_s)
        with self._lock:
            found = self._clients.get(key)
            if found is None:
                found = self._clients[key] = ChatClient(base_url, api_key, timeout_s)
            return found

    def assistant(
        self,
        tenant_id: uuid.UUID,
        slug: str,
        skills: Mapping[str, Skill],
        config: TenantLlmConfig,
        api_key: str,
    ) -> LlmAssistant:
        s = self.settings
        base_url = config.base_url or s.llm_default_base_url
        timeout_s = config.timeout_s or s.llm_timeout_s
        return LlmAssistant(
            self,
            tenant_id=tenant_id,
            slug=slug,
            skills=skills,
            config=config,
            client=self.client(base_url, api_key, timeout_s),
            breaker=self.breakers.get(tenant_id, base_url),
            model=config.model or s.llm_default_model,
            request_timeout_s=timeout_s,
            deadline_s=s.llm_turn_deadline_s,
            history_tokens=(
                s.llm_history_tokens if config.history_tokens is None else config.history_tokens
            ),
        )

    def close(self) -> None:
        clients = list(self._clients.values())
        self._clients.clear()
        for client in clients:
            try:
                self.loop.run(client.close(), timeout=2.0)
            except Exception:  # closing is best effort
                log.debug("closing an LLM client failed", exc_info=True)
        self.loop.close()


class LlmAssistant:
    """A tenant's LLM mode (implements the engine's TurnAssistant)."""

    def __init__(
        self,
        layer: LlmLayer,
        *,
        tenant_id: uuid.UUID,
        slug: str,
        skills: Mapping[str, Skill],
        config: TenantLlmConfig,
        client: ChatClient,
        breaker: CircuitBreaker,
        model: str,
        request_timeout_s: float,
        deadline_s: float,
        history_tokens: int,
    ) -> None:
        self.loop = layer.loop
        self.mailer = layer.mailer
        self.tenant_id = tenant_id
        self.slug = slug
        self.skills = skills
        self.config = config
        self.client = client
        self.breaker = breaker
        self.model = model
        self.request_timeout_s = request_timeout_s
        self.deadline_s = deadline_s
        self.history_tokens = history_tokens
        # Loaded now (once per process and encoding), not inside a turn's deadline.
        self.counter = TokenCounter(model)

    def read(
        self,
        text: str,
        local: Understanding,
        conversation: LockedConversation | None,
        flow: str | None,
        ctx: EngineSkillContext,
        conn: Connection | None,
    ) -> LlmTurn:
        """A turn's read phase, in the caller's short transaction; `understand()` next."""
        return LlmTurn(self, text, local, conversation, flow, ctx, conn).read()


# -- the process's layer -----------------------------------------------------------------------

_installed: LlmLayer | None = None
_install_lock = threading.Lock()


def install(settings: Settings) -> LlmLayer:
    """Use `settings` for LLM mode from now on (bootstrap, the CLI and tests call this)."""
    global _installed
    with _install_lock:
        old, _installed = _installed, LlmLayer(settings)
        layer = _installed
    if old is not None:
        old.close()
    return layer


def uninstall() -> None:
    global _installed
    with _install_lock:
        old, _installed = _installed, None
    if old is not None:
        old.close()


def current() -> LlmLayer:
    """The installed layer; without one, built from the settings bootstrap() configured
    (or, outside a bootstrapped process, from the environment)."""
    global _installed
    with _install_lock:
        if _installed is None:
            _installed = LlmLayer(configured_settings() or load_settings())
        return _installed


def attach_assistant(runtime: TenantRuntime) -> TenantRuntime:
    """The runtime with the tenant's LLM assistant, or unchanged (local NLU) when the
    config is off or unusable; a bad config never stops the tenant."""
    info = runtime.profile.info
    try:
        config = TenantLlmConfig.from_settings(runtime.profile.settings)
        if config is None or not config.enabled:
            return runtime
        layer = current()
        api_key = config.open_key(layer.box(), info.id)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        log.error(
            "tenant %s: LLM config invalid at %s (%s): local NLU", info.slug, where, error["msg"]
        )
        return runtime
    except SecretError as exc:
        log.error("tenant %s: LLM API key cannot be opened (%s): local NLU", info.slug, exc)
        return runtime
    assistant = layer.assistant(info.id, info.slug, runtime.skills, config, api_key)
    return replace(runtime, assistant=assistant)
