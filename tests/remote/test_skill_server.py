"""`hablo skill serve` (a real subprocess) refuses what was not signed by hablo with the
skill's secret: no signature, a forged one, a stale timestamp, a replayed request; and
answers a signed turn through the skill's own code and templates."""

from __future__ import annotations

import json
import socket
import time
import uuid

import requests

from hablo.plugins.remote_protocol import (
    ContextView,
    DayView,
    Manifest,
    ReplayGuard,
    SignatureRefused,
    TurnModel,
    TurnRequest,
    signed_headers,
)
from hablo.testing.context import DEMO_NOW, DEMO_TENANT, demo_services
from tests.remote.conftest import SkillServer


def turn_body(text: str = "cuántos puntos tengo", config: dict[str, object] | None = None) -> bytes:
    view = ContextView(
        tenant=DEMO_TENANT,
        now=DEMO_NOW,
        services=list(demo_services()),
        weekly_hours={2: [("09:00:00", "19:00:00")]},
        days=[DayView(day=DEMO_NOW.date(), hours=[("09:00:00", "19:00:00")])],
        settings={},
        bookings=[],
        config=dict(config or {}),
    )
    turn = TurnModel(
        text=text,
        language="es",
        intent="points_balance",
        confidence=0.9,
        entities={},
        state={"asked": 2},
        conversation_id=uuid.uuid4(),
        contact_id=uuid.uuid4(),
    )
    return TurnRequest(turn=turn, context=view).model_dump_json().encode()


def post(
    server: SkillServer, body: bytes, headers: dict[str, str], path: str = "/turn"
) -> requests.Response:
    return requests.post(server.url + path, data=body, headers=headers, timeout=30)


def post_config(server: SkillServer, config: dict[str, object]) -> requests.Response:
    body = json.dumps(config).encode()
    return post(server, body, signed_headers(server.secret, body), "/config")


def test_a_signed_turn_is_answered_by_the_skill(skill_server: SkillServer) -> None:
    manifest = Manifest.model_validate(
        requests.get(skill_server.url + "/manifest", timeout=30).json()
    )
    assert manifest.name == "points"
    assert [i.name for i in manifest.intents] == ["points_balance", "points_redeem"]
    body = turn_body()
    answer = post(skill_server, body, signed_headers(skill_server.secret, body))
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["replies"][0]["text"] == "Peluquería Sol: tenés 0 puntos (0 turnos)."
    assert data["state"] == {"asked": 3} and data["actions"] == []


def test_forged_stale_and_replayed_requests_are_refused(skill_server: SkillServer) -> None:
    body = turn_body()
    unsigned = post(skill_server, body, {"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    assert unsigned.json()["error"]["code"] == "bad_signature"

    forged = post(skill_server, body, signed_headers("not-the-secret" * 3, body))
    assert forged.status_code == 401 and forged.json()["error"]["message"] == "bad signature"

    stale = post(skill_server, body, signed_headers(skill_server.secret, body, time.time() - 600))
    assert stale.status_code == 401 and stale.json()["error"]["message"] == "stale timestamp"

    headers = signed_headers(skill_server.secret, body)
    assert post(skill_server, body, headers).status_code == 200
    replayed = post(skill_server, body, headers)
    assert replayed.status_code == 401
    assert replayed.json()["error"]["message"] == "replayed request"

    # A body changed under a good signature is a forgery too.
    tampered = body.replace(b'"asked":2', b'"asked":9')
    assert tampered != body
    assert post(skill_server, tampered, headers).status_code == 401


def test_a_signed_body_arriving_in_pieces_is_read_whole(skill_server: SkillServer) -> None:
    body = turn_body()
    headers = signed_headers(skill_server.secret, body)
    head = (
        f"POST /turn HTTP/1.1\r\nHost: skill\r\nContent-Length: {len(body)}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        + "Connection: close\r\n\r\n"
    ).encode()
    host, port = skill_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(head + body[: len(body) // 2])
        time.sleep(0.5)  # the rest comes later, as over a slow network
        conn.sendall(body[len(body) // 2 :])
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]


def test_an_oversized_body_is_a_413_with_a_json_error(skill_server: SkillServer) -> None:
    body = b'{"pad": "' + b"x" * 300_000 + b'"}'
    answer = post(skill_server, body, signed_headers(skill_server.secret, body))
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "too_large"


def test_the_config_check_uses_the_skills_own_model(skill_server: SkillServer) -> None:
    refused = post_config(skill_server, {"points_per_booking": -1})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["points_per_booking"]
    assert post_config(skill_server, {"points_per_booking": 5}).status_code == 200


def test_hostile_signature_headers_are_a_401_not_a_server_error(
    skill_server: SkillServer,
) -> None:
    body = turn_body()
    good = signed_headers(skill_server.secret, body)
    for changed in (
        {"X-Hablo-Timestamp": "\u00b2"},  # a digit to str.isdigit(), not to int()
        {"X-Hablo-Timestamp": "9" * 5000},
        {"X-Hablo-Signature": "v1=\u00e9" + "0" * 63},  # not ASCII
    ):
        answer = post(skill_server, body, {**good, **changed})
        assert answer.status_code == 401, (changed, answer.status_code)
        assert answer.json()["error"]["code"] == "bad_signature"


def test_the_replay_guard_forgets_only_what_is_out_of_its_window() -> None:
    guard = ReplayGuard("k" * 40, window_s=300)
    body = b"{}"
    headers = signed_headers("k" * 40, body, now=1000)
    guard.check(headers, body, now=1000)
    for now in (1001, 1299):
        try:
            guard.check(headers, body, now=now)
        except SignatureRefused as exc:
            assert str(exc) == "replayed request"
        else:
            raise AssertionError("a replay inside the window was accepted")
    try:
        guard.check(headers, body, now=1301)
    except SignatureRefused as exc:
        assert str(exc) == "stale timestamp"
    else:
        raise AssertionError("a stale request was accepted")


def test_two_identical_requests_in_one_second_are_not_a_replay() -> None:
    # A double PUT, or one config checked by two processes at once: each request has its
    # own nonce, so only a request sent again with its own headers is a replay.
    guard = ReplayGuard("k" * 40, window_s=300)
    body = b'{"same": true}'
    first, second = (signed_headers("k" * 40, body, now=1000) for _ in range(2))
    guard.check(first, body, now=1000)
    guard.check(second, body, now=1000)
    try:
        guard.check(first, body, now=1000)
    except SignatureRefused as exc:
        assert str(exc) == "replayed request"
    else:
        raise AssertionError("a replay was accepted")
    without_nonce = {k: v for k, v in first.items() if k != "X-Hablo-Nonce"}
    try:
        guard.check(without_nonce, body, now=1000)
    except SignatureRefused as exc:
        assert str(exc) == "missing signature"
    else:
        raise AssertionError("a request without a nonce was accepted")
