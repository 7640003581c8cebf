"""Each staff user's place in the notifications: unread counts what came after the last
one they looked at; marking only moves forward and never past the newest."""

from __future__ import annotations

from hablo.db.enums import Role
from tests.api.support import Api
from tests.api.test_conversations import Chats, chats, new_peer

__all__ = ["chats"]


def test_unread_is_per_user_and_only_moves_forward(api: Api, chats: Chats) -> None:
    agent, admin = api.as_role(Role.AGENT), api.as_role(Role.ADMIN)
    assert agent.get("/api/notifications/seen").json() == {
        "seen_id": 0,
        "unread": 0,
        "latest_id": 0,
    }
    for _ in range(2):
        chats.say("quiero hablar con una persona", new_peer())
    items = agent.get("/api/notifications").json()["items"]
    assert [n["kind"] for n in items] == ["handoff_requested"] * 2
    first, second = items[0]["id"], items[1]["id"]
    assert agent.get("/api/notifications/seen").json()["unread"] == 2

    marked = agent.put("/api/notifications/seen", json={"last_id": first})
    assert marked.status_code == 200, marked.text
    assert marked.json() == {"seen_id": first, "unread": 1, "latest_id": second}
    back = agent.put("/api/notifications/seen", json={"last_id": 0})  # an older tab
    assert back.json()["seen_id"] == first
    beyond = agent.put("/api/notifications/seen", json={"last_id": second + 1000})
    assert beyond.json() == {"seen_id": second, "unread": 0, "latest_id": second}
    assert admin.get("/api/notifications/seen").json()["unread"] == 2  # their own

    bad = agent.put("/api/notifications/seen", json={"last_id": -1})
    assert bad.status_code == 422
    assert api.as_role(Role.CLIENT).get("/api/notifications/seen").status_code == 403
    other = api.as_role(Role.AGENT, tenant="other").get("/api/notifications/seen").json()
    assert other["latest_id"] == 0 and other["unread"] == 0  # another business's events
