"""A tenant's LLM configuration (``tenants.settings["llm"]``) and its sealed API key."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hablo.db.enums import Plan
from hablo.security.secrets import SecretBox

SETTINGS_KEY = "llm"
# Monthly tokens (prompt + completion) per plan; a tenant's monthly_token_budget wins.
PLAN_TOKEN_BUDGETS: Mapping[Plan, int] = {
    Plan.FREE: 50_000,
    Plan.STARTER: 500_000,
    Plan.PROFESSIONAL: 2_000_000,
    Plan.ENTERPRISE: 10_000_000,
}


def key_context(tenant_id: uuid.UUID) -> str:
    """Binds a sealed key to its tenant: copied into another tenant's row, it won't open."""
    return f"tenant:{tenant_id}:openai_api_key"


class TenantLlmConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    # None: the process defaults (Settings.llm_default_model / llm_default_base_url).
    model: str | None = Field(default=None, min_length=1, max_length=128)
    base_url: str | None = Field(default=None, max_length=500)
    temperature: float = Field(default=0.2, ge=0, le=2)
    max_tokens: int = Field(default=300, ge=16, le=8192)
    # One request's timeout; None: Settings.llm_timeout_s.
    timeout_s: float | None = Field(default=None, gt=0, le=120)
    # None: the plan's budget (PLAN_TOKEN_BUDGETS).
    monthly_token_budget: int | None = Field(default=None, ge=0)
    history_tokens: int | None = Field(default=None, ge=0, le=100_000)
    api_key_sealed: str | None = Field(default=None, repr=False)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL, e.g. https://api.openai.com/v1")
        return value.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> TenantLlmConfig | None:
        """The tenant's config, or None when it has none (local NLU only)."""
        raw = settings.get(SETTINGS_KEY)
        if not raw:
            return None
        return cls.model_validate(raw)

    def budget_for(self, plan: Plan) -> int:
        if self.monthly_token_budget is not None:
            return self.monthly_token_budget
        return PLAN_TOKEN_BUDGETS.get(plan, PLAN_TOKEN_BUDGETS[Plan.FREE])

    def open_key(self, box: SecretBox, tenant_id: uuid.UUID) -> str:
        if not self.api_key_sealed:
            return ""
        return box.open(self.api_key_sealed, context=key_context(tenant_id))

    def public(self) -> dict[str, Any]:
        """What may be shown: everything but the key, which is only said to be set."""
        out = self.model_dump(exclude={"api_key_sealed"})
        out["api_key"] = "set (sealed)" if self.api_key_sealed else "not set"
        return out


def updated_settings(
    current: Mapping[str, Any],
    tenant_id: uuid.UUID,
    box: SecretBox,
    changes: Mapping[str, Any],
    api_key: str | None = None,
) -> dict[str, Any]:
    """A new tenant settings dict with the LLM config changed (validated) and, when given,
    the key sealed. A new dict, so SQLAlchemy sees the JSON column change."""
    base = dict(current.get(SETTINGS_KEY) or {})
    base.update({k: v for k, v in changes.items() if v is not None})
    if api_key is not None:
        base["api_key_sealed"] = box.seal(api_key, context=key_context(tenant_id))
    config = TenantLlmConfig.model_validate(base)
    out = dict(current)
    out[SETTINGS_KEY] = config.model_dump(exclude_none=True)
    return out
