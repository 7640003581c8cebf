"""LLM mode: an OpenAI-compatible model understands the customer and phrases the reply,
while skills stay the only way anything is booked, priced or charged.

Turned on per tenant (``tenants.settings["llm"]``); every fault falls back to the local
NLU for that turn. See README.md, "LLM mode".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hablo.config import Settings

# The settings bootstrap() built, for the layer created when the first tenant in LLM mode
# loads (importing the layer pulls in the openai SDK, which local-only processes skip).
_configured: Settings | None = None


def configure(settings: Settings) -> None:
    global _configured
    _configured = settings


def configured_settings() -> Settings | None:
    return _configured
