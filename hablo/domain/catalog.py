"""What a tenant sells, as every layer sees it (the plugin SDK re-exports `ServiceInfo`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceInfo:
    id: uuid.UUID
    name: str
    description: str
    price_minor: int
    duration_minutes: int
    synonyms: tuple[str, ...] = ()
    # The name in other languages, (language, name) pairs: (("en", "Haircut"),).
    names: tuple[tuple[str, str], ...] = ()

    def label(self, language: str) -> str:
        """The name to show in `language`: its translation if the tenant gave one."""
        return next((n for lang, n in self.names if lang == language), self.name)
