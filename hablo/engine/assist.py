"""The engine's port to LLM mode: a tenant's `TurnAssistant` (hablo.llm.mode implements
it) helps a turn understand the customer and word the skills' replies, with no
conversation lock or pooled connection held while the model is waited for
(engine/assisted_turn.py)."""

from __future__ import annotations

import uuid
from typing import Protocol

from sqlalchemy.engine import Connection

from hablo.engine.context import EngineSkillContext
from hablo.engine.nlu.pipeline import Understanding
from hablo.engine.store import LockedConversation


class AssistedTurn(Protocol):
    """One turn helped by a model (LLM mode), in steps that hold no lock while the model is
    waited for: read (the caller's short transaction), `understand()` (no transaction),
    the engine's locked write, `phrase()` (no transaction), `record()` (a write)."""

    understanding: Understanding

    def understand(self) -> object:
        """Ask the model what the customer wants (sets `understanding`)."""
        ...

    def drop(self, reason: str) -> None:
        """Do not use the model's understanding (the conversation moved on meanwhile)."""
        ...

    def needs_phrasing(self, replies: tuple[str, ...], failed: bool) -> bool:
        """Whether phrase() would ask the model to word `replies`."""
        ...

    def phrase(self, replies: tuple[str, ...], failed: bool) -> tuple[str, ...]:
        """The replies to send (the model's phrasing, or `replies` unchanged)."""
        ...

    def record(self, conn: Connection, conversation_id: uuid.UUID, inbox_id: int) -> None:
        """Write the turn's model usage in the caller's transaction."""
        ...


class TurnAssistant(Protocol):
    """Per-tenant seam: None on a TenantRuntime means the local NLU alone."""

    def read(
        self,
        text: str,
        local: Understanding,
        conversation: LockedConversation | None,
        flow: str | None,
        ctx: EngineSkillContext,
        conn: Connection | None,
    ) -> AssistedTurn:
        """The turn's read phase, in the caller's short transaction (no row lock)."""
        ...
