"""Taking a conversation is a compare-and-set: of several agents taking one chat at the
same moment exactly one gets it and the others get 409 `already_taken`; taking over from
the agent one's screen showed works, and an assignment made on a stale screen is refused."""

from __future__ import annotations

import threading

import requests

from hablo.db.enums import Role
from tests.api.support import Api
from tests.api.test_conversations import Chats, chats, new_peer

__all__ = ["chats"]

STAFF = (Role.AGENT, Role.ADMIN, Role.OWNER)


def _take_at_once(api: Api, conversation: object) -> dict[Role, requests.Response]:
    """Every staff role posts take at the same moment (a barrier releases them together)."""
    url = f"{api.base_url}/api/conversations/{conversation}/take"
    tokens = {role: api.user(role)[1] for role in STAFF}
    barrier = threading.Barrier(len(STAFF))
    results: dict[Role, requests.Response] = {}

    def take(role: Role) -> None:
        barrier.wait(timeout=30)
        results[role] = requests.post(
            url, json={}, headers={"Authorization": f"Bearer {tokens[role]}"}, timeout=60
        )

    threads = [threading.Thread(target=take, args=(role,)) for role in STAFF]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return results


def test_of_agents_taking_at_once_exactly_one_wins(api: Api, chats: Chats) -> None:
    for _ in range(3):  # a few rounds: each one a fresh race
        conversation = chats.start(new_peer())
        results = _take_at_once(api, conversation)
        winners = [role for role, r in results.items() if r.status_code == 200]
        losers = [r for r in results.values() if r.status_code != 200]
        assert len(winners) == 1, {role: r.text for role, r in results.items()}
        winner_id = api.user(winners[0])[0]
        for lost in losers:
            assert lost.status_code == 409, lost.text
            error = lost.json()["error"]
            assert error["code"] == "already_taken"
            assert error["details"] == {"assigned_agent_id": str(winner_id)}
        detail = api.as_role(Role.AGENT).get(f"/api/conversations/{conversation}").json()
        assert detail["assigned_agent_id"] == str(winner_id)
        assert detail["status"] == "waiting_human" and detail["bot_muted"] is True


def test_take_over_and_stale_assignments(api: Api, chats: Chats) -> None:
    conversation = chats.start(new_peer())
    agent, admin = api.as_role(Role.AGENT), api.as_role(Role.ADMIN)
    agent_id, admin_id = api.user(Role.AGENT)[0], api.user(Role.ADMIN)[0]
    take = f"/api/conversations/{conversation}/take"
    assign = f"/api/conversations/{conversation}/assign"

    assert agent.post(take, json={}).status_code == 200
    again = agent.post(take, json={})  # one's own: nothing changes
    assert again.status_code == 200 and again.json()["assigned_agent_id"] == str(agent_id)
    refused = admin.post(take, json={})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "already_taken"
    # The admin's screen showed the agent holding it: taking it over is deliberate.
    over = admin.post(take, json={"from_agent_id": str(agent_id)})
    assert over.status_code == 200 and over.json()["assigned_agent_id"] == str(admin_id)
    # The agent's screen still shows itself: a take-over from itself is stale now.
    stale = agent.post(take, json={"from_agent_id": str(agent_id)})
    assert stale.status_code == 409

    # Assign with what the screen showed: a stale one is refused, nothing changes.
    stale_assign = agent.post(assign, json={"agent_id": None, "expected_agent_id": str(agent_id)})
    assert stale_assign.status_code == 409
    assert stale_assign.json()["error"]["code"] == "already_taken"
    fresh = agent.post(assign, json={"agent_id": None, "expected_agent_id": str(admin_id)})
    assert fresh.status_code == 200 and fresh.json()["assigned_agent_id"] is None
    # Without expected_agent_id, assign stays unconditional (as before).
    plain = agent.post(assign, json={"agent_id": str(agent_id)})
    assert plain.status_code == 200

    client = api.as_role(Role.CLIENT).post(take, json={})
    assert client.status_code == 403
    other = api.as_role(Role.AGENT, tenant="other").post(take, json={})
    assert other.status_code == 404
    assert agent.post(f"/api/conversations/{conversation}/close").status_code == 200
    closed = admin.post(take, json={"from_agent_id": str(agent_id)})
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "conflict"
