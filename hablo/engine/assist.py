"""The engine's port to LLM mode: a tenant's `TurnAssistant` (hablo.llm.mode implements
it) helps a turn understand the customer and word the skills' replies."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.engine import Connection

from hablo.engine.context import EngineSkillContext
from hablo.engine.nlu.pipeline import Understanding
from hablo.engine.store import LockedConversation


class AssistedTurn(Protocol):
    """One turn helped by a model (LLM mode): what the customer wants, and at the end the
    wording of what the skills answered."""

    understanding: Understanding

    def finish(self, replies: tuple[str, ...], skill: str | None, failed: bool) -> tuple[str, ...]:
        """The replies to send (the model's phrasing, or `replies` unchanged)."""
        ...


class TurnAssistant(Protocol):
    """Per-tenant seam: None on a TenantRuntime means the local NLU alone."""

    def begin(
        self,
        text: str,
        local: Understanding,
        conversation: LockedConversation,
        flow: str | None,
        ctx: EngineSkillContext,
        conn: Connection | None,
    ) -> AssistedTurn: ...
