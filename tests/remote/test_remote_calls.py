"""hablo's side of a remote skill call against the real `hablo skill serve`: the circuit
breaker opens and closes, the URL is checked against private addresses at registration
and again at every call, and the connection goes to the address that was checked."""

from __future__ import annotations

import time
import uuid

import pytest

from hablo.config import Settings
from hablo.plugins.remote_protocol import Manifest
from hablo.plugins.remote_skill import (
    RemoteEndpoint,
    RemotePolicy,
    RemoteSkill,
    RemoteSkillFailed,
    remote_skill_class,
)
from hablo.plugins.remote_store import RemoteSkillRefused, fetch_manifest
from hablo.plugins.sdk import SkillResult
from hablo.security.remote_skill_access import remote_policy
from hablo.security.urls import checked_addresses
from hablo.testing.context import make_turn, skill_context
from tests.remote.conftest import SkillServer
from tests.remote.points_skill import PointsSkill


def _skill(
    server: SkillServer, policy: RemotePolicy, url: str | None = None, **config: object
) -> RemoteSkill:
    manifest = fetch_manifest(server.url, server.secret, policy)
    endpoint = RemoteEndpoint(uuid.uuid4(), "points", url or server.url, server.secret, manifest)
    cls = remote_skill_class(endpoint, policy)
    return cls(cls.config_model.model_validate(config))


def _ask(skill: RemoteSkill) -> SkillResult:
    return skill.handle(
        make_turn("cuántos puntos tengo", intent="points_balance"), skill_context(PointsSkill)
    )


def _loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


def test_the_breaker_opens_after_failures_and_a_good_call_closes_it(
    skill_server: SkillServer,
) -> None:
    policy = RemotePolicy(
        check=_loopback, allow_http=True, timeout_s=10, breaker_failures=2, breaker_cooldown_s=1.0
    )
    good = _skill(skill_server, policy)
    # The same endpoint with a config its server refuses (422): every call fails.
    bad = type(good)(type(good).config_model.model_validate({"no_such_field": 1}))
    for _ in range(2):
        with pytest.raises(RemoteSkillFailed, match="HTTP 422"):
            _ask(bad)
    assert good.breaker().state == "open"
    with pytest.raises(RemoteSkillFailed, match="circuit open"):
        _ask(good)  # skipped: the endpoint is not called while open
    time.sleep(1.2)
    with pytest.raises(RemoteSkillFailed, match="HTTP 422"):
        _ask(bad)  # the one trial call after the cool-down fails: open again at once
    assert good.breaker().state == "open"
    time.sleep(1.2)
    assert _ask(good).replies[0].text == "Peluquería Sol: tenés 0 puntos (0 turnos)."
    assert good.breaker().state == "closed"


def test_private_and_plain_http_urls_are_refused_unless_the_platform_allows_them(
    skill_server: SkillServer,
) -> None:
    strict = remote_policy(Settings(remote_skills_allow_private=False))
    port = skill_server.url.rsplit(":", 1)[1]
    refusals = {
        skill_server.url: "must be https",
        f"https://127.0.0.1:{port}": "private, loopback or link-local",
        "https://localhost/skill": "private, loopback or link-local",
        "https://169.254.169.254/latest": "private, loopback or link-local",
        "https://10.0.0.8": "private, loopback or link-local",
        "https://[::1]:8443": "private, loopback or link-local",
        "https://user:pw@example.com": "nothing more",
    }
    for url, reason in refusals.items():
        with pytest.raises(RemoteSkillRefused, match=reason) as refused:
            fetch_manifest(url, skill_server.secret, strict)
        assert refused.value.code == "unsafe_url"
    allowed = remote_policy(Settings(remote_skills_allow_private=True))
    assert isinstance(fetch_manifest(skill_server.url, skill_server.secret, allowed), Manifest)


def test_every_call_checks_the_address_again_and_dials_the_checked_one(
    skill_server: SkillServer,
) -> None:
    port = skill_server.url.rsplit(":", 1)[1]
    # "skill.invalid" resolves nowhere: the call works only because it dials the address
    # the check returned, never the name again.
    lenient = RemotePolicy(check=_loopback, allow_http=True, timeout_s=10)
    pinned = _skill(skill_server, lenient, url=f"http://skill.invalid:{port}")
    assert _ask(pinned).replies[0].text.startswith("Peluquería Sol")

    # Registered while it was fine; now its name resolves inside our network (DNS
    # rebinding): the call is refused before anything is sent, and counts as a failure.
    def rebound(host: str, port: int) -> list[str]:
        return checked_addresses(host, port, resolver=lambda h, p: ["10.1.2.3"])

    registered = _skill(skill_server, lenient)
    endpoint = type(registered).endpoint
    rebound_skill = remote_skill_class(
        endpoint, RemotePolicy(check=rebound, allow_http=True, timeout_s=10)
    )()
    with pytest.raises(RemoteSkillFailed, match="private, loopback or link-local"):
        _ask(rebound_skill)
