"""The outbox over the API: dead letters are listed with their error and, retried, go
back to the running dispatcher and reach the customer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from hablo.adapters.base import PermanentSendError
from hablo.db.enums import Role
from hablo.db.models import Message
from hablo.engine.messages import OutboundEnvelope
from tests.api.support import Api
from tests.api.test_conversations import Chats, new_peer
from tests.e2e.server import wait_until
from tests.fakes import CollectingSender
from tests.integration.helpers import DeliveredTurns


class Switch:
    """A provider that refuses everything while `down` is set."""

    def __init__(self) -> None:
        self.down = False

    def __call__(self, envelope: OutboundEnvelope, attempt: int) -> Exception | None:
        return PermanentSendError("provider refused: invalid recipient") if self.down else None


@pytest.fixture
def failing() -> Switch:
    return Switch()


@pytest.fixture
def chats(api: Api, failing: Switch) -> Iterator[Chats]:
    sender = CollectingSender("console", fail=failing)
    turns = DeliveredTurns()
    api.runtime.engine.add_sender(sender)
    api.runtime.engine.add_turn_listener(turns)
    yield Chats(api, sender, turns)


def test_dead_letter_listed_and_retried(api: Api, chats: Chats, failing: Switch) -> None:
    peer = new_peer()
    conversation = chats.start(peer)  # the greeting goes out
    failing.down = True
    agent = api.as_role(Role.AGENT)
    sent = agent.post(f"/api/conversations/{conversation}/messages", json={"text": "¿Seguís ahí?"})
    assert sent.status_code == 201
    owner = api.as_role(Role.OWNER)

    def dead() -> list[dict[str, object]]:
        return list(owner.get("/api/outbox", params={"status": "dead"}).json()["items"])

    letters = wait_until(dead, timeout=30, what="a dead letter")
    assert len(letters) == 1
    letter = letters[0]
    assert letter["text"] == "¿Seguís ahí?" and letter["attempts"] == 1
    assert "invalid recipient" in str(letter["last_error"])
    assert letter["channel"] == "console" and letter["peer"] == peer
    assert letter["conversation_id"] == str(conversation)
    assert _message_status(api, sent.json()["id"]) == "failed"
    assert owner.get(f"/api/outbox/{letter['id']}").json()["status"] == "dead"
    everything = owner.get("/api/outbox").json()
    assert everything["total"] == 2 and everything["items"][0]["id"] == letter["id"]
    assert owner.get("/api/outbox", params={"status": "sent"}).json()["total"] == 1

    failing.down = False
    retried = owner.post(f"/api/outbox/{letter['id']}/retry")
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "pending" and retried.json()["attempts"] == 0
    wait_until(lambda: "¿Seguís ahí?" in chats.texts_to(peer), timeout=30, what="the resend")
    wait_until(
        lambda: owner.get(f"/api/outbox/{letter['id']}").json()["status"] == "sent",
        what="row marked sent",
    )
    assert _message_status(api, sent.json()["id"]) == "sent"
    assert chats.texts_to(peer).count("¿Seguís ahí?") == 1
    again = owner.post(f"/api/outbox/{letter['id']}/retry")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


def test_ids_roles_and_tenants(api: Api, chats: Chats) -> None:
    chats.start(new_peer())
    owner = api.as_role(Role.OWNER)
    row = owner.get("/api/outbox").json()["items"][0]
    for path in ("/api/outbox/0", "/api/outbox/abc", f"/api/outbox/{2**70}", "/api/outbox/-1"):
        assert owner.get(path).status_code == 404, path
    assert owner.post(f"/api/outbox/{2**64}/retry").status_code == 404
    assert owner.get("/api/outbox", params={"status": "lost"}).status_code == 422
    only_console = owner.get("/api/outbox", params={"channel": "console"}).json()
    assert only_console["total"] == 1
    by_conversation = owner.get("/api/outbox", params={"conversation_id": str(uuid.uuid4())}).json()
    assert by_conversation["total"] == 0

    assert api.as_role(Role.AGENT).get("/api/outbox").status_code == 403
    assert api.as_role(Role.AGENT).post(f"/api/outbox/{row['id']}/retry").status_code == 403
    other = api.as_role(Role.OWNER, tenant="other")
    assert other.get("/api/outbox").json()["total"] == 0
    assert other.get(f"/api/outbox/{row['id']}").status_code == 404
    assert other.post(f"/api/outbox/{row['id']}/retry").status_code == 404


def _message_status(api: Api, message_id: str) -> str:
    with api.runtime.db.transaction() as session:
        return str(
            session.scalars(select(Message.status).where(Message.id == uuid.UUID(message_id))).one()
        )
