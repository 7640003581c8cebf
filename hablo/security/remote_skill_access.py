"""The platform's side of calling remote skills: which addresses they may live at, and
the key ring that seals their signing secrets. Built from Settings by bootstrap (for the
engine) and by the API (for registration); the plugins layer gets it as plain callables.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from hablo.config import Settings
from hablo.plugins.remote_skill import RemotePolicy
from hablo.plugins.remote_store import RemoteAccess
from hablo.security.secrets import SecretBox
from hablo.security.urls import checked_addresses


def remote_policy(settings: Settings) -> RemotePolicy:
    allow_private = settings.remote_skills_allow_private

    def check(host: str, port: int) -> Sequence[str]:
        return checked_addresses(host, port, allow_private=allow_private)

    return RemotePolicy(
        check=check,
        allow_http=allow_private,  # plain http only where private addresses are allowed
        timeout_s=settings.remote_skill_timeout_s,
        breaker_failures=settings.remote_skill_breaker_failures,
        breaker_cooldown_s=settings.remote_skill_breaker_cooldown_s,
        skills_per_tenant=settings.remote_skills_per_tenant,
        examples_per_tenant=settings.remote_skill_examples_per_tenant,
    )


def remote_access(settings: Settings) -> RemoteAccess:
    box = functools.cache(lambda: SecretBox.from_config(settings.secret_keys, settings.state_dir))
    return RemoteAccess(
        policy=remote_policy(settings),
        seal=lambda plain, context: box().seal(plain, context=context),
        open=lambda token, context: box().open(token, context=context),
    )
