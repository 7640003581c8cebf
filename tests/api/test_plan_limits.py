"""Plan limits through the engine: the recount job, the limit notice, suspension."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import select, update

from hablo.bootstrap import Runtime
from hablo.db.enums import Role, SenderKind, TenantStatus, UserStatus
from hablo.db.models import AuditLog, Message, Tenant, User
from hablo.notify.mailer import FileMailer
from hablo.tenancy.mails import mail_limit_notices
from hablo.tenancy.usage import LIMIT_REACHED_ACTION, recount_usage
from tests.fakes import CollectingSender
from tests.integration.helpers import inbound, start_collecting


def _set(runtime: Runtime, tenant_id: uuid.UUID, **values: object) -> None:
    """Change the tenant row and tell the engine, as the API and the recount job do."""
    with runtime.db.transaction() as session:
        session.execute(update(Tenant).where(Tenant.id == tenant_id).values(**values))
    runtime.engine.reload_tenant(tenant_id)


def _tenant(runtime: Runtime, tenant_id: uuid.UUID) -> Tenant:
    with runtime.db.transaction() as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        session.expunge(tenant)
        return tenant


def test_limit_reached_polite_notice_and_owners_told_once(
    runtime: Runtime, demo_tenant_id: uuid.UUID, tmp_path: Path
) -> None:
    with runtime.db.transaction() as session:
        session.add(
            User(
                tenant_id=demo_tenant_id,
                email="duena@salon.test",
                first_name="Sol",
                password_hash="!",
                role=Role.OWNER,
                status=UserStatus.ACTIVE,
            )
        )
    _set(runtime, demo_tenant_id, monthly_message_limit=2)
    sender = CollectingSender("console")
    turns = start_collecting(runtime, sender)
    for text in ("hola", "¿cuánto sale el corte?"):
        turns.wait_for([runtime.engine.submit(inbound(demo_tenant_id, text)).inbox_id], 60)
    assert "$8.000" in sender.sent[1].text
    before = _tenant(runtime, demo_tenant_id).updated_at

    mailer = FileMailer("hablo <no-reply@test>", tmp_path / "mail")
    notices = recount_usage(runtime.db, runtime.engine.clock, mail_limit_notices(mailer))
    assert [n.recipients for n in notices] == [("duena@salon.test",)]
    tenant = _tenant(runtime, demo_tenant_id)
    assert tenant.messages_used_month == 2 and tenant.contacts_used == 1
    assert tenant.updated_at == before  # a recount is not an edit (ETags stay valid)

    result = runtime.engine.submit(inbound(demo_tenant_id, "¿cuánto sale el corte?"))
    turns.wait_for([result.inbox_id], 60)
    assert "no podemos responder automáticamente" in sender.sent[2].text
    assert "Peluquería Sol" in sender.sent[2].text
    english = runtime.engine.submit(
        inbound(demo_tenant_id, "how much is a haircut?", peer="+15550100")
    )
    turns.wait_for([english.inbox_id], 60)
    assert sender.sent[3].text.startswith("Thanks for your message")

    # Nothing lost: the customer's messages are stored.
    with runtime.db.transaction() as session:
        bodies = session.scalars(
            select(Message.body).where(Message.sender_kind == SenderKind.CUSTOMER)
        ).all()
    assert "how much is a haircut?" in bodies and len(bodies) == 4

    # Told once per period, however often the job runs.
    assert recount_usage(runtime.db, runtime.engine.clock, mail_limit_notices(mailer)) == []
    with runtime.db.transaction() as session:
        rows = session.scalars(
            select(AuditLog).where(AuditLog.action == LIMIT_REACHED_ACTION)
        ).all()
    assert len(rows) == 1 and rows[0].tenant_id == demo_tenant_id
    mails = list((tmp_path / "mail").glob("*.eml"))
    assert len(mails) == 1 and "duena@salon.test" in mails[0].read_text()

    # A bigger plan lifts the limit from the very next message.
    _set(runtime, demo_tenant_id, monthly_message_limit=1000)
    again = runtime.engine.submit(inbound(demo_tenant_id, "¿cuánto sale el corte?"))
    turns.wait_for([again.inbox_id], 60)
    assert "$8.000" in sender.sent[4].text


def test_suspended_tenant_bot_is_silent_but_keeps_messages(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    sender = CollectingSender("console")
    turns = start_collecting(runtime, sender)
    turns.wait_for([runtime.engine.submit(inbound(demo_tenant_id, "hola")).inbox_id], 60)
    _set(runtime, demo_tenant_id, status=TenantStatus.SUSPENDED)
    silent = runtime.engine.submit(inbound(demo_tenant_id, "¿cuánto sale el corte?"))
    turns.wait_for([silent.inbox_id], 60)
    assert len(sender.sent) == 1
    with runtime.db.transaction() as session:
        customer = session.scalars(
            select(Message.body).where(Message.sender_kind == SenderKind.CUSTOMER)
        ).all()
    assert "¿cuánto sale el corte?" in customer
    # Suspended tenants are not nagged about limits.
    _set(runtime, demo_tenant_id, monthly_message_limit=1)
    assert recount_usage(runtime.db, runtime.engine.clock) == []

    _set(runtime, demo_tenant_id, status=TenantStatus.ACTIVE, monthly_message_limit=100)
    back = runtime.engine.submit(inbound(demo_tenant_id, "¿cuánto sale el corte?"))
    turns.wait_for([back.inbox_id], 60)
    assert "$8.000" in sender.sent[1].text
