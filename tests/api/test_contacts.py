"""Contacts over the API: CRUD, phone/e-mail rules, identities, filters, plan limit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from hablo.db.enums import Role
from hablo.db.models import Contact, ContactIdentity, Tenant
from tests.api.support import Api

ANA = {"name": "Ana Pérez", "phone": "11 5555-0001", "email": "Ana@Example.com", "kind": "vip"}


def test_create_read_edit_delete(api: Api) -> None:
    agent = api.as_role(Role.AGENT)
    created = agent.post("/api/contacts", json=ANA)
    assert created.status_code == 201, created.text
    contact = created.json()
    # Phone in the tenant's region (es-AR) becomes E.164; e-mail is lowercased.
    assert contact["phone"] == "+541155550001" and contact["email"] == "ana@example.com"
    assert {(i["kind"], i["value"]) for i in contact["identities"]} == {
        ("phone", "+541155550001"),
        ("email", "ana@example.com"),
    }
    assert contact["conversations_count"] == 0 and contact["bookings_count"] == 0
    assert contact["consent"] == {"given": False, "at": None, "source": None}
    path = f"/api/contacts/{contact['id']}"

    got = agent.get(path)
    assert got.status_code == 200 and got.json()["name"] == "Ana Pérez"
    etag = got.headers["ETag"]
    edited = agent.put(
        path, json={"phone": "+34 612 345 678", "email": None}, headers={"If-Match": etag}
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["phone"] == "+34612345678" and edited.json()["email"] is None
    assert {(i["kind"], i["value"]) for i in edited.json()["identities"]} == {
        ("phone", "+34612345678")
    }
    stale = agent.put(path, json={"name": "Otra"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "precondition_failed"
    assert agent.get(path).json()["name"] == "Ana Pérez"

    # Agents may not delete; owners may.
    assert agent.delete(path).status_code == 403
    owner = api.as_role(Role.OWNER)
    assert owner.delete(path).status_code == 204
    assert owner.get(path).status_code == 404
    with api.runtime.db.transaction() as session:
        assert session.scalars(select(ContactIdentity)).all() == []


def test_same_phone_or_email_is_one_contact(api: Api) -> None:
    agent = api.as_role(Role.AGENT)
    first = agent.post("/api/contacts", json=ANA).json()
    for clash in (
        {"name": "Otra", "phone": "+54 11 5555 0001"},
        {"name": "Otra", "email": "ANA@example.com"},
    ):
        response = agent.post("/api/contacts", json=clash)
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert error["code"] == "duplicate_contact"
        assert error["details"]["existing_contact_id"] == first["id"]
    second = agent.post("/api/contacts", json={"name": "Beto", "phone": "+54 11 5555 0002"})
    assert second.status_code == 201
    taken = agent.put(f"/api/contacts/{second.json()['id']}", json={"email": "ana@example.com"})
    assert taken.status_code == 409
    assert taken.json()["error"]["details"]["field"] == "email"
    # An identity the engine created (a web chat visitor) is kept by edits.
    with api.runtime.db.transaction() as session:
        session.add(
            ContactIdentity(
                tenant_id=api.tenant_id(),
                contact_id=uuid.UUID(first["id"]),
                kind="webchat",
                value="v-1",
            )
        )
    edited = agent.put(f"/api/contacts/{first['id']}", json={"phone": "+54 11 5555 0003"})
    assert {(i["kind"], i["value"]) for i in edited.json()["identities"]} == {
        ("phone", "+541155550003"),
        ("email", "ana@example.com"),
        ("webchat", "v-1"),
    }
    # The old number is free again.
    assert agent.post("/api/contacts", json={"phone": "+54 11 5555 0001"}).status_code == 201


def test_bad_input_is_refused_and_writes_nothing(api: Api) -> None:
    agent = api.as_role(Role.AGENT)
    bad_phone = agent.post("/api/contacts", json={"name": "X", "phone": "12345"})
    assert bad_phone.status_code == 422
    error = bad_phone.json()["error"]
    assert error["details"][0]["loc"] == ["body", "phone"]
    assert "not a valid phone number" in error["message"]
    bad_email = agent.post("/api/contacts", json={"name": "X", "email": "no-at-sign"})
    assert bad_email.status_code == 422
    assert bad_email.json()["error"]["details"][0]["loc"] == ["body", "email"]
    nothing = agent.post("/api/contacts", json={"name": "Solo nombre"})
    assert nothing.status_code == 422
    assert agent.post("/api/contacts", json={"phone": "+541155550001", "x": 1}).status_code == 422
    naive = agent.get("/api/contacts", params={"created_from": "2024-01-01T00:00:00"})
    assert naive.status_code == 422
    assert agent.get("/api/contacts").json()["total"] == 0


def test_list_filters_search_and_sort(api: Api) -> None:
    agent = api.as_role(Role.AGENT)
    people = [
        {"name": "Carla", "phone": "+54 11 5555 0010", "kind": "customer", "email": "c@x.com"},
        {"name": "Bruno", "phone": "+54 11 5555 0011", "kind": "prospect"},
        {"name": "Alba", "email": "alba@y.org", "kind": "vip"},
    ]
    ids = {p["name"]: agent.post("/api/contacts", json=p).json()["id"] for p in people}
    now = datetime.now(UTC)
    with api.runtime.db.transaction() as session:
        for name, spent, days in (("Carla", 5000, 3), ("Alba", 9000, 40)):
            session.execute(
                update(Contact)
                .where(Contact.id == uuid.UUID(ids[name]))
                .values(total_spent_minor=spent, last_purchase_at=now - timedelta(days=days))
            )

    def names(**params: object) -> list[str]:
        response = agent.get("/api/contacts", params=params)
        assert response.status_code == 200, response.text
        return [c["name"] for c in response.json()["items"]]

    assert names() == ["Alba", "Bruno", "Carla"]
    assert names(sort="-name") == ["Carla", "Bruno", "Alba"]
    assert names(sort="-total_spent") == ["Alba", "Carla", "Bruno"]
    # Contacts that never bought come last in both directions.
    assert names(sort="last_purchase_at") == ["Alba", "Carla", "Bruno"]
    assert names(sort="-last_purchase_at") == ["Carla", "Alba", "Bruno"]
    assert names(kind="vip") == ["Alba"]
    assert names(has_email="true") == ["Alba", "Carla"]
    assert names(has_email="false") == ["Bruno"]
    assert names(q="5555-0011") == ["Bruno"]  # typed with a dash; stored as E.164
    assert names(q="ALBA@") == ["Alba"]
    assert names(q="%") == []  # wildcards are literal
    week_ago = (now - timedelta(days=7)).isoformat()
    assert names(last_purchase_from=week_ago) == ["Carla"]
    assert names(last_purchase_to=week_ago) == ["Alba"]
    assert names(created_from=(now + timedelta(hours=1)).isoformat()) == []
    assert names(created_to=(now + timedelta(hours=1)).isoformat()) == ["Alba", "Bruno", "Carla"]
    page = agent.get("/api/contacts", params={"per_page": 2, "page": 2}).json()
    assert page["total"] == 3 and [c["name"] for c in page["items"]] == ["Carla"]


def test_plan_limit(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    with api.runtime.db.transaction() as session:
        session.execute(update(Tenant).where(Tenant.slug == "demo").values(contact_limit=2))
    assert owner.post("/api/contacts", json={"phone": "+541155550021"}).status_code == 201
    second = owner.post("/api/contacts", json={"phone": "+541155550022"})
    assert second.status_code == 201
    refused = owner.post("/api/contacts", json={"phone": "+541155550023"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "plan_limit_reached"
    assert refused.json()["error"]["details"] == {"contact_limit": 2, "contacts_used": 2}
    with api.runtime.db.transaction() as session:
        assert session.scalars(select(Tenant.contacts_used).where(Tenant.slug == "demo")).one() == 2
    assert owner.delete(f"/api/contacts/{second.json()['id']}").status_code == 204
    with api.runtime.db.transaction() as session:
        assert session.scalars(select(Tenant.contacts_used).where(Tenant.slug == "demo")).one() == 1
    third = owner.post("/api/contacts", json={"phone": "+541155550023"})
    assert third.status_code == 201
    # An erased contact (GDPR) gives its room back, as the usage endpoint counts it.
    assert owner.post(f"/api/contacts/{third.json()['id']}/erase").status_code == 200
    assert owner.get("/api/tenants/me/usage").json()["contacts"]["used"] == 1
    assert owner.post("/api/contacts", json={"phone": "+541155550024"}).status_code == 201


def test_another_tenants_contact_is_not_found(api: Api) -> None:
    theirs = api.as_role(Role.OWNER, tenant="other").post(
        "/api/contacts", json={"name": "Ajena", "phone": "+541155550031"}
    )
    assert theirs.status_code == 201
    mine = api.as_role(Role.OWNER)
    path = f"/api/contacts/{theirs.json()['id']}"
    for response in (mine.get(path), mine.put(path, json={"name": "X"}), mine.delete(path)):
        assert response.status_code == 404
    # The same phone is free in my tenant: isolation covers identities too.
    assert mine.post("/api/contacts", json={"phone": "+541155550031"}).status_code == 201
    assert mine.get("/api/contacts").json()["total"] == 1


def test_control_characters_are_refused(api: Api) -> None:
    agent = api.as_role(Role.AGENT)
    nul = agent.post("/api/contacts", json={"name": "A\u0000B", "phone": "+541155550041"})
    assert nul.status_code == 422
    assert agent.get("/api/contacts", params={"q": "a\u0000"}).status_code == 422
