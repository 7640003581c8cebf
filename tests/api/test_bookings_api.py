"""Bookings over the API: the life of a booking, the opening-hours rules, no double
booking under concurrency, stale edits, tenants, and the month calendar."""

from __future__ import annotations

import threading
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import requests

from hablo.db.enums import Role
from hablo.db.models import Contact
from tests.api.support import Api, Client

ZONE = ZoneInfo("America/Argentina/Buenos_Aires")


def _contact(api: Api, name: str, tenant: str = "demo") -> str:
    with api.runtime.db.transaction() as session:
        contact = Contact(tenant_id=api.tenant_id(tenant), name=name, phone="+5491155559999")
        session.add(contact)
        session.flush()
        return str(contact.id)


def _services(client: Client) -> dict[str, str]:
    items = client.get("/api/services", params={"per_page": 100}).json()["items"]
    return {s["name"]: s["id"] for s in items}


def _open_weekday(client: Client, after_days: int = 3) -> date:
    """A Monday-to-Friday date a few days ahead that is not a holiday."""
    holidays = {h["day"] for h in client.get("/api/hours", params=None).json()["upcoming_holidays"]}
    day = datetime.now(ZONE).date() + timedelta(days=after_days)
    while day.weekday() > 4 or day.isoformat() in holidays:
        day += timedelta(days=1)
    return day


def _last_open_weekday(client: Client) -> date:
    """The latest Monday-to-Friday before today that was not a holiday (7 and 8 December
    2026 were: a bridge day and the Immaculate Conception)."""
    today = datetime.now(ZONE).date()
    listed = client.get(
        "/api/hours/holidays",
        params={"from": (today - timedelta(days=31)).isoformat(), "per_page": 100},
    )
    assert listed.status_code == 200, listed.text
    holidays = {h["day"] for h in listed.json()["items"]}
    day = today - timedelta(days=1)
    while day.weekday() > 4 or day.isoformat() in holidays:
        day -= timedelta(days=1)
    return day


def _at(day: date, hour: int, minute: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE).isoformat()


def test_create_list_reschedule_confirm_cancel(api: Api) -> None:
    agent = api.as_role(Role.AGENT)
    ana, bruno = _contact(api, "Ana Pérez"), _contact(api, "Bruno Díaz")
    services = _services(agent)
    day = _open_weekday(agent)

    created = agent.post(
        "/api/bookings",
        json={
            "contact_id": ana,
            "service_id": services["Corte de pelo"],
            "starts_at": _at(day, 10),
            "status": "pending",
            "notes": "primera vez",
        },
    )
    assert created.status_code == 201, created.text
    booking = created.json()
    assert booking["starts_at"] == _at(day, 10)  # in the tenant's offset
    assert booking["ends_at"] == _at(day, 10, 30)
    assert (booking["service_name"], booking["contact_name"]) == ("Corte de pelo", "Ana Pérez")
    assert (booking["status"], booking["notes"]) == ("pending", "primera vez")
    path = f"/api/bookings/{booking['id']}"
    etag = created.headers["ETag"]
    assert agent.get(path).headers["ETag"] == etag

    # The same instant may be written in UTC: 14:00Z is 11:00 in Buenos Aires.
    utc_start = datetime.fromisoformat(_at(day, 11)).astimezone(ZoneInfo("UTC"))
    other = agent.post(
        "/api/bookings",
        json={
            "contact_id": bruno,
            "service_id": services["Manicura"],
            "starts_at": utc_start.isoformat().replace("+00:00", "Z"),
        },
    )
    assert other.status_code == 201, other.text
    assert other.json()["starts_at"] == _at(day, 11) and other.json()["status"] == "confirmed"

    def listed(**params: object) -> list[str]:
        response = agent.get("/api/bookings", params=params)
        assert response.status_code == 200, response.text
        return [b["contact_name"] for b in response.json()["items"]]

    assert listed() == ["Ana Pérez", "Bruno Díaz"]
    assert listed(sort="-starts_at") == ["Bruno Díaz", "Ana Pérez"]
    assert listed(status="pending") == ["Ana Pérez"]
    assert listed(status=["pending", "confirmed"]) == ["Ana Pérez", "Bruno Díaz"]
    assert listed(contact_id=bruno) == ["Bruno Díaz"]
    assert listed(service_id=services["Corte de pelo"]) == ["Ana Pérez"]
    assert listed(**{"from": day.isoformat(), "to": day.isoformat()}) == ["Ana Pérez", "Bruno Díaz"]
    assert listed(**{"from": (day + timedelta(days=1)).isoformat()}) == []
    assert listed(per_page=1, page=2) == ["Bruno Díaz"]
    for bad in ({"status": "lost"}, {"from": "2030-02-01", "to": "2030-01-01"}, {"sort": "x"}):
        assert agent.get("/api/bookings", params=bad).status_code == 422, bad

    # Move it to noon and assign an agent; the copy read before is now stale.
    agent_id = str(api.user(Role.AGENT)[0])
    moved = agent.put(
        path,
        json={"starts_at": _at(day, 12), "assigned_agent_id": agent_id},
        headers={"If-Match": etag},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["starts_at"] == _at(day, 12)
    assert moved.json()["assigned_agent_id"] == agent_id
    assert moved.json()["notes"] == "primera vez"
    stale = agent.put(path, json={"notes": "pisado"}, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "precondition_failed"
    assert listed(assigned_agent_id=agent_id) == ["Ana Pérez"]
    # A longer service: the end moves with it.
    colour = agent.put(path, json={"service_id": services["Coloración"]})
    assert colour.status_code == 200, colour.text
    assert colour.json()["ends_at"] == _at(day, 13, 30)
    assert colour.json()["service_name"] == "Coloración"

    confirmed = agent.post(f"{path}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    assert agent.post(f"{path}/confirm").json()["status"] == "confirmed"  # idempotent

    assert agent.delete(path).status_code == 204
    assert agent.delete(path).status_code == 204  # cancelling twice is fine
    cancelled = agent.get(path).json()
    assert cancelled["status"] == "cancelled"  # kept for history
    assert listed(status="cancelled") == ["Ana Pérez"]
    refused = agent.post(f"{path}/confirm")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "booking_not_active"
    assert agent.put(path, json={"starts_at": _at(day, 15)}).status_code == 409
    # Its slot is free again.
    again = agent.post(
        "/api/bookings",
        json={"contact_id": bruno, "service_id": services["Coloración"], "starts_at": _at(day, 12)},
    )
    assert again.status_code == 201, again.text


def test_two_concurrent_bookings_of_one_slot_one_wins(api: Api) -> None:
    clients = [api.as_role(Role.AGENT), api.as_role(Role.ADMIN)]
    contacts = [_contact(api, "Carla"), _contact(api, "Diego")]
    service = _services(clients[0])["Corte de pelo"]
    day = _open_weekday(clients[0], after_days=4)
    start = _at(day, 15)
    barrier = threading.Barrier(2)
    responses: list[requests.Response] = []

    def book(client: Client, contact: str) -> None:
        barrier.wait()
        responses.append(
            client.post(
                "/api/bookings",
                json={"contact_id": contact, "service_id": service, "starts_at": start},
            )
        )

    threads = [
        threading.Thread(target=book, args=pair) for pair in zip(clients, contacts, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["error"]["code"] == "slot_taken"

    agent = clients[0]
    assert agent.get("/api/bookings", params={"status": "confirmed"}).json()["total"] == 1
    # Overlapping the taken slot (15:15 for 30 minutes) is refused too, also when moving.
    overlap = {"contact_id": contacts[1], "service_id": service, "starts_at": _at(day, 15, 15)}
    assert agent.post("/api/bookings", json=overlap).status_code == 409
    free = agent.post("/api/bookings", json={**overlap, "starts_at": _at(day, 16)})
    assert free.status_code == 201
    move = agent.put(f"/api/bookings/{free.json()['id']}", json={"starts_at": _at(day, 15)})
    assert move.status_code == 409 and move.json()["error"]["code"] == "slot_taken"
    # Moving a booking by less than its own length does not collide with itself.
    nudge = agent.put(f"/api/bookings/{free.json()['id']}", json={"starts_at": _at(day, 16, 15)})
    assert nudge.status_code == 200, nudge.text


def test_opening_hours_rules_and_bad_input(api: Api) -> None:
    agent, owner = api.as_role(Role.AGENT), api.as_role(Role.OWNER)
    contact = _contact(api, "Eva")
    service = _services(agent)["Corte de pelo"]
    day = _open_weekday(agent)

    def post(client: Client, **fields: object) -> requests.Response:
        body = {"contact_id": contact, "service_id": service, "starts_at": _at(day, 10)}
        body.update(fields)
        return client.post("/api/bookings", json=body)

    naive = post(agent, starts_at=f"{day.isoformat()}T10:00:00")
    assert naive.status_code == 422 and naive.json()["error"]["details"][0]["loc"] == [
        "body",
        "starts_at",
    ]
    assert post(agent, starts_at=1_900_000_000).status_code == 422
    assert post(agent, starts_at="0001-01-01T00:00:00+14:00").status_code == 422
    assert post(agent, status="cancelled").status_code == 422
    assert post(agent, notes="x" * 2001).status_code == 422

    sunday = day + timedelta(days=6 - day.weekday())
    holiday = owner.post("/api/hours/holidays", json={"day": day.isoformat(), "name": "Cierre"})
    assert holiday.status_code == 201
    # An open weekday past the booking window (today + 90 may be a Sunday: "closed").
    too_far = _open_weekday(agent, after_days=90)
    cases = {
        "closed": post(agent, starts_at=_at(sunday, 10)),
        "holiday": post(agent),
        "outside_hours": post(agent, starts_at=_at(day + timedelta(days=1), 8)),
        # An open day's hour that has passed (not "an hour ago", which is closed on Sundays).
        "too_soon": post(agent, starts_at=_at(_last_open_weekday(agent), 10)),
        "too_far_ahead": post(agent, starts_at=_at(too_far, 10)),
    }
    for reason, response in cases.items():
        assert response.status_code == 422, (reason, response.text)
        error = response.json()["error"]
        assert error["code"] == "slot_not_bookable" and error["details"]["reason"] == reason
    assert post(agent, starts_at=_at(day + timedelta(days=1), 10, 7)).status_code == 422  # off grid

    # Managers may book outside the rules; agents may not ask to.
    assert post(agent, force=True).status_code == 403
    forced = post(owner, force=True)
    assert forced.status_code == 201, forced.text

    unknown = post(agent, contact_id=str(uuid.uuid4()))
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_reference"
    theirs = _services(api.as_role(Role.OWNER, tenant="other"))["Corte de pelo"]
    assert post(agent, service_id=theirs).json()["error"]["details"] == {"field": "service_id"}
    assert post(agent, assigned_agent_id=str(uuid.uuid4())).status_code == 422
    assert api.anonymous().post("/api/bookings", json={}).status_code == 401
    assert api.as_role(Role.CLIENT).get("/api/bookings").status_code == 403
    # Nothing but the forced booking was written.
    assert agent.get("/api/bookings").json()["total"] == 1


def test_another_tenants_booking_is_not_found(api: Api) -> None:
    other = api.as_role(Role.OWNER, tenant="other")
    contact = _contact(api, "Fede", tenant="other")
    theirs = other.post(
        "/api/bookings",
        json={
            "contact_id": contact,
            "service_id": _services(other)["Corte de pelo"],
            "starts_at": _at(_open_weekday(other), 11),
        },
    )
    assert theirs.status_code == 201, theirs.text
    path = f"/api/bookings/{theirs.json()['id']}"
    mine = api.as_role(Role.OWNER)
    for response in (
        mine.get(path),
        mine.put(path, json={"notes": "x"}),
        mine.delete(path),
        mine.post(f"{path}/confirm"),
    ):
        assert response.status_code == 404, response.text
    assert mine.get("/api/bookings").json()["total"] == 0
    assert other.get(path).json()["status"] == "confirmed"


def test_month_calendar_groups_by_the_tenants_local_date(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    contact = _contact(api, "Gala")
    service = _services(owner)["Corte de pelo"]
    # 23:30 in Buenos Aires on 31 January is already 1 February in UTC.
    late = owner.post(
        "/api/bookings",
        json={
            "contact_id": contact,
            "service_id": service,
            "starts_at": "2030-01-31T23:30:00-03:00",
            "status": "pending",
            "force": True,
        },
    )
    assert late.status_code == 201, late.text
    early = owner.post(
        "/api/bookings",
        json={
            "contact_id": contact,
            "service_id": service,
            "starts_at": "2030-01-07T13:00:00Z",  # 10:00 local
            "force": True,
        },
    )
    assert early.status_code == 201, early.text
    assert owner.post("/api/hours/holidays", json={"day": "2030-01-15", "name": "Cierre"}).ok
    assert owner.delete(f"/api/bookings/{early.json()['id']}").status_code == 204

    january = owner.get("/api/bookings/calendar", params={"month": "2030-01"})
    assert january.status_code == 200, january.text
    body = january.json()
    assert body["timezone"] == "America/Argentina/Buenos_Aires"
    assert len(body["days"]) == 31
    last = body["days"][30]
    assert last["date"] == "2030-01-31"
    assert [(b["time"], b["status"], b["contact_name"]) for b in last["bookings"]] == [
        ("23:30", "pending", "Gala")
    ]
    assert last["bookings"][0]["service_name"] == "Corte de pelo"
    assert last["counts"]["total"] == 1 and last["counts"]["pending"] == 1
    seventh = body["days"][6]
    assert seventh["counts"]["cancelled"] == 1 and seventh["bookings"][0]["time"] == "10:00"
    assert body["counts"] == {
        "total": 2,
        "pending": 1,
        "confirmed": 0,
        "cancelled": 1,
        "completed": 0,
        "no_show": 0,
    }
    sunday = body["days"][5]  # 2030-01-06
    assert sunday["weekday"] == 6 and sunday["open"] is False and sunday["opening_hours"] == []
    holiday = body["days"][14]
    assert holiday["holiday"] == "Cierre" and holiday["open"] is False
    assert body["days"][13]["open"] is True
    assert body["days"][13]["opening_hours"] == [{"opens_at": "09:00", "closes_at": "19:00"}]

    february = owner.get("/api/bookings/calendar", params={"month": "2030-02"}).json()
    assert len(february["days"]) == 28 and february["counts"]["total"] == 0
    for bad in ("2030-13", "2030-1", "January", "9999-01"):
        response = owner.get("/api/bookings/calendar", params={"month": bad})
        assert response.status_code == 422, bad
    assert owner.get("/api/bookings/calendar").status_code == 422
