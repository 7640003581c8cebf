"""Tenant isolation, attacked: for every route that takes an object id, hypothesis
(through schemathesis' schema-driven strategies) builds valid requests that aim at
another tenant's objects. The answer is always 404 — never data, never a change."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hablo import __version__
from hablo.api.openapi import build_document
from hablo.db.base import Base
from hablo.db.enums import (
    DeliveryStatus,
    OutboxStatus,
    PaymentMethod,
    PaymentStatus,
    Role,
    SenderKind,
)
from hablo.db.models import (
    Booking,
    ChannelAccount,
    Contact,
    ContactIdentity,
    Conversation,
    ConversationNote,
    Holiday,
    Label,
    Message,
    OutboxMessage,
    Payment,
    SavedReply,
    Service,
    User,
)
from hablo.notify.mailer import FileMailer
from hablo.notify.notification_mails import NotificationMails
from hablo.payments.invoices import issue_invoice
from tests.api.support import UNUSABLE_HASH, Api
from tests.api.test_rbac import declared_endpoints

# Routes whose ids are not tenant objects (platform admin works across tenants).
NOT_TENANT_SCOPED = ("/api/admin/",)
EXAMPLES_PER_ROUTE = 8


def plant_foreign_objects(api: Api) -> dict[str, list[Any]]:
    """Objects of every kind in the tenant 'victim', by the path parameter naming them."""
    tenant_id = api.tenant_id("victim")
    with api.runtime.db.transaction() as session:
        service = session.scalars(select(Service).where(Service.tenant_id == tenant_id)).first()
        assert service is not None
        holiday = session.scalars(select(Holiday).where(Holiday.tenant_id == tenant_id)).first()
        assert holiday is not None
        contact = Contact(tenant_id=tenant_id, name="Víctima Secreta", phone="+5491155550000")
        session.add(contact)
        session.flush()
        session.add(
            ContactIdentity(
                tenant_id=tenant_id, contact_id=contact.id, kind="phone", value=contact.phone
            )
        )
        conversation = Conversation(
            tenant_id=tenant_id, contact_id=contact.id, channel="console", peer="victim-peer"
        )
        session.add(conversation)
        session.flush()
        message = Message(
            tenant_id=tenant_id,
            conversation_id=conversation.id,
            sender_kind=SenderKind.CUSTOMER,
            body="mensaje secreto de la víctima",
            status=DeliveryStatus.RECEIVED,
        )
        note = ConversationNote(
            tenant_id=tenant_id, conversation_id=conversation.id, body="nota secreta"
        )
        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
        booking = Booking(
            tenant_id=tenant_id,
            contact_id=contact.id,
            service_id=service.id,
            conversation_id=conversation.id,
            starts_at=starts,
            ends_at=starts + timedelta(minutes=service.duration_minutes),
            duration_minutes=service.duration_minutes,
        )
        user = User(
            tenant_id=tenant_id,
            email="agent@victim.test",
            first_name="Secreto",
            password_hash=UNUSABLE_HASH,
            role=Role.AGENT,
        )
        session.add_all([message, note, booking, user])
        session.flush()
        dead = OutboxMessage(
            tenant_id=tenant_id,
            message_id=message.id,
            conversation_id=conversation.id,
            channel="console",
            peer="victim-peer",
            payload={"text": "respuesta secreta"},
            status=OutboxStatus.DEAD,
            last_error="provider said no",
        )
        payment = Payment(
            tenant_id=tenant_id,
            contact_id=contact.id,
            booking_id=booking.id,
            amount_minor=service.price_minor,
            currency="ARS",
            method=PaymentMethod.CASH,
            status=PaymentStatus.COMPLETED,
        )
        account = ChannelAccount(
            tenant_id=tenant_id,
            channel="twilio_sms",
            address="+15005550009",
            display_name="Secreto",
            secrets={},
        )
        label = Label(tenant_id=tenant_id, name="etiqueta secreta")
        saved = SavedReply(tenant_id=tenant_id, shortcut="secreta", text="texto secreto")
        session.add_all([dead, payment, account, label, saved])
        session.flush()
        invoice = issue_invoice(session, payment, now=datetime.now(UTC))
        ids = {
            "service_id": service.id,
            "holiday_id": holiday.id,
            "contact_id": contact.id,
            "conversation_id": conversation.id,
            "message_id": message.id,
            "note_id": note.id,
            "booking_id": booking.id,
            "user_id": user.id,
            "payment_id": payment.id,
            "invoice_id": invoice.id,
            "account_id": account.id,
            "label_id": label.id,
            "reply_id": saved.id,
        }
    foreign: dict[str, list[Any]] = {name: [str(value)] for name, value in ids.items()}
    foreign["outbox_id"] = [dead.id]
    return foreign


def _names_an_object(endpoint: Any, param: str) -> bool:
    """UUID ids, and integer ids of rows (outbox); not e.g. a weekday number."""
    return endpoint.path_types.get(param) is None or param.endswith("_id")


def snapshot(api: Api, tenant_id: uuid.UUID) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tenant, for before/after comparison."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with api.runtime.db.transaction() as session:
        for table in Base.metadata.sorted_tables:
            column = table.c.get("tenant_id")
            if column is None:
                continue
            rows = session.execute(select(table).where(column == tenant_id)).all()
            out[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return out


@pytest.mark.timeout(900)
def test_no_route_reads_or_changes_another_tenants_objects(api: Api) -> None:
    foreign = plant_foreign_objects(api)
    victim = api.tenant_id("victim")
    secrets = {
        "Víctima Secreta",
        "mensaje secreto",
        "nota secreta",
        "respuesta secreta",
        "agent@victim.test",
        "etiqueta secreta",
        "texto secreto",
    } | {v for values in foreign.values() for v in values if isinstance(v, str)}
    # The planted booking is a staff notification: let the mail job do its bookkeeping
    # now, so only the attacks could change the victim's rows below.
    NotificationMails(
        api.runtime.db, FileMailer("t@test", api.runtime.settings.state_dir), api.runtime.settings
    ).plan()
    before = snapshot(api, victim)

    endpoints = [
        e
        for e in declared_endpoints()
        if e.permission is not None
        and not e.path.startswith(NOT_TENANT_SCOPED)
        and any(e.path_types.get(p) is None for p in e.path_params)
    ]
    unknown = {p for e in endpoints for p in e.path_params if e.path_types.get(p) is None} - set(
        foreign
    )
    assert not unknown, f"plant a foreign object for path parameter(s) {sorted(unknown)}"
    schema = schemathesis.openapi.from_dict(build_document(endpoints, version=__version__))
    operations = [schema[e.path][e.method] for e in endpoints]
    attacker = api.as_role(Role.OWNER)
    headers = {"Authorization": f"Bearer {attacker.token}"}
    seen: dict[str, set[int]] = {}

    def attack(operation: Any) -> None:
        @settings(
            max_examples=EXAMPLES_PER_ROUTE,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(data=st.data())
        def one_request(data: st.DataObject) -> None:
            case = data.draw(operation.as_strategy())
            for name in list(case.path_parameters or {}):
                if name in foreign:
                    case.path_parameters[name] = data.draw(st.sampled_from(foreign[name]))
            response = case.call(base_url=api.base_url, headers=headers)
            where = f"{case.method} {case.formatted_path}"
            seen.setdefault(f"{case.method} {operation.path}", set()).add(response.status_code)
            text = response.text
            for secret in secrets:
                assert secret not in text, f"{where} leaked {secret!r}: {text[:300]}"
            if response.status_code == 422:
                assert json.loads(text)["error"]["code"] == "validation_error", text
            else:
                assert response.status_code == 404, f"{where}: {response.status_code} {text[:300]}"

        one_request()

    for operation in operations:
        attack(operation)
    assert snapshot(api, victim) == before, "another tenant's rows changed"
    # Every route was attacked at least once and answered 404 at least once.
    missing = {f"{e.method} {e.path}" for e in endpoints} - set(seen)
    assert not missing, f"routes never attacked: {sorted(missing)}"
    never_404 = sorted(route for route, codes in seen.items() if 404 not in codes)
    assert not never_404, f"routes that never reached the ownership check: {never_404} {seen}"
