"""The engine's `AttachAssistant` port, as bootstrap hands it in: puts a tenant in LLM mode."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hablo.engine.skillset import TenantRuntime


def attach_assistant(runtime: TenantRuntime) -> TenantRuntime:
    """The LLM layer (and the openai SDK, ~0.6 s to import) loads when the first tenant in
    LLM mode does, not in every process."""
    from hablo.llm.mode import attach_assistant as attach  # optional heavy dependency

    return attach(runtime)
