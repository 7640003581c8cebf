"""Arbitrary Unicode through every channel's edge, on SQLite and PostgreSQL: NUL and other
controls, lone surrogates, RTL marks, 64 KB. Whatever arrives, no request gets a 5xx, and
no conversation gets stuck: every accepted message ends processed or quarantined, and the
customer's next normal message is answered.

The reported incident: `{"text": "hola \\u0000"}` failed every retry of its turn on
PostgreSQL and blocked the customer's conversation for good.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from hablo.bootstrap import bootstrap
from hablo.db.base import utcnow
from hablo.db.enums import InboxStatus, OutboxStatus
from hablo.db.models import InboxEvent, OutboxMessage
from hablo.demo import seed_demo
from hablo.engine.messages import InboundMessage
from tests.api.support import Api
from tests.conftest import make_settings
from tests.e2e.server import serve, wait_until
from tests.e2e.test_twilio_sms import connect as connect_twilio
from tests.e2e.test_whatsapp_cloud import connect as connect_whatsapp
from tests.integration.helpers import DeliveredTurns
from tests.providers.fake_twilio import AUTH_TOKEN, PUBLIC_URL, FakeTwilio, inbound_sms
from tests.providers.fake_whatsapp_cloud import APP_SECRET, FakeWhatsAppCloud, text_message

TIMEOUT_S = 30.0
FOLLOW_UP = "¿cuánto sale el corte?"
NASTY = (
    "\x00",
    "\ud800",
    "\udfff",
    "\udbff\udc00",  # a surrogate "pair" inside a str: still not UTF-8
    "\u200f",  # RTL mark
    "\u202e",  # RTL override
    "\ufeff",
    "\r",
    "\x1b[31m",
    "\x7f",
    "\U0001f600",
    "\u0301",
)

hostile_text = st.one_of(
    st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=8)), max_size=24).map("".join),
    st.text(alphabet=st.characters(exclude_categories=()), max_size=64),
    st.builds(
        lambda unit, n: (unit * n)[:65536],
        st.sampled_from(("a", "\x00", "ñ\u200f")),
        st.just(65536),
    ),
)


@dataclass
class World:
    api: Api
    whatsapp: FakeWhatsAppCloud
    twilio: FakeTwilio
    turns: DeliveredTurns


@contextmanager
def live_everything(db_url: str) -> Iterator[World]:
    whatsapp, twilio = FakeWhatsAppCloud().start(), FakeTwilio().start()
    settings_ = make_settings(
        db_url,
        channels=["console", "webchat", "whatsapp_cloud", "twilio_sms"],
        public_url=PUBLIC_URL,
        whatsapp_cloud_api_base=whatsapp.api_base,
        twilio_api_base=twilio.api_base,
        turn_max_attempts=2,
        turn_retry_delay_s=0.05,
        # Every example is a new visitor from 127.0.0.1: the abuse limits are tested elsewhere.
        webchat_new_visitors_per_minute=100_000,
        webchat_connections_per_ip_per_minute=100_000,
        webchat_messages_per_ip_per_minute=100_000,
    )
    runtime = bootstrap(settings_, upgrade_schema=False)
    with runtime.db.transaction() as session:
        seed_demo(session)
    try:
        with serve(runtime) as server:
            api = Api(server, runtime)
            connect_whatsapp(api, whatsapp)
            connect_twilio(api, twilio, max_per_second=1000)
            turns = DeliveredTurns()
            runtime.engine.add_turn_listener(turns)
            yield World(api, whatsapp, twilio, turns)
    finally:
        runtime.close()
        whatsapp.stop()
        twilio.stop()


def _inbox(world: World, channel: str, provider_message_id: str) -> InboxEvent | None:
    with world.api.runtime.db.transaction() as session:
        return session.scalars(
            select(InboxEvent).where(
                InboxEvent.channel == channel, InboxEvent.provider_message_id == provider_message_id
            )
        ).first()


def _answered(world: World, channel: str, provider_message_id: str) -> bool:
    """Its inbox row was processed and the reply to it was sent."""
    row = _inbox(world, channel, provider_message_id)
    if row is None or row.status != InboxStatus.PROCESSED:
        return False
    with world.api.runtime.db.transaction() as session:
        sent = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.inbox_id == row.id, OutboxMessage.status == OutboxStatus.SENT)
        )
    return bool(sent)


def _no_server_error(response: requests.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])


def _signed_whatsapp(world: World, payload: dict[str, Any]) -> requests.Response:
    # ensure_ascii: a lone surrogate travels as a \\ud800 escape, as JSON allows.
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return requests.post(
        world.api.base_url + "/webhooks/whatsapp",
        data=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
        timeout=TIMEOUT_S,
    )


def _signed_twilio(world: World, params: dict[str, str]) -> requests.Response:
    path = "/webhooks/twilio/sms"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + path, params)
    return requests.post(
        world.api.base_url + path,
        data={k: v.encode("utf-8") for k, v in params.items()},
        headers={"X-Twilio-Signature": signature},
        timeout=TIMEOUT_S,
    )


def _utf8(text: str) -> str:
    """What a form over HTTP can carry: UTF-8 has no surrogates."""
    return text.encode("utf-8", "ignore").decode("utf-8")


def whatsapp_round(world: World, text: str, name: str) -> None:
    peer = f"549{uuid.uuid4().int % 10**10:010d}"
    hostile = text_message(peer, text, f"wamid.{uuid.uuid4().hex}", name=name)
    _no_server_error(_signed_whatsapp(world, hostile))
    # The same garbage in the sender, the message id and the name.
    odd = text_message(f"549{text[:40]}", "hola", f"wamid.{text[:300]}", name=text[:300])
    _no_server_error(_signed_whatsapp(world, odd))
    follow_id = f"wamid.follow-{uuid.uuid4().hex}"
    _no_server_error(_signed_whatsapp(world, text_message(peer, FOLLOW_UP, follow_id)))
    wait_until(
        lambda: _answered(world, "whatsapp_cloud", follow_id), TIMEOUT_S, what="WA follow-up"
    )


def twilio_round(world: World, text: str, name: str) -> None:
    peer = f"+54911{uuid.uuid4().int % 10**8:08d}"
    form = inbound_sms(peer, _utf8(text), f"SM{uuid.uuid4().hex}", ProfileName=_utf8(name))
    _no_server_error(_signed_twilio(world, form))
    odd = inbound_sms(peer, "hola", "SM" + _utf8(text[:300]))
    _no_server_error(_signed_twilio(world, odd))
    follow_id = f"SMfollow{uuid.uuid4().hex}"
    _no_server_error(_signed_twilio(world, inbound_sms(peer, FOLLOW_UP, follow_id)))
    wait_until(
        lambda: _answered(world, "twilio_sms", follow_id), TIMEOUT_S, what="Twilio follow-up"
    )


def console_round(world: World, text: str, name: str) -> None:
    engine, tenant_id = world.api.runtime.engine, world.api.tenant_id()
    peer = f"+54911{uuid.uuid4().int % 10**8:08d}"

    def message(body: str, provider_id: str, sender: str = "") -> InboundMessage:
        return InboundMessage(tenant_id, "console", peer, body, provider_id, utcnow(), sender)

    engine.submit(message(text, f"console-{uuid.uuid4()}", name))
    engine.submit(message("hola", text or "empty-id", text))
    follow = engine.submit(message(FOLLOW_UP, f"console-{uuid.uuid4()}"))
    world.turns.wait_for([follow.inbox_id], timeout=TIMEOUT_S)


async def webchat_round(world: World, text: str) -> None:
    url = world.api.server.url(f"/chat/demo?visitor=v{uuid.uuid4().hex[:20]}")
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url) as ws:
            # Raw frame: json.dumps escapes surrogates as \\ud800, which browsers may send.
            await ws.send_str(json.dumps({"id": f"c-{uuid.uuid4()}", "text": text}))
            reply = await ws.receive(timeout=TIMEOUT_S)
            if reply.type == aiohttp.WSMsgType.TEXT:
                assert json.loads(reply.data)["type"] in ("ack", "error", "message")
            else:  # a frame over 16 KB closes the socket (1009): not an error of ours
                assert reply.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        # The visitor's next normal message is answered (a new socket: the old may be closed).
        async with http.ws_connect(url) as ws:
            await ws.send_json({"id": "follow-up", "text": FOLLOW_UP})
            deadline = time.monotonic() + TIMEOUT_S
            while True:
                frame = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
                assert frame.type == aiohttp.WSMsgType.TEXT, frame
                data = json.loads(frame.data)
                if data["type"] == "message" and "$8.000" in data["text"]:
                    return
                assert data["type"] != "error" or data["error"]["code"] != "unavailable", data


def test_hostile_unicode_on_every_channel_never_sticks(db_url: str) -> None:
    with live_everything(db_url) as world:

        @settings(
            max_examples=25,
            deadline=None,
            # Each example is a dozen real turns: shrinking would take minutes on 2 cores;
            # a failure is reported with the example as generated.
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            derandomize=True,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(text=hostile_text, name=hostile_text)
        def every_channel(text: str, name: str) -> None:
            asyncio.run(webchat_round(world, text))
            whatsapp_round(world, text, name)
            twilio_round(world, text, name)
            console_round(world, text, name)

        every_channel()

        # 0 stuck: every accepted message ends processed or quarantined.
        def pending() -> int:
            with world.api.runtime.db.transaction() as session:
                return int(
                    session.scalar(
                        select(func.count())
                        .select_from(InboxEvent)
                        .where(InboxEvent.status == InboxStatus.PENDING)
                    )
                    or 0
                )

        wait_until(lambda: pending() == 0, TIMEOUT_S, what="no pending inbox rows")
        with world.api.runtime.db.transaction() as session:
            statuses = set(session.scalars(select(InboxEvent.status)).all())
        assert statuses <= {InboxStatus.PROCESSED, InboxStatus.QUARANTINED}


@pytest.mark.parametrize("text", ["hola \x00", "hola \ud800", "\x00"])
def test_the_reported_messages_are_answered(db_url: str, text: str) -> None:
    """The incident's exact frames, and WhatsApp's NUL in `from` (a 500 before)."""
    with live_everything(db_url) as world:
        asyncio.run(webchat_round(world, text))
        peer = f"549{uuid.uuid4().int % 10**10:010d}"
        nul_from = text_message(peer + "\x00", "hola", f"wamid.{uuid.uuid4().hex}")
        response = _signed_whatsapp(world, nul_from)
        assert response.status_code == 200, response.text
        wait_until(lambda: world.whatsapp.sent_to(peer), TIMEOUT_S, what="reply to NUL sender")
