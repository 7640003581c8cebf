"""Conversations over the API: list and filter, detail, status and topic, assign, close,
notes, roles and tenant isolation. Conversations come from real customer messages
through the engine (console channel, a collecting sender)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from hablo.db.enums import Role
from hablo.db.models import Conversation
from tests.api.support import Api, Client
from tests.fakes import CollectingSender
from tests.integration.helpers import DeliveredTurns, inbound


@dataclass
class Chats:
    """Customers writing to a live server's engine; the replies they got."""

    api: Api
    sender: CollectingSender
    turns: DeliveredTurns

    def say(self, text: str, peer: str, tenant: str = "demo") -> int:
        """A customer message, returned once its turn's replies were handed to the sender."""
        message = inbound(self.api.tenant_id(tenant), text, peer=peer)
        result = self.api.runtime.engine.submit(message)
        self.turns.wait_for([result.inbox_id], timeout=120)  # first turn trains the NLU
        return result.inbox_id

    def conversation_id(self, peer: str, tenant: str = "demo") -> uuid.UUID:
        """The customer's live conversation (the latest one)."""
        with self.api.runtime.db.transaction() as session:
            return session.scalars(
                select(Conversation.id)
                .where(
                    Conversation.tenant_id == self.api.tenant_id(tenant),
                    Conversation.peer == peer,
                )
                .order_by(Conversation.created_at.desc())
            ).first()  # type: ignore[return-value]

    def start(self, peer: str, text: str = "hola", tenant: str = "demo") -> uuid.UUID:
        self.say(text, peer, tenant)
        return self.conversation_id(peer, tenant)

    def texts_to(self, peer: str) -> list[str]:
        return self.sender.texts_for(peer)


@pytest.fixture
def chats(api: Api) -> Iterator[Chats]:
    sender = CollectingSender("console")
    turns = DeliveredTurns()
    api.runtime.engine.add_sender(sender)
    api.runtime.engine.add_turn_listener(turns)
    yield Chats(api, sender, turns)


def new_peer() -> str:
    return f"+54911{uuid.uuid4().int % 10**8:08d}"


def items(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_list_filters_and_contact_names(api: Api, chats: Chats) -> None:
    first, second = new_peer(), new_peer()
    one = chats.start(first)
    two = chats.start(second, "¿cuánto sale el corte?")
    theirs = chats.start(new_peer(), tenant="other")
    agent = api.as_role(Role.AGENT)

    listed = agent.get("/api/conversations").json()
    assert listed["total"] == 2
    # Newest activity first by default.
    assert [c["id"] for c in listed["items"]] == [str(two), str(one)]
    assert {c["peer"] for c in listed["items"]} == {first, second}
    assert all(c["channel"] == "console" and c["status"] == "open" for c in listed["items"])
    assert all(c["message_count"] >= 2 and "contact_name" in c for c in listed["items"])
    assert str(theirs) not in {c["id"] for c in listed["items"]}

    oldest_first = items(agent.get("/api/conversations", params={"sort": "last_message_at"}))
    assert [c["id"] for c in oldest_first] == [str(one), str(two)]
    contact = listed["items"][0]["contact_id"]
    by_contact = items(agent.get("/api/conversations", params={"contact_id": contact}))
    assert [c["id"] for c in by_contact] == [str(two)]
    assert len(items(agent.get("/api/conversations", params={"channel": "webchat"}))) == 0
    assert len(items(agent.get("/api/conversations", params={"status": ["open", "closed"]}))) == 2
    assert len(items(agent.get("/api/conversations", params={"status": "waiting_human"}))) == 0
    assert len(items(agent.get("/api/conversations", params={"unassigned": "true"}))) == 2
    assert len(items(agent.get("/api/conversations", params={"unassigned": "false"}))) == 0
    later = agent.get("/api/conversations", params={"updated_from": "2999-01-01T00:00:00Z"})
    assert items(later) == []
    assert (
        len(items(agent.get("/api/conversations", params={"updated_to": "2999-01-01T00:00:00Z"})))
        == 2
    )
    paged = agent.get("/api/conversations", params={"per_page": 1, "page": 2}).json()
    assert paged["total"] == 2 and [c["id"] for c in paged["items"]] == [str(one)]

    bad = agent.get("/api/conversations", params={"status": "sleeping", "sort": "x"})
    assert bad.status_code == 422
    assert {tuple(d["loc"])[:2] for d in bad.json()["error"]["details"]} >= {
        ("query", "status"),
        ("query", "sort"),
    }


def test_detail_with_messages_notes_and_etag(api: Api, chats: Chats) -> None:
    peer = new_peer()
    conversation = chats.start(peer)
    chats.say("¿a qué hora abren el sábado?", peer)
    agent = api.as_role(Role.AGENT)
    path = f"/api/conversations/{conversation}"
    assert agent.post(f"{path}/notes", json={"body": "Cliente frecuente"}).status_code == 201

    response = agent.get(path, params={"messages": 3})
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["contact_phone"] == peer
    assert [n["body"] for n in detail["notes"]] == ["Cliente frecuente"]
    bodies = [m["body"] for m in detail["messages"]]
    assert len(bodies) == 3
    # Oldest first, ending with the bot's answer to the latest question.
    assert bodies[1] == "¿a qué hora abren el sábado?"
    assert [m["sender_kind"] for m in detail["messages"]][1:] == ["customer", "bot"]
    assert bodies[2] == chats.texts_to(peer)[-1]

    etag = response.headers["ETag"]
    changed = agent.put(path, json={"topic": "sale"}, headers={"If-Match": etag})
    assert changed.status_code == 200 and changed.json()["topic"] == "sale"
    stale = agent.put(path, json={"topic": "support"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert agent.get(path).json()["topic"] == "sale"

    muted = agent.put(path, json={"status": "waiting_human"}).json()
    assert muted["status"] == "waiting_human" and muted["bot_muted"] is True
    assert muted["handoff_at"] is not None
    released = agent.put(path, json={"status": "open"}).json()
    assert released["bot_muted"] is False and released["handoff_at"] is None

    other = api.as_role(Role.OWNER, tenant="other")
    assert other.get(path).status_code == 404
    assert other.put(path, json={"topic": "support"}).status_code == 404
    assert other.post(f"{path}/notes", json={"body": "x"}).status_code == 404
    assert agent.get("/api/conversations/not-a-uuid").status_code == 404


def test_assign_to_staff_only(api: Api, chats: Chats) -> None:
    conversation = chats.start(new_peer())
    path = f"/api/conversations/{conversation}/assign"
    owner = api.as_role(Role.OWNER)
    agent_id, _ = api.user(Role.AGENT)
    client_id, _ = api.user(Role.CLIENT)
    foreign_agent, _ = api.user(Role.AGENT, tenant="other")

    assigned = owner.post(path, json={"agent_id": str(agent_id)})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assigned_agent_id"] == str(agent_id)
    mine = items(owner.get("/api/conversations", params={"assigned_agent_id": str(agent_id)}))
    assert [c["id"] for c in mine] == [str(conversation)]

    not_staff = owner.post(path, json={"agent_id": str(client_id)})
    assert not_staff.status_code == 422 and not_staff.json()["error"]["code"] == "not_an_agent"
    assert owner.post(path, json={"agent_id": str(foreign_agent)}).status_code == 404
    assert owner.post(path, json={"agent_id": str(uuid.uuid4())}).status_code == 404
    assert owner.post(path, json={}).status_code == 422  # null must be said explicitly
    assert owner.get(f"/api/conversations/{conversation}").json()["assigned_agent_id"] == str(
        agent_id
    )

    unassigned = owner.post(path, json={"agent_id": None})
    assert unassigned.status_code == 200 and unassigned.json()["assigned_agent_id"] is None


def test_two_agents_taking_one_chat_do_not_overwrite_each_other(api: Api, chats: Chats) -> None:
    conversation = chats.start(new_peer())
    path = f"/api/conversations/{conversation}/assign"
    first, _ = api.user(Role.AGENT)
    second, _ = api.user(Role.AGENT)
    agent = api.as_role(Role.AGENT)
    seen = agent.get(f"/api/conversations/{conversation}").headers["ETag"]
    taken = agent.post(path, json={"agent_id": str(first)}, headers={"If-Match": seen})
    assert taken.status_code == 200, taken.text
    late = agent.post(path, json={"agent_id": str(second)}, headers={"If-Match": seen})
    assert late.status_code == 412 and late.json()["error"]["code"] == "precondition_failed"
    detail = agent.get(f"/api/conversations/{conversation}").json()
    assert detail["assigned_agent_id"] == str(first)


def test_close_is_final_and_the_next_message_opens_a_new_conversation(
    api: Api, chats: Chats
) -> None:
    peer = new_peer()
    conversation = chats.start(peer)
    agent = api.as_role(Role.AGENT)
    path = f"/api/conversations/{conversation}"

    closed = agent.post(f"{path}/close")
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.json()["closed_at"] is not None
    assert agent.post(f"{path}/close").status_code == 200  # closing again changes nothing
    for refused in (
        agent.put(path, json={"status": "open"}),
        agent.post(f"{path}/assign", json={"agent_id": None}),
        agent.post(f"{path}/messages", json={"text": "¿seguís ahí?"}),
    ):
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "conflict"
    # Notes stay possible: an agent may write down how it ended.
    assert agent.post(f"{path}/notes", json={"body": "resuelto"}).status_code == 201

    chats.say("hola de nuevo", peer)
    newer = chats.conversation_id(peer)
    assert newer != conversation
    statuses = {
        c["id"]: c["status"]
        for c in items(agent.get("/api/conversations", params={"status": ["open", "closed"]}))
    }
    assert statuses == {str(conversation): "closed", str(newer): "open"}


def test_notes_validation_and_listing(api: Api, chats: Chats) -> None:
    conversation = chats.start(new_peer())
    agent = api.as_role(Role.AGENT)
    path = f"/api/conversations/{conversation}/notes"
    for body in ({"body": ""}, {"body": "   "}, {"body": "a\u0000b"}, {"body": "x" * 4001}, {}):
        refused = agent.post(path, json=body)
        assert refused.status_code == 422, (body, refused.text)
    assert agent.post(path, json={"body": "x", "pinned": True}).status_code == 422
    for text in ("primera", "segunda", "tercera"):
        assert agent.post(path, json={"body": text}).status_code == 201
    page = agent.get(path, params={"per_page": 2, "page": 2}).json()
    assert page["total"] == 3 and [n["body"] for n in page["items"]] == ["tercera"]
    first = agent.get(path).json()["items"][0]
    assert first["body"] == "primera" and first["author_user_id"] == str(api.user(Role.AGENT)[0])


def test_roles(api: Api, chats: Chats) -> None:
    conversation = chats.start(new_peer())
    client: Client = api.as_role(Role.CLIENT)
    assert client.get("/api/conversations").status_code == 403
    assert client.post(f"/api/conversations/{conversation}/close").status_code == 403
    assert api.anonymous().get("/api/conversations").status_code == 401
    assert api.as_role(Role.ADMIN).get("/api/conversations").json()["total"] == 1
