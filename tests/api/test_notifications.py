"""GET /api/notifications: staff see their own tenant's events (a customer asking for a
person, a booking made through the API), new ones only with `after`, and nothing of
another tenant (scoped queries, and row-level security on PostgreSQL)."""

from __future__ import annotations

from typing import Any

from hablo.db.enums import Role
from tests.api.support import Api, Client, ConsoleCustomer
from tests.api.test_bookings_api import _at, _contact, _open_weekday, _services
from tests.e2e.server import wait_until


def _items(client: Client, **params: Any) -> dict[str, Any]:
    response = client.get("/api/notifications", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_staff_see_their_tenants_events_and_page_by_id(api: Api) -> None:
    agent = api.as_role(Role.AGENT)
    assert _items(agent) == {"items": [], "last_id": 0}

    customer = ConsoleCustomer(api, "+5491155550123")
    assert "persona" in customer.ask("quiero hablar con una persona")
    first = wait_until(lambda: _items(agent)["items"], timeout=30, what="the handoff event")
    assert len(first) == 1
    handoff = first[0]
    assert handoff["kind"] == "handoff_requested"
    assert handoff["summary"] == "quiero hablar con una persona"
    assert handoff["channel"] == "console" and handoff["conversation_id"]
    assert handoff["booking_id"] is None

    booked = agent.post(
        "/api/bookings",
        json={
            "contact_id": _contact(api, "Ana Pérez"),
            "service_id": _services(agent)["Corte de pelo"],
            "starts_at": _at(_open_weekday(agent), 10),
        },
    )
    assert booked.status_code == 201, booked.text
    newer = _items(agent, after=handoff["id"])
    assert [(n["kind"], n["booking_id"], n["summary"]) for n in newer["items"]] == [
        ("booking_created", booked.json()["id"], "Corte de pelo")
    ]
    assert newer["last_id"] > handoff["id"]
    assert _items(agent, after=newer["last_id"]) == {"items": [], "last_id": newer["last_id"]}
    assert len(_items(agent, limit=1)["items"]) == 1

    # Another business sees none of it, also when it asks for low ids.
    assert _items(api.as_role(Role.OWNER, tenant="other"), after=0)["items"] == []

    # Who may read: staff, as for conversations; bad input is a clear 422.
    assert api.as_role(Role.CLIENT).get("/api/notifications").status_code == 403
    assert api.anonymous().get("/api/notifications").status_code == 401
    for bad in ({"after": -1}, {"after": "x"}, {"limit": 0}, {"limit": 1000}):
        assert agent.get("/api/notifications", params=bad).status_code == 422, bad
