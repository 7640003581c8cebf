"""One deadline for the whole remote call: a server that drips its answer a byte at a
time, or a host name whose lookup hangs, cannot hold a call (nor a shared helper thread)
past the skill's timeout, and such an overrun counts against the circuit breaker."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator

import pytest

from hablo.plugins import remote_http
from hablo.plugins.remote_http import RemoteCallError
from hablo.plugins.remote_protocol import ContextView
from hablo.plugins.remote_skill import (
    RemoteEndpoint,
    RemotePolicy,
    RemoteSkill,
    RemoteSkillFailed,
    remote_skill_class,
)
from hablo.plugins.remote_store import fetch_manifest
from hablo.plugins.sdk import SkillContext, Turn
from hablo.testing.context import make_turn, skill_context
from tests.remote.conftest import SkillServer
from tests.remote.points_skill import PointsSkill

DRIP_BYTES = 40  # one every 0.5 s: 20 s in all, each read well under the timeout


def _loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


def _remote_class(server: SkillServer, url: str, policy: RemotePolicy) -> type[RemoteSkill]:
    """The points skill's manifest (from the real server), registered at `url`."""
    manifest = fetch_manifest(server.url, server.secret, policy)
    endpoint = RemoteEndpoint(uuid.uuid4(), "points", url, server.secret, manifest)
    return remote_skill_class(endpoint, policy)


@pytest.fixture
def drip_url() -> Iterator[str]:
    """A server that answers 200 with a valid JSON body, one byte every half second."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.recv(65536)
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {DRIP_BYTES + 2}\r\n\r\n".encode()
                    )
                    for _ in range(DRIP_BYTES):
                        if stop.wait(0.5):
                            return
                        conn.sendall(b" ")
                    conn.sendall(b"{}")
                except OSError:
                    continue  # the client hung up: serve the next one

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    server.close()
    thread.join(30)


def test_a_dripping_answer_ends_at_the_deadline(drip_url: str) -> None:
    with pytest.raises(RemoteCallError, match="deadline"):
        remote_http.call(
            drip_url, "POST", "turn", "x" * 32, body=b"{}",
            timeout_s=1.0, check=_loopback, allow_http=True,
        )  # fmt: skip


def test_a_hanging_lookup_is_inside_the_deadline(skill_server: SkillServer) -> None:
    released = threading.Event()

    def hanging(host: str, port: int) -> list[str]:
        released.wait(60)  # a resolver that never answers in time
        return ["127.0.0.1"]

    try:
        with pytest.raises(RemoteCallError, match="resolving"):
            remote_http.call(
                skill_server.url, "GET", "manifest", skill_server.secret,
                timeout_s=1.0, check=hanging, allow_http=True,
            )  # fmt: skip
    finally:
        released.set()


def test_an_overrun_opens_the_breaker(skill_server: SkillServer, drip_url: str) -> None:
    policy = RemotePolicy(
        check=_loopback, allow_http=True, timeout_s=1.0, breaker_failures=1,
        breaker_cooldown_s=600,
    )  # fmt: skip
    skill = _remote_class(skill_server, drip_url, policy)()
    turn = make_turn("cuántos puntos tengo", intent="points_balance")
    with pytest.raises(RemoteSkillFailed, match="deadline"):
        skill.handle(turn, skill_context(PointsSkill))
    assert skill.breaker().state == "open"
    with pytest.raises(RemoteSkillFailed, match="circuit open"):
        skill.handle(turn, skill_context(PointsSkill))


def test_a_trial_call_that_fails_on_our_side_still_reports_to_the_breaker(
    skill_server: SkillServer,
) -> None:
    policy = RemotePolicy(
        check=_loopback, allow_http=True, timeout_s=10, breaker_failures=1,
        breaker_cooldown_s=0.0,
    )  # fmt: skip
    cls = _remote_class(skill_server, skill_server.url, policy)

    class Broken(cls):  # type: ignore[valid-type,misc]
        def _view(self, turn: Turn, ctx: SkillContext) -> ContextView:
            raise RuntimeError("the context view failed")  # before any HTTP

    turn = make_turn("cuántos puntos tengo", intent="points_balance")
    good = cls()
    good.breaker().failed()  # opened; a zero cool-down makes the next call the trial
    with pytest.raises(RuntimeError):
        Broken().handle(turn, skill_context(PointsSkill))
    # The trial was reported: the breaker lets the next trial through, it is not stuck.
    assert good.handle(turn, skill_context(PointsSkill)).replies
    assert good.breaker().state == "closed"
