"""What a remote skill answers is untrusted input: hablo validates it (sizes, shapes,
https media), turns a bad answer into a failure the breaker counts, and never repeats a
request that reached the skill (a fake remote skill on 127.0.0.1, over real HTTP)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from hablo.plugins.remote_protocol import IntentModel, Manifest
from hablo.plugins.remote_skill import (
    RemoteEndpoint,
    RemotePolicy,
    RemoteSkill,
    RemoteSkillFailed,
    remote_skill_class,
)
from hablo.testing.context import make_turn, skill_context
from tests.providers.threaded import ThreadedFakeServer

SECRET = "x" * 40


class FakeRemoteSkill(ThreadedFakeServer):
    thread_name = "fake-remote-skill"

    def __init__(self) -> None:
        super().__init__()
        self.answer: Any = {"replies": [{"text": "hola"}]}
        self.status = 200
        self.delay_s = 0.0
        self.calls = 0

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/turn", self._turn)

    async def _turn(self, request: web.Request) -> web.Response:
        self.calls += 1
        await request.read()
        await asyncio.sleep(self.delay_s)
        if isinstance(self.answer, bytes):
            return web.Response(body=self.answer, status=self.status)
        return web.json_response(self.answer, status=self.status)


@pytest.fixture
def fake() -> Iterator[FakeRemoteSkill]:
    server = FakeRemoteSkill().start()
    try:
        yield server
    finally:
        server.stop()


def _skill(fake: FakeRemoteSkill, timeout_s: float = 10) -> RemoteSkill:
    manifest = Manifest(name="fake", intents=[IntentModel(name="fake", examples={"es": ["x"]})])
    endpoint = RemoteEndpoint(
        uuid.uuid4(), "fake", f"http://127.0.0.1:{fake.port}", SECRET, manifest
    )
    policy = RemotePolicy(
        check=lambda host, port: ["127.0.0.1"],
        allow_http=True,
        timeout_s=timeout_s,
        breaker_failures=100,
    )
    return remote_skill_class(endpoint, policy)()


def _ask(skill: RemoteSkill) -> Any:
    return skill.handle(make_turn("x", intent="fake"), skill_context())


def test_a_good_answer_becomes_a_skill_result(fake: FakeRemoteSkill) -> None:
    fake.answer = {
        "replies": [
            {"text": "Elegí\x00 uno", "choices": ["A", "B"]},
            {"text": "la foto", "media_url": "https://cdn.example/a.jpg"},
        ],
        "state": {"step": 2},
        "flow": True,
        "follow_up": {"intent": "pay", "entities": {"note": "x"}},
    }
    result = _ask(_skill(fake))
    assert [r.text for r in result.replies] == ["Elegí uno", "la foto"]
    assert result.replies[0].choices == ("A", "B")
    assert result.replies[1].media_url == "https://cdn.example/a.jpg"
    assert result.state == {"step": 2} and result.flow is True
    assert result.follow_up.intent == "pay"


@pytest.mark.parametrize(
    ("answer", "status", "reason"),
    [
        ({"replies": [{"text": "x"}] * 11}, 200, "invalid answer: replies"),
        ({"state": {"blob": "x" * 20_000}}, 200, "state is larger"),
        ({"actions": [{"type": "reschedule", "booking_id": str(uuid.uuid4())}]}, 200, "actions"),
        ({"replies": [{"text": "x", "media_url": "http://10.0.0.1/a.jpg"}]}, 200, "media_url"),
        ({"replies": [{"text": "x", "html": "<b>"}]}, 200, "html"),
        (b"<html>oops</html>", 200, "not JSON"),
        ({"error": "boom"}, 500, "HTTP 500"),
    ],
)
def test_a_bad_answer_is_a_failure(
    fake: FakeRemoteSkill, answer: Any, status: int, reason: str
) -> None:
    fake.answer, fake.status = answer, status
    skill = _skill(fake)
    with pytest.raises(RemoteSkillFailed, match=reason):
        _ask(skill)
    assert fake.calls == 1


def test_a_request_that_reached_the_skill_is_never_repeated(fake: FakeRemoteSkill) -> None:
    fake.delay_s = 3
    with pytest.raises(RemoteSkillFailed, match="after the request was sent"):
        _ask(_skill(fake, timeout_s=0.5))
    assert fake.calls == 1


def test_the_answers_own_keys_cannot_forge_log_lines_or_flood_them(
    fake: FakeRemoteSkill,
) -> None:
    forged = "x\n2026-12-07 INFO hablo.auth: admin logged in\u202e" + "y" * 500
    fake.answer, fake.status = {forged: 1}, 200
    with pytest.raises(RemoteSkillFailed) as failed:
        _ask(_skill(fake))
    reason = str(failed.value)
    assert "\n" not in reason and "\u202e" not in reason
    assert "x\\n2026-12-07" in reason and "\\u202e" in reason  # shown, escaped
    assert len(reason) < 160  # the skill's name and the reason, cut to ~100 characters
