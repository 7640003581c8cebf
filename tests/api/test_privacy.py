"""GDPR over the API: export everything about a contact, erase it, record consent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from hablo.db.enums import (
    DeliveryStatus,
    InboxStatus,
    PaymentMethod,
    PaymentStatus,
    Role,
    SenderKind,
)
from hablo.db.models import (
    AuditLog,
    Booking,
    Contact,
    ContactIdentity,
    Conversation,
    ConversationNote,
    InboxEvent,
    Message,
    Payment,
    Service,
)
from tests.api.support import Api

PHONE = "+541155550001"

ATTACHMENT_URL = "https://media.example/dni-ana.jpg"


def _customer_with_history(api: Api) -> uuid.UUID:
    """A contact who chatted on WhatsApp, booked, paid and got an agent's note."""
    owner = api.as_role(Role.OWNER)
    created = owner.post(
        "/api/contacts", json={"name": "Ana Pérez", "phone": PHONE, "email": "ana@example.com"}
    )
    contact_id = uuid.UUID(created.json()["id"])
    tenant_id = api.tenant_id()
    now = datetime.now(UTC)
    with api.runtime.db.transaction() as session:
        conversation = Conversation(
            tenant_id=tenant_id,
            contact_id=contact_id,
            channel="whatsapp",
            peer=PHONE,
            message_count=2,
        )
        session.add(conversation)
        session.flush()
        for sender, body in (
            (SenderKind.CUSTOMER, "Soy Ana, mi DNI es 12345678"),
            (SenderKind.BOT, "Hola Ana, ¿qué día querés venir?"),
        ):
            session.add(
                Message(
                    tenant_id=tenant_id,
                    conversation_id=conversation.id,
                    sender_kind=sender,
                    body=body,
                    status=DeliveryStatus.RECEIVED,
                    attachments=[{"type": "image", "caption": "mi DNI", "url": ATTACHMENT_URL}]
                    if sender is SenderKind.CUSTOMER
                    else None,
                )
            )
        session.add(
            ConversationNote(
                tenant_id=tenant_id, conversation_id=conversation.id, body="Alérgica al tinte"
            )
        )
        service = session.scalars(select(Service).where(Service.tenant_id == tenant_id)).first()
        assert service is not None
        session.add(
            Booking(
                tenant_id=tenant_id,
                contact_id=contact_id,
                service_id=service.id,
                starts_at=now + timedelta(days=1),
                ends_at=now + timedelta(days=1, hours=1),
                duration_minutes=60,
                notes="Trae su propio tinte",
            )
        )
        session.add(
            Payment(
                tenant_id=tenant_id,
                contact_id=contact_id,
                amount_minor=800_000,
                currency="ARS",
                method=PaymentMethod.CASH,
                status=PaymentStatus.COMPLETED,
                details={"payer_email": "ana@example.com"},
            )
        )
        contact = session.get(Contact, contact_id)
        assert contact is not None
        contact.total_spent_minor = 800_000
        contact.total_conversations = 1
    return contact_id


def test_export_holds_everything_about_the_contact(api: Api) -> None:
    contact_id = _customer_with_history(api)
    owner = api.as_role(Role.OWNER)
    response = owner.get(f"/api/contacts/{contact_id}/export")
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["profile"]["name"] == "Ana Pérez" and data["profile"]["phone"] == PHONE
    assert {(i["kind"], i["value"]) for i in data["identities"]} == {
        ("phone", PHONE),
        ("email", "ana@example.com"),
    }
    [conversation] = data["conversations"]
    assert [m["body"] for m in conversation["messages"]] == [
        "Soy Ana, mi DNI es 12345678",
        "Hola Ana, ¿qué día querés venir?",
    ]
    assert conversation["messages"][0]["attachments"][0]["url"] == ATTACHMENT_URL
    assert [n["body"] for n in data["notes"]] == ["Alérgica al tinte"]
    assert data["bookings"][0]["notes"] == "Trae su propio tinte"
    assert data["payments"][0]["amount_minor"] == 800_000
    assert api.as_role(Role.AGENT).get(f"/api/contacts/{contact_id}/export").status_code == 403
    other = api.as_role(Role.OWNER, tenant="other")
    assert other.get(f"/api/contacts/{contact_id}/export").status_code == 404


def test_erase_anonymises_keeps_counts_and_is_idempotent(api: Api) -> None:
    contact_id = _customer_with_history(api)
    owner = api.as_role(Role.OWNER)
    erased = owner.post(f"/api/contacts/{contact_id}/erase")
    assert erased.status_code == 200, erased.text
    report = erased.json()
    assert report["already_erased"] is False
    assert (report["messages"], report["notes"], report["identities"]) == (2, 1, 2)

    contact = owner.get(f"/api/contacts/{contact_id}").json()
    assert contact["name"] == "Erased contact" and contact["erased_at"] is not None
    assert contact["phone"] is None and contact["email"] is None and contact["identities"] == []
    assert contact["total_spent_minor"] == 800_000 and contact["bookings_count"] == 1
    assert contact["conversations_count"] == 1
    with api.runtime.db.transaction() as session:
        bodies = session.scalars(select(Message.body)).all()
        assert bodies == ["[erased]", "[erased]"]
        assert session.scalars(select(Message.attachments)).all() == [None, None]
        assert session.scalar(select(func.count()).select_from(ConversationNote)) == 0
        assert session.scalars(select(ContactIdentity)).all() == []
        conversation = session.scalars(select(Conversation)).one()
        assert conversation.message_count == 2 and PHONE not in conversation.peer
        assert session.scalars(select(Booking.notes)).one() == ""
        payment = session.scalars(select(Payment)).one()
        assert payment.amount_minor == 800_000 and payment.details == {}
        # The audit log keeps no personal data of the erased contact.
        entries = session.scalars(
            select(AuditLog).where(AuditLog.entity_id == str(contact_id))
        ).all()
        assert {e.action for e in entries} >= {"create", "erase"}
        assert not [e for e in entries if "Ana" in str(e.changes) or "555" in str(e.changes)]

    again = owner.post(f"/api/contacts/{contact_id}/erase")
    assert again.status_code == 200
    assert again.json()["already_erased"] is True and again.json()["messages"] == 0
    assert again.json()["erased_at"] == report["erased_at"]
    # The phone is free for a new contact; the erased one cannot be edited back.
    assert owner.post("/api/contacts", json={"phone": PHONE}).status_code == 201
    assert owner.put(f"/api/contacts/{contact_id}", json={"name": "Ana"}).status_code == 409


def test_consent_given_and_withdrawn(api: Api) -> None:
    agent = api.as_role(Role.AGENT)
    contact = agent.post("/api/contacts", json={"phone": PHONE}).json()
    path = f"/api/contacts/{contact['id']}/consent"
    given = agent.put(path, json={"given": True, "source": "web_form"})
    assert given.status_code == 200, given.text
    consent = given.json()["consent"]
    assert consent["given"] is True and consent["source"] == "web_form"
    assert given.json()["consent_at"] is not None
    listed = agent.get("/api/contacts").json()["items"][0]
    assert listed["consent_at"] == given.json()["consent_at"]
    withdrawn = agent.put(path, json={"given": False, "source": "whatsapp"})
    assert withdrawn.json()["consent"] == {
        "given": False,
        "at": withdrawn.json()["consent"]["at"],
        "source": "whatsapp",
    }
    assert withdrawn.json()["consent_at"] is None
    assert agent.put(path, json={"given": True}).status_code == 422
    history = api.as_role(Role.OWNER).get(f"/api/contacts/{contact['id']}/export").json()
    assert [(h["action"], h["source"]) for h in history["consent_history"]] == [
        ("consent_given", "web_form"),
        ("consent_withdrawn", "whatsapp"),
    ]


def _raw_inbound(api: Api, contact_id: uuid.UUID, status: InboxStatus) -> None:
    """The contact's conversation on WhatsApp and the provider's raw event for it."""
    tenant_id = api.tenant_id()
    with api.runtime.db.transaction() as session:
        if session.scalars(select(Conversation).where(Conversation.peer == PHONE)).first() is None:
            session.add(
                Conversation(
                    tenant_id=tenant_id, contact_id=contact_id, channel="whatsapp", peer=PHONE
                )
            )
        session.add(
            InboxEvent(
                tenant_id=tenant_id,
                channel="whatsapp",
                provider_message_id=f"wamid.{uuid.uuid4().hex}",
                peer=PHONE,
                payload={"text": "Soy Ana, mi DNI es 12345678", "name": "Ana Pérez"},
                status=status,
            )
        )


def _inbox(api: Api) -> list[tuple[str, str, InboxStatus]]:
    with api.runtime.db.transaction() as session:
        return [
            (e.peer, str(e.payload), e.status)
            for e in session.scalars(select(InboxEvent).order_by(InboxEvent.id))
        ]


def test_deleting_a_contact_redacts_their_raw_inbound_events(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    created = owner.post("/api/contacts", json={"name": "Ana Pérez", "phone": PHONE})
    contact_id = uuid.UUID(created.json()["id"])
    _raw_inbound(api, contact_id, InboxStatus.PROCESSED)
    _raw_inbound(api, contact_id, InboxStatus.QUARANTINED)
    # Someone else's event stays as it was.
    other_peer = "+541155559999"
    with api.runtime.db.transaction() as session:
        session.add(
            InboxEvent(
                tenant_id=api.tenant_id(),
                channel="whatsapp",
                provider_message_id="wamid.other",
                peer=other_peer,
                payload={"text": "Hola", "name": "Beto"},
                status=InboxStatus.PROCESSED,
            )
        )
    assert owner.delete(f"/api/contacts/{contact_id}").status_code == 204

    events = _inbox(api)
    assert len(events) == 3  # kept: the provider message id still dedupes a retry
    mine, others = events[:2], events[2:]
    for peer, payload, _ in mine:
        assert PHONE not in peer and "Ana" not in payload and "12345678" not in payload
    assert others == [(other_peer, str({"text": "Hola", "name": "Beto"}), InboxStatus.PROCESSED)]


def test_erasing_a_contact_redacts_their_raw_inbound_events(api: Api) -> None:
    contact_id = _customer_with_history(api)
    _raw_inbound(api, contact_id, InboxStatus.PROCESSED)
    _raw_inbound(api, contact_id, InboxStatus.QUARANTINED)
    assert api.as_role(Role.OWNER).post(f"/api/contacts/{contact_id}/erase").status_code == 200
    for peer, payload, _ in _inbox(api):
        assert PHONE not in peer and "Ana" not in payload and "12345678" not in payload
