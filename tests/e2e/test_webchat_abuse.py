"""Web chat abuse, over real HTTP/WebSocket on SQLite and PostgreSQL: a page on another
site cannot open a tenant's chat unless the tenant allowed it, and visitors, IPs and
never-seen visitors per tenant are rate limited (429 with Retry-After, JSON errors)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import pytest
import redis

from hablo.bootstrap import bootstrap
from hablo.db.enums import Role
from hablo.db.models import Contact, InboxEvent
from hablo.demo import seed_demo
from tests.api.support import Api
from tests.conftest import make_settings
from tests.e2e.server import serve
from tests.e2e.test_webchat import _upgrade_headers, frames_until, of_type, say, ws_url
from tests.integration.helpers import count

EVIL = "https://evil.example"
SHOP = "https://shop.example.com"


@contextmanager
def live(db_url: str, **overrides: Any) -> Iterator[Api]:
    runtime = bootstrap(
        make_settings(db_url, channels=["console", "webchat"], **overrides), upgrade_schema=False
    )
    with runtime.db.transaction() as session:
        seed_demo(session)
    try:
        with serve(runtime) as server:
            yield Api(server, runtime)
    finally:
        runtime.close()


def visitor() -> str:
    return f"v-{uuid.uuid4().hex[:16]}"


async def upgrade_status(api: Api, who: str, origin: str | None) -> tuple[int, Any, Any]:
    """Status, JSON body and Retry-After of a WebSocket upgrade that is refused."""
    headers = _upgrade_headers() | ({"Origin": origin} if origin else {})
    async with (
        aiohttp.ClientSession() as http,
        http.get(api.server.url(f"/chat/demo?visitor={who}"), headers=headers) as resp,
    ):
        body = await resp.json() if resp.content_type == "application/json" else None
        return resp.status, body, resp.headers.get("Retry-After")


def test_foreign_origin_is_refused_until_the_tenant_allows_it(db_url: str) -> None:
    with live(db_url) as api:

        async def scenario() -> None:
            status, body, _ = await upgrade_status(api, visitor(), EVIL)
            assert status == 403
            assert body["error"]["code"] == "origin_not_allowed"
            assert body["error"]["details"] == {"origin": EVIL}
            for bad in ("null", "https://shop.example.com.evil.example"):
                assert (await upgrade_status(api, visitor(), bad))[0] == 403
            # hablo's own page (same origin as the server) always may.
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(
                    ws_url(api.server, visitor=visitor()), headers={"Origin": api.base_url}
                ) as ws,
            ):
                _, reply = await say(ws, "hola")
                assert "Peluquería Sol" in reply["text"]

        asyncio.run(scenario())
        assert count(api.runtime, InboxEvent) == 1  # the refused ones stored nothing

        owner = api.as_role(Role.OWNER)
        for bad in (["https://shop.example.com/path"], ["javascript:alert(1)"], ["null"]):
            refused = owner.put("/api/settings", json={"webchat_allowed_origins": bad})
            assert refused.status_code == 422, bad
        changed = owner.put(
            "/api/settings", json={"webchat_allowed_origins": ["https://Shop.Example.com/"]}
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["webchat_allowed_origins"] == [SHOP]
        assert owner.get("/api/settings").json()["webchat_allowed_origins"] == [SHOP]

        async def embedded() -> None:
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(
                    ws_url(api.server, visitor=visitor()), headers={"Origin": SHOP}
                ) as ws,
            ):
                _, reply = await say(ws, "hola")
                assert "Peluquería Sol" in reply["text"]
            assert (await upgrade_status(api, visitor(), EVIL))[0] == 403

        asyncio.run(embedded())


def test_new_visitors_per_tenant_are_capped_but_known_ones_come_back(db_url: str) -> None:
    """The report: 30 visitors in half a second made 30 contacts. Now the tenant takes
    `webchat_new_visitors_per_minute` never-seen visitors a minute."""
    with live(db_url, webchat_new_visitors_per_minute=5) as api:
        visitors = [visitor() for _ in range(30)]

        async def one(who: str) -> int:
            try:
                async with (
                    aiohttp.ClientSession() as http,
                    http.ws_connect(ws_url(api.server, visitor=who)) as ws,
                ):
                    await say(ws, "hola")
                    return 101
            except aiohttp.WSServerHandshakeError as refused:
                return refused.status

        async def crowd() -> list[int]:
            return list(await asyncio.gather(*(one(who) for who in visitors)))

        statuses = asyncio.run(crowd())
        assert statuses.count(101) == 5 and statuses.count(429) == 25, statuses
        assert count(api.runtime, Contact) == 5

        status, body, retry_after = asyncio.run(upgrade_status(api, visitor(), None))
        assert status == 429 and body["error"]["code"] == "rate_limited"
        assert retry_after is not None and 1 <= int(retry_after) <= 60
        assert body["error"]["details"]["retry_after_s"] == int(retry_after)

        # A visitor the tenant already talks to is not new: it reconnects.
        returning = visitors[statuses.index(101)]

        async def comes_back() -> None:
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(ws_url(api.server, visitor=returning)) as ws,
            ):
                _, reply = await say(ws, "¿cuánto sale el corte?")
                assert "$8.000" in reply["text"]

        asyncio.run(comes_back())


def test_messages_per_visitor_and_connections_per_ip_are_limited(db_url: str) -> None:
    with live(
        db_url,
        webchat_messages_per_visitor_per_minute=3,
        webchat_connections_per_ip_per_minute=4,
    ) as api:

        async def chat() -> list[dict[str, Any]]:
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(ws_url(api.server, visitor=visitor())) as ws,
            ):
                for n in range(3):
                    await say(ws, "hola" if n == 0 else f"gracias {n}")
                await ws.send_json({"id": "fourth", "text": "otra vez"})
                return await frames_until(ws, lambda fs: bool(of_type(fs, "error")))

        frames = asyncio.run(chat())
        (error,) = of_type(frames, "error")
        assert error["error"]["code"] == "rate_limited"
        assert 1 <= error["error"]["details"]["retry_after_s"] <= 60
        assert error["error"]["details"]["id"] == "fourth"
        assert count(api.runtime, InboxEvent) == 3  # the fourth never reached the engine

        async def connections() -> list[int]:
            found = []
            for _ in range(4):  # one was used by the chat above
                found.append((await upgrade_status(api, "x", None))[0])
            return found

        # Openings count before the visitor id is read: an invalid one (400) still counts.
        assert asyncio.run(connections()) == [400, 400, 400, 429]


def test_limits_are_shared_through_redis(db_url: str) -> None:
    """With redis_url set the counts live in Redis, so every hablo process sees them."""
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    prefix = f"hablo-test-{uuid.uuid4().hex[:8]}:"
    try:
        with live(
            db_url,
            redis_url="redis://127.0.0.1:6379/0",
            redis_prefix=prefix,
            webchat_messages_per_visitor_per_minute=1,
        ) as api:
            who = visitor()

            async def chat() -> list[dict[str, Any]]:
                async with (
                    aiohttp.ClientSession() as http,
                    http.ws_connect(ws_url(api.server, visitor=who)) as ws,
                ):
                    await say(ws, "hola")
                    await ws.send_json({"id": "second", "text": "hola otra vez"})
                    return await frames_until(ws, lambda fs: bool(of_type(fs, "error")))

            frames = asyncio.run(chat())
            assert of_type(frames, "error")[0]["error"]["code"] == "rate_limited"
            tenant_id = api.tenant_id()
            counted = client.get(f"{prefix}rl:60:webchat:msg:{tenant_id}:{who}")
            assert counted is not None and int(counted) == 2
    finally:
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        client.close()


def test_two_visitors_may_use_the_same_message_ids(db_url: str) -> None:
    """Client ids are per visitor: another visitor's "1" is not a duplicate of mine."""
    with live(db_url) as api:

        async def chat(who: str) -> dict[str, Any]:
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(ws_url(api.server, visitor=who)) as ws,
            ):
                _, reply = await say(ws, "hola", client_id="1")
                return reply

        first, second = asyncio.run(chat(visitor())), asyncio.run(chat(visitor()))
        assert "Peluquería Sol" in first["text"] and "Peluquería Sol" in second["text"]
        assert count(api.runtime, InboxEvent) == 2
