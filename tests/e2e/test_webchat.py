"""The web chat end to end, on SQLite and PostgreSQL: the real aiohttp app on a real port,
a real WebSocket client, the real engine and database behind it."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from hablo.bootstrap import Runtime, bootstrap
from hablo.db.base import utcnow
from hablo.db.enums import DeliveryStatus, OutboxStatus, SenderKind
from hablo.db.models import InboxEvent, Message, OutboxMessage
from hablo.demo import seed_demo
from hablo.engine.messages import InboundMessage
from tests.conftest import make_settings
from tests.e2e.server import ServerThread, serve, wait_until
from tests.integration.helpers import count

VISITOR = "visitor-abc123"
Frame = dict[str, Any]
WS = aiohttp.ClientWebSocketResponse


# -- client helpers --------------------------------------------------------------------------


def ws_url(server: ServerThread, slug: str = "demo", visitor: str = VISITOR) -> str:
    return server.url(f"/chat/{slug}?visitor={visitor}")


async def frames_until(
    ws: WS, done: Callable[[list[Frame]], bool], timeout: float = 30.0
) -> list[Frame]:
    """Read JSON frames until `done(frames)`; fail (showing what came) after `timeout`."""
    frames: list[Frame] = []
    deadline = time.monotonic() + timeout
    while not done(frames):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out; frames so far: {frames}")
        try:
            msg = await ws.receive(timeout=remaining)
        except TimeoutError as exc:
            raise AssertionError(f"timed out; frames so far: {frames}") from exc
        assert msg.type == aiohttp.WSMsgType.TEXT, f"socket ended: {msg.type} {msg.data!r}"
        frames.append(json.loads(msg.data))
    return frames


async def nothing_more(ws: WS, wait: float = 0.5) -> None:
    try:
        msg = await ws.receive(timeout=wait)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected frame: {msg.type} {msg.data!r}")


def of_type(frames: list[Frame], kind: str) -> list[Frame]:
    return [f for f in frames if f.get("type") == kind]


async def say(ws: WS, text: str, client_id: str | None = None) -> tuple[Frame, Frame]:
    """Send one message; return its ack and the bot's reply (in whichever order they came)."""
    client_id = client_id or f"c-{uuid.uuid4()}"
    await ws.send_json({"id": client_id, "text": text})
    frames = await frames_until(
        ws, lambda fs: bool(of_type(fs, "ack")) and bool(of_type(fs, "message"))
    )
    assert not of_type(frames, "error"), frames
    (ack,) = of_type(frames, "ack")
    (reply,) = of_type(frames, "message")
    assert ack == {"type": "ack", "id": client_id, "duplicate": False}
    return ack, reply


def messages(runtime: Runtime) -> list[Any]:
    with runtime.db.transaction() as session:
        return list(
            session.execute(
                select(Message.sender_kind, Message.body, Message.status).order_by(
                    Message.created_at
                )
            ).all()
        )


# -- tests -----------------------------------------------------------------------------------


def test_conversation_over_websocket_is_answered_and_stored(runtime: Runtime) -> None:
    async def chat(server: ServerThread) -> list[str]:
        async with aiohttp.ClientSession() as http, http.ws_connect(ws_url(server)) as ws:
            _, greeting = await say(ws, "hola")
            _, price = await say(ws, "¿cuánto sale el corte?")
            await ws.close()
        return [greeting["text"], price["text"]]

    with serve(runtime) as server:
        greeting, price = asyncio.run(chat(server))

    assert "Peluquería Sol" in greeting
    assert "$8.000" in price
    rows = messages(runtime)
    customer = [r for r in rows if r.sender_kind == SenderKind.CUSTOMER]
    bot = [r for r in rows if r.sender_kind == SenderKind.BOT]
    assert [r.body for r in customer] == ["hola", "¿cuánto sale el corte?"]
    assert sorted(r.body for r in bot) == sorted([greeting, price])
    assert [r.status for r in bot] == [DeliveryStatus.SENT, DeliveryStatus.SENT]
    with runtime.db.transaction() as session:
        peers = set(session.scalars(select(InboxEvent.peer)).all())
    assert peers == {VISITOR}


def test_resent_message_is_acknowledged_but_answered_once(runtime: Runtime) -> None:
    async def chat(server: ServerThread) -> list[Frame]:
        async with aiohttp.ClientSession() as http, http.ws_connect(ws_url(server)) as ws:
            for _ in range(3):
                await ws.send_json({"id": "same-1", "text": "hola"})
            frames = await frames_until(
                ws, lambda fs: len(of_type(fs, "ack")) == 3 and bool(of_type(fs, "message"))
            )
            await nothing_more(ws, 0.7)  # a second reply would show up here
            await ws.close()
        return frames

    with serve(runtime) as server:
        frames = asyncio.run(chat(server))

    assert [(f["id"], f["duplicate"]) for f in of_type(frames, "ack")] == [
        ("same-1", False),
        ("same-1", True),
        ("same-1", True),
    ]
    replies = of_type(frames, "message")
    assert len(replies) == 1 and "Peluquería Sol" in replies[0]["text"]
    assert count(runtime, InboxEvent) == 1
    assert count(runtime, Message, Message.sender_kind == SenderKind.CUSTOMER) == 1
    assert count(runtime, Message, Message.sender_kind == SenderKind.BOT) == 1


def _assert_error_body(body: Any, code: str) -> None:
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)


def _upgrade_headers() -> dict[str, str]:
    return {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
    }


def test_bad_requests_get_json_errors_and_store_nothing(runtime: Runtime) -> None:
    async def probe(server: ServerThread) -> None:
        async with aiohttp.ClientSession() as http:
            # Unknown tenant: the page and the upgrade are both a JSON 404.
            async with http.get(server.url("/chat/no-such-shop")) as resp:
                assert resp.status == 404
                assert resp.content_type == "application/json"
                _assert_error_body(await resp.json(), "tenant_not_found")
            async with http.get(
                server.url("/chat/no-such-shop?visitor=visitor-abc123"),
                headers=_upgrade_headers(),
            ) as resp:
                assert resp.status == 404
                _assert_error_body(await resp.json(), "tenant_not_found")
            with pytest.raises(aiohttp.WSServerHandshakeError) as failed:
                await http.ws_connect(ws_url(server, slug="no-such-shop"))
            assert failed.value.status == 404

            # A bad visitor id on the upgrade: a JSON 400, no socket.
            for visitor in ("x", "", "a" * 65, "abc%20defghij"):
                async with http.get(
                    server.url(f"/chat/demo?visitor={visitor}"), headers=_upgrade_headers()
                ) as resp:
                    assert resp.status == 400, visitor
                    assert resp.content_type == "application/json"
                    _assert_error_body(await resp.json(), "invalid_visitor")
            with pytest.raises(aiohttp.WSServerHandshakeError) as failed:
                await http.ws_connect(ws_url(server, visitor="x"))
            assert failed.value.status == 400

            # Bad frames: an error frame each, and the socket stays usable.
            async with http.ws_connect(ws_url(server)) as ws:
                bad: list[tuple[str, str]] = [
                    ("this is not json", "bad_frame"),
                    ("[1, 2]", "bad_frame"),
                    ('{"id": "no-text"}', "bad_frame"),
                    ('{"id": "e1", "text": ""}', "bad_text"),
                    ('{"id": "e2", "text": "   \\n "}', "bad_text"),
                    (json.dumps({"id": "e3", "text": "x" * 4001}), "bad_text"),
                    ('{"id": "e4", "text": null}', "bad_frame"),
                    ('{"id": "e5", "text": {"a": 1}}', "bad_frame"),
                ]
                for raw, code in bad:
                    await ws.send_str(raw)
                    (frame,) = await frames_until(ws, lambda fs: len(fs) == 1)
                    assert frame["type"] == "error", raw
                    _assert_error_body({"error": frame["error"]}, code)
                await nothing_more(ws, 0.3)
                assert count(runtime, InboxEvent) == 0
                assert count(runtime, Message) == 0
                # Still usable after all that.
                _, reply = await say(ws, "hola")
                assert "Peluquería Sol" in reply["text"]
                await ws.close()

    with serve(runtime) as server:
        asyncio.run(probe(server))

    assert [r.body for r in messages(runtime) if r.sender_kind == SenderKind.CUSTOMER] == ["hola"]
    assert count(runtime, InboxEvent) == 1


def test_chat_page_and_health(runtime: Runtime) -> None:
    async def fetch(server: ServerThread) -> None:
        async with aiohttp.ClientSession() as http:
            async with http.get(server.url("/chat/demo")) as resp:
                assert resp.status == 200
                assert resp.content_type == "text/html"
                page = await resp.text()
            assert "<title>Peluquería Sol · chat</title>" in page
            assert "{{TENANT_NAME}}" not in page
            assert 'id="text"' in page
            async with http.get(server.url("/healthz")) as resp:
                assert resp.status == 200
                assert resp.content_type == "application/json"
                health = await resp.json()
            assert health["status"] == "ok"
            assert health["database"] == runtime.db.dialect
            async with http.get(server.url("/no/such/route")) as resp:
                assert resp.status == 404
                _assert_error_body(await resp.json(), "not_found")

    with serve(runtime) as server:
        asyncio.run(fetch(server))


def _demo_tenant(runtime: Runtime) -> uuid.UUID:
    from hablo.db.models import Tenant

    with runtime.db.transaction() as session:
        return session.scalars(select(Tenant.id).where(Tenant.slug == "demo")).one()


def _accepted_while_offline(runtime: Runtime, text: str) -> None:
    """The visitor's message reached the engine but their socket is gone (e.g. it dropped
    right after sending): submitted exactly as the web chat does, minus the socket."""
    runtime.engine.submit(
        InboundMessage(
            tenant_id=_demo_tenant(runtime),
            channel="webchat",
            peer=VISITOR,
            text=text,
            provider_message_id=f"offline-{uuid.uuid4()}",
            received_at=utcnow(),
        )
    )


def _outbox(runtime: Runtime) -> list[Any]:
    with runtime.db.transaction() as session:
        return list(
            session.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.status,
                    OutboxMessage.attempts,
                    OutboxMessage.last_error,
                ).order_by(OutboxMessage.id)
            ).all()
        )


def _pending_retry(runtime: Runtime) -> Any:
    rows = [r for r in _outbox(runtime) if r.status == OutboxStatus.PENDING and r.attempts >= 1]
    return rows[0] if rows else None


def test_reply_to_offline_visitor_is_delivered_when_they_reconnect(runtime: Runtime) -> None:
    async def online_then_gone(server: ServerThread) -> None:
        async with aiohttp.ClientSession() as http, http.ws_connect(ws_url(server)) as ws:
            await say(ws, "hola")
            await ws.close()

    async def come_back(server: ServerThread) -> list[Frame]:
        async with aiohttp.ClientSession() as http, http.ws_connect(ws_url(server)) as ws:
            frames = await frames_until(ws, lambda fs: bool(of_type(fs, "message")), 15)
            await nothing_more(ws, 0.5)
            await ws.close()
        return frames

    with serve(runtime) as server:
        asyncio.run(online_then_gone(server))
        _accepted_while_offline(runtime, "¿cuánto sale el corte?")
        failed = wait_until(lambda: _pending_retry(runtime), what="a failed send to retry")
        assert failed.last_error == "visitor not connected"
        frames = asyncio.run(come_back(server))

    (reply,) = frames
    assert "$8.000" in reply["text"]
    assert reply["id"] == f"out-{failed.id}"
    retried = next(r for r in _outbox(runtime) if r.id == failed.id)
    assert retried.status == OutboxStatus.SENT and retried.attempts >= 1
    bot = [r for r in messages(runtime) if r.sender_kind == SenderKind.BOT]
    assert len(bot) == 2 and [r.status for r in bot] == [DeliveryStatus.SENT] * 2


@pytest.fixture
def impatient_runtime(db_url: str) -> Iterator[Runtime]:
    """Gives up on an offline visitor after two attempts."""
    rt = bootstrap(make_settings(db_url, outbox_max_attempts=2), upgrade_schema=False)
    with rt.db.transaction() as session:
        seed_demo(session)
    yield rt
    rt.close()


def test_reply_to_visitor_who_never_returns_is_dead_lettered(impatient_runtime: Runtime) -> None:
    runtime = impatient_runtime
    with serve(runtime) as server:
        _accepted_while_offline(runtime, "hola")
        dead = wait_until(
            lambda: [r for r in _outbox(runtime) if r.status == OutboxStatus.DEAD],
            timeout=15,
            what="the reply to be dead-lettered",
        )
        assert server.port  # the server was up the whole time

    assert len(dead) == 1 and dead[0].attempts == 2
    assert dead[0].last_error == "visitor not connected"
    (bot,) = [r for r in messages(runtime) if r.sender_kind == SenderKind.BOT]
    assert bot.status == DeliveryStatus.FAILED


def test_server_stops_promptly_with_a_visitor_connected(runtime: Runtime) -> None:
    server = ServerThread(runtime, shutdown_timeout=20.0).start()

    async def connected_during_shutdown() -> aiohttp.WSMessage:
        async with aiohttp.ClientSession() as http, http.ws_connect(ws_url(server)) as ws:
            await say(ws, "hola")
            await asyncio.get_running_loop().run_in_executor(None, server.stop)
            return await ws.receive(timeout=5)

    last = asyncio.run(connected_during_shutdown())
    # Told "going away" (the page reconnects), not left hanging until the shutdown timeout.
    assert (last.type, last.data) == (aiohttp.WSMsgType.CLOSE, aiohttp.WSCloseCode.GOING_AWAY)
    assert server.stop_seconds is not None and server.stop_seconds < 5, server.stop_seconds
