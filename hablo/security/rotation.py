"""Key rotation for secrets at rest: move every sealed value onto the current key.

Rotation is: put a new key first in HABLO_SECRET_KEYS (keep the old ones after it), run
`hablo secrets reseal`, then drop the old keys. Values keep opening throughout, since
every key of the ring opens what it sealed.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hablo.db.models import Tenant, User
from hablo.llm.config import SETTINGS_KEY as LLM_SETTINGS_KEY
from hablo.llm.config import key_context as llm_key_context
from hablo.security.second_factor import totp_context
from hablo.security.secrets import SecretBox


def reseal_all(session: Session, box: SecretBox) -> Counter[str]:
    """Reseal every known sealed field in one transaction; returns counts per field."""
    moved: Counter[str] = Counter()
    for user in session.scalars(
        select(User).where(User.totp_secret_encrypted.is_not(None)).with_for_update()
    ):
        sealed = user.totp_secret_encrypted
        assert sealed is not None
        fresh = box.reseal(sealed, context=totp_context(user.id))
        if fresh != sealed:
            user.totp_secret_encrypted = fresh
            moved["users.totp_secret"] += 1
    for tenant in session.scalars(select(Tenant).with_for_update()):
        llm: dict[str, Any] | None = (tenant.settings or {}).get(LLM_SETTINGS_KEY)
        sealed_key = llm.get("api_key_sealed") if llm else None
        if llm and sealed_key:
            fresh = box.reseal(sealed_key, context=llm_key_context(tenant.id))
            if fresh != sealed_key:
                # A new dict: SQLAlchemy only notices JSON changes on assignment.
                tenant.settings = {
                    **tenant.settings,
                    LLM_SETTINGS_KEY: {**llm, "api_key_sealed": fresh},
                }
                moved["tenants.llm_api_key"] += 1
    return moved
