"""Provider delivery callbacks move a sent message forward only, whatever their order."""

from __future__ import annotations

import uuid

from hablo.bootstrap import Runtime
from hablo.db.enums import DeliveryStatus, OutboxStatus, SenderKind
from hablo.db.models import Contact, Conversation, Message, OutboxMessage


def _sent_reply(runtime: Runtime, tenant_id: uuid.UUID, provider_id: str) -> uuid.UUID:
    with runtime.db.transaction() as session:
        contact = Contact(tenant_id=tenant_id, name="Ana", phone="+5491155550101")
        session.add(contact)
        session.flush()
        conversation = Conversation(
            tenant_id=tenant_id, contact_id=contact.id, channel="whatsapp_cloud", peer="5491155"
        )
        session.add(conversation)
        session.flush()
        message = Message(
            tenant_id=tenant_id,
            conversation_id=conversation.id,
            sender_kind=SenderKind.BOT,
            body="¡Hola!",
            status=DeliveryStatus.SENT,
        )
        session.add(message)
        session.flush()
        session.add(
            OutboxMessage(
                tenant_id=tenant_id,
                message_id=message.id,
                conversation_id=conversation.id,
                channel="whatsapp_cloud",
                peer="5491155",
                payload={"text": "¡Hola!"},
                status=OutboxStatus.SENT,
                provider_message_id=provider_id,
            )
        )
        return message.id


def _status(runtime: Runtime, message_id: uuid.UUID) -> tuple[DeliveryStatus, str | None]:
    with runtime.db.transaction() as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message.status, message.error


def test_callbacks_only_move_forward(runtime: Runtime, demo_tenant_id: uuid.UUID) -> None:
    store = runtime.engine.store
    message_id = _sent_reply(runtime, demo_tenant_id, "wamid.A1")
    record = store.record_delivery
    assert record(demo_tenant_id, "whatsapp_cloud", "wamid.A1", DeliveryStatus.READ)
    assert _status(runtime, message_id)[0] == DeliveryStatus.READ
    # A late 'delivered' and a repeated 'read' change nothing.
    assert not record(demo_tenant_id, "whatsapp_cloud", "wamid.A1", DeliveryStatus.DELIVERED)
    assert not record(demo_tenant_id, "whatsapp_cloud", "wamid.A1", DeliveryStatus.READ)
    assert not record(demo_tenant_id, "whatsapp_cloud", "wamid.A1", DeliveryStatus.FAILED)
    assert _status(runtime, message_id)[0] == DeliveryStatus.READ


def test_failure_is_recorded_with_its_reason(runtime: Runtime, demo_tenant_id: uuid.UUID) -> None:
    store = runtime.engine.store
    message_id = _sent_reply(runtime, demo_tenant_id, "wamid.B2")
    assert store.record_delivery(
        demo_tenant_id, "whatsapp_cloud", "wamid.B2", DeliveryStatus.FAILED, "131047: re-engage"
    )
    assert _status(runtime, message_id) == (DeliveryStatus.FAILED, "131047: re-engage")


def test_unknown_ids_and_other_tenants_change_nothing(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    store = runtime.engine.store
    message_id = _sent_reply(runtime, demo_tenant_id, "wamid.C3")
    assert not store.record_delivery(
        demo_tenant_id, "whatsapp_cloud", "wamid.nope", DeliveryStatus.READ
    )
    assert not store.record_delivery(
        uuid.uuid4(), "whatsapp_cloud", "wamid.C3", DeliveryStatus.READ
    )
    assert not store.record_delivery(demo_tenant_id, "twilio_sms", "wamid.C3", DeliveryStatus.READ)
    assert _status(runtime, message_id)[0] == DeliveryStatus.SENT
