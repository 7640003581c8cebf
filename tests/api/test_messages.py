"""Agent messages over the API: delivered once through the channel (also when the POST is
retried), the bot stays silent while a human talks, and the messages read back in order."""

from __future__ import annotations

import threading
from datetime import timedelta

import requests
from sqlalchemy import select

from hablo.db.base import utcnow
from hablo.db.enums import Role
from hablo.db.models import Conversation, Message, OutboxMessage
from tests.api.support import Api
from tests.api.test_conversations import Chats, chats, new_peer
from tests.e2e.server import wait_until

__all__ = ["chats"]  # the fixture, shared with the conversation tests


def test_agent_message_is_sent_once_even_when_posted_twice(api: Api, chats: Chats) -> None:
    peer = new_peer()
    conversation = chats.start(peer)
    before = len(chats.texts_to(peer))
    agent = api.as_role(Role.AGENT)
    agent_id = api.user(Role.AGENT)[0]
    path = f"/api/conversations/{conversation}/messages"
    body = {"text": "Hola, soy Ana de la peluquería. ¿Te ayudo?", "client_message_id": "ana-1"}

    first = agent.post(path, json=body)
    assert first.status_code == 201, first.text
    message = first.json()
    assert message["sender_kind"] == "agent" and message["author_user_id"] == str(agent_id)
    again = agent.post(path, json=body)
    assert again.status_code == 201 and again.json()["id"] == message["id"]
    assert again.headers["Idempotent-Replay"] == "true"

    wait_until(lambda: len(chats.texts_to(peer)) == before + 1, timeout=30, what="agent reply")
    assert chats.texts_to(peer)[-1] == body["text"]
    reused = agent.post(path, json={"text": "otra cosa", "client_message_id": "ana-1"})
    assert reused.status_code == 409

    with api.runtime.db.transaction() as session:
        stored = session.scalars(
            select(Message).where(
                Message.conversation_id == conversation, Message.sender_kind == "agent"
            )
        ).all()
        assert [m.body for m in stored] == [body["text"]]
        outbox = session.scalars(
            select(OutboxMessage).where(OutboxMessage.message_id == stored[0].id)
        ).one()
        assert outbox.channel == "console" and outbox.peer == peer
        message_id = stored[0].id
    wait_until(lambda: _status(api, message_id) == "sent", what="message marked sent")
    detail = agent.get(f"/api/conversations/{conversation}").json()
    assert detail["status"] == "waiting_human" and detail["bot_muted"] is True
    assert detail["messages"][-1]["body"] == body["text"]
    assert chats.texts_to(peer).count(body["text"]) == 1


def test_concurrent_retries_send_once(api: Api, chats: Chats) -> None:
    peer = new_peer()
    conversation = chats.start(peer)
    token = api.user(Role.AGENT)[1]
    url = f"{api.base_url}/api/conversations/{conversation}/messages"
    body = {"text": "Ya te confirmo el turno", "client_message_id": "retry-storm"}
    statuses: list[int] = []

    def post() -> None:
        response = requests.post(
            url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 4
    wait_until(lambda: body["text"] in chats.texts_to(peer), timeout=30, what="agent reply")
    with api.runtime.db.transaction() as session:
        count = len(
            session.scalars(
                select(Message.id).where(
                    Message.conversation_id == conversation, Message.sender_kind == "agent"
                )
            ).all()
        )
    assert count == 1
    assert chats.texts_to(peer).count(body["text"]) == 1


def test_the_bot_stays_silent_while_a_human_talks(api: Api, chats: Chats) -> None:
    peer = new_peer()
    conversation = chats.start(peer)
    agent = api.as_role(Role.AGENT)
    path = f"/api/conversations/{conversation}"
    assert agent.post(f"{path}/messages", json={"text": "Te atiendo yo"}).status_code == 201
    wait_until(lambda: "Te atiendo yo" in chats.texts_to(peer), timeout=30, what="agent reply")
    sent_before = len(chats.texts_to(peer))

    chats.say("¿cuánto sale el corte?", peer)
    assert len(chats.texts_to(peer)) == sent_before  # no bot answer
    messages = agent.get(f"{path}/messages").json()["items"]
    assert [m["sender_kind"] for m in messages][-2:] == ["agent", "customer"]

    # The handoff times out (the tenant's handoff_timeout_minutes): the bot is back.
    with api.runtime.db.transaction() as session:
        row = session.get(Conversation, conversation)
        assert row is not None and row.state["handoff_at"]
        state = dict(row.state)
        state["handoff_at"] = (utcnow() - timedelta(hours=3)).isoformat()
        row.state = state
    chats.say("¿cuánto sale el corte?", peer)
    assert len(chats.texts_to(peer)) > sent_before
    assert agent.get(path).json()["bot_muted"] is False

    # An agent writes again: silent again, until an agent gives the chat back.
    assert agent.post(f"{path}/messages", json={"text": "Sigo yo"}).status_code == 201
    wait_until(lambda: "Sigo yo" in chats.texts_to(peer), timeout=30, what="agent reply")
    muted_at = len(chats.texts_to(peer))
    chats.say("hola?", peer)
    assert len(chats.texts_to(peer)) == muted_at
    assert agent.put(path, json={"status": "open"}).status_code == 200
    chats.say("¿a qué hora abren el sábado?", peer)
    assert len(chats.texts_to(peer)) > muted_at


def test_messages_read_in_order_with_pages_and_a_cursor(api: Api, chats: Chats) -> None:
    peer = new_peer()
    conversation = chats.start(peer)
    agent = api.as_role(Role.AGENT)
    path = f"/api/conversations/{conversation}/messages"
    for n in range(3):
        assert agent.post(path, json={"text": f"mensaje {n}"}).status_code == 201
    everything = agent.get(path, params={"per_page": 100}).json()
    bodies = [m["body"] for m in everything["items"]]
    assert everything["total"] == len(bodies) >= 5
    assert bodies[-3:] == ["mensaje 0", "mensaje 1", "mensaje 2"]
    assert everything["items"][0]["sender_kind"] == "customer"

    second_page = agent.get(path, params={"per_page": 2, "page": 2}).json()
    assert [m["body"] for m in second_page["items"]] == bodies[2:4]
    last_id = everything["items"][-1]["id"]
    older = agent.get(path, params={"before": last_id, "per_page": 2}).json()
    assert [m["body"] for m in older["items"]] == ["mensaje 0", "mensaje 1"]
    assert older["total"] == len(bodies) - 1
    oldest = agent.get(path, params={"before": everything["items"][0]["id"]}).json()
    assert oldest["items"] == [] and oldest["total"] == 0

    unknown = agent.get(path, params={"before": "00000000-0000-0000-0000-000000000000"})
    assert unknown.status_code == 422
    for bad in ({"text": ""}, {"text": "x" * 4097}, {"text": "a\u0000"}, {"txt": "hola"}):
        assert agent.post(path, json=bad).status_code == 422, bad
    assert agent.post(path, json={"text": "x", "client_message_id": "no spaces"}).status_code == 422
    other = api.as_role(Role.OWNER, tenant="other")
    assert other.get(path).status_code == 404
    assert other.post(path, json={"text": "hola"}).status_code == 404
    assert api.as_role(Role.CLIENT).post(path, json={"text": "hola"}).status_code == 403


def _status(api: Api, message_id: object) -> str:
    with api.runtime.db.transaction() as session:
        message = session.get(Message, message_id)
        return str(message.status) if message else ""


def test_agent_text_is_cleaned_of_control_characters(api: Api, chats: Chats) -> None:
    peer = new_peer()
    conversation = chats.start(peer)
    agent = api.as_role(Role.AGENT)
    path = f"/api/conversations/{conversation}/messages"
    sent = agent.post(path, json={"text": "Hola\x07 soy\x1b Ana\r\n\u200fbien\tya"})
    assert sent.status_code == 201, sent.text
    assert sent.json()["body"] == "Hola soy Ana\n\u200fbien\tya"
    wait_until(lambda: "Hola soy Ana\n\u200fbien\tya" in chats.texts_to(peer), what="reply")
    for bad in ("\x07\x1b", "a\ud800b"):
        refused = agent.post(path, json={"text": bad})
        assert refused.status_code == 422, bad
        assert refused.json()["error"]["code"] == "validation_error"
