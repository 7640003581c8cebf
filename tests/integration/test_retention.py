"""The retention job on both databases: rows and files past their time are gone, recent
ones and another tenant's are kept, and a second run deletes nothing more."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hablo.api.media_store import StoredFile, media_store
from hablo.bootstrap import Runtime, bootstrap
from hablo.db.base import utcnow
from hablo.db.enums import DeliveryStatus, InboxStatus, OutboxStatus, SenderKind
from hablo.db.models import (
    AuditLog,
    Contact,
    Conversation,
    InboxEvent,
    Message,
    OutboxMessage,
    StaffNotification,
    Tenant,
)
from hablo.demo import seed_demo
from hablo.lifecycle.retention import Retention
from hablo.tenancy.settings import MESSAGE_RETENTION_KEY
from tests.conftest import make_settings

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(40))
NOW = utcnow()
OLD = NOW - timedelta(days=120)  # past every retention below
RECENT = NOW - timedelta(days=5)  # within all of them


class Business:
    """One tenant with a conversation whose messages are written at chosen times."""

    def __init__(self, runtime: Runtime, tenant_id: uuid.UUID) -> None:
        self.runtime, self.tenant_id = runtime, tenant_id
        self.store = media_store(runtime.settings)
        with runtime.db.transaction() as session:
            contact = Contact(tenant_id=tenant_id, name="Ana", phone="+5491155550001")
            session.add(contact)
            session.flush()
            conversation = Conversation(
                tenant_id=tenant_id, contact_id=contact.id, channel="console", peer="+5491155550001"
            )
            session.add(conversation)
            session.flush()
            self.conversation_id = conversation.id

    def message(self, at: datetime, text: str, *, with_file: bool = False) -> StoredFile | None:
        stored = self.store.save(self.tenant_id, PNG, f"{text}.png") if with_file else None
        payload: dict[str, Any] = {"text": text}
        if stored is not None:
            payload["media"] = {"url": self.store.url(stored, at), "type": "image"}
            payload["file"] = stored.extras()
        with self.runtime.db.transaction() as session:
            message = Message(
                tenant_id=self.tenant_id,
                conversation_id=self.conversation_id,
                sender_kind=SenderKind.AGENT,
                body=text,
                status=DeliveryStatus.SENT,
                created_at=at,
            )
            session.add(message)
            session.flush()
            session.add(
                OutboxMessage(
                    tenant_id=self.tenant_id,
                    message_id=message.id,
                    conversation_id=self.conversation_id,
                    channel="console",
                    peer="+5491155550001",
                    payload=payload,
                    status=OutboxStatus.SENT,
                    created_at=at,
                )
            )
        return stored

    def upload(self, age: timedelta) -> StoredFile:
        """A file uploaded `age` ago that no message refers to."""
        stored = self.store.save(self.tenant_id, PNG, "nunca enviado.png")
        when = (NOW - age).timestamp()
        os.utime(self.path(stored), (when, when))
        return stored

    def path(self, stored: StoredFile | None) -> Path:
        assert stored is not None
        return self.store.folder.path(self.tenant_id, stored.file_id)

    def bodies(self) -> list[str]:
        with self.runtime.db.transaction() as session:
            return sorted(
                session.scalars(
                    select(Message.body).where(Message.tenant_id == self.tenant_id)
                ).all()
            )


def _logs(runtime: Runtime, tenant_id: uuid.UUID) -> None:
    with runtime.db.transaction() as session:
        for at, tag in ((OLD, "old"), (RECENT, "recent")):
            session.add(AuditLog(tenant_id=tenant_id, action="update", entity=tag, created_at=at))
            for status in (InboxStatus.PROCESSED, InboxStatus.PENDING):
                session.add(
                    InboxEvent(
                        tenant_id=tenant_id,
                        channel="console",
                        provider_message_id=f"{tag}-{status}-{uuid.uuid4()}",
                        peer="+5491155550001",
                        status=status,
                        received_at=at,
                    )
                )
            session.add(
                StaffNotification(
                    tenant_id=tenant_id,
                    kind="handoff",
                    event_key=f"{tag}-{uuid.uuid4()}",
                    created_at=at,
                )
            )


def _left(runtime: Runtime, model: Any, column: Any, tenant_id: uuid.UUID) -> list[str]:
    """What is left of a log table's rows for the tenant, counted by `column`."""
    with runtime.db.transaction() as session:
        rows = session.execute(
            select(column, func.count()).where(model.tenant_id == tenant_id).group_by(column)
        )
        return sorted(f"{value}:{count}" for value, count in rows)


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """The demo salon, with a media folder of this test's own."""
    rt = bootstrap(make_settings(db_url, state_dir=tmp_path / "state"), upgrade_schema=False)
    with rt.db.transaction() as session:
        seed_demo(session)
    yield rt
    rt.close()


@pytest.fixture
def businesses(runtime: Runtime) -> tuple[Business, Business]:
    with runtime.db.transaction() as session:
        demo = session.scalars(select(Tenant).where(Tenant.slug == "demo")).one()
        demo.settings = {**(demo.settings or {}), MESSAGE_RETENTION_KEY: 30}
        other = Tenant(slug="otra-clinica", name="Otra clínica")
        session.add(other)
        session.flush()
        ids = demo.id, other.id
    return Business(runtime, ids[0]), Business(runtime, ids[1])


def _retention(runtime: Runtime) -> Retention:
    """The job as bootstrap builds it, on a fixed clock, ten rows a batch."""
    settings = runtime.settings.model_copy(update={"retention_batch": 10})
    return Retention.of(settings, runtime.db, clock=lambda: NOW)


def test_messages_files_and_logs_past_retention_go_the_rest_stays(
    runtime: Runtime, businesses: tuple[Business, Business]
) -> None:
    clinic, other = businesses
    # More old messages than one batch holds: the job takes them a batch at a time.
    for i in range(23):
        clinic.message(OLD + timedelta(minutes=i), f"viejo {i:02}")
    old_file = clinic.message(OLD, "receta vieja", with_file=True)
    new_file = clinic.message(RECENT, "receta nueva", with_file=True)
    clinic.message(RECENT, "hola de nuevo")
    others_file = other.message(OLD, "de la otra", with_file=True)
    orphan_old = clinic.upload(timedelta(hours=30))
    orphan_new = clinic.upload(timedelta(hours=2))
    others_orphan = other.upload(timedelta(days=3))
    _logs(runtime, clinic.tenant_id)

    report = _retention(runtime).run_once()

    assert clinic.bodies() == ["hola de nuevo", "receta nueva"]
    assert other.bodies() == ["de la otra"]  # no retention set: kept however old
    assert not clinic.path(old_file).exists()
    assert clinic.path(new_file).read_bytes() == PNG
    assert other.path(others_file).read_bytes() == PNG
    assert not clinic.path(orphan_old).exists() and clinic.path(orphan_new).exists()
    assert not other.path(others_orphan).exists()  # nobody's: gone for every tenant
    with runtime.db.transaction() as session:
        conversation = session.get(Conversation, clinic.conversation_id)
        outbox = session.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.tenant_id == clinic.tenant_id)
        ).all()
    assert conversation is not None  # the conversation stays (its messages went)
    assert sorted(p["text"] for p in outbox) == ["hola de nuevo", "receta nueva"]
    tenant = clinic.tenant_id
    assert "old:1" not in _left(runtime, AuditLog, AuditLog.entity, tenant)
    assert "recent:1" in _left(runtime, AuditLog, AuditLog.entity, tenant)
    assert _left(runtime, InboxEvent, InboxEvent.status, tenant) == ["pending:2", "processed:1"]
    assert len(_left(runtime, StaffNotification, StaffNotification.event_key, tenant)) == 1
    assert report.deleted == {
        "audit_log": 1,
        "inbox": 1,
        "staff_notifications": 1,
        "messages": 24,
        "media_files": 1,
        "orphan_media_files": 2,
    }

    # Idempotent: a second run finds nothing more.
    assert _retention(runtime).run_once().deleted == {}
    assert clinic.bodies() == ["hola de nuevo", "receta nueva"]


def test_a_file_sent_before_messages_kept_its_id_is_found_by_its_link(
    runtime: Runtime, businesses: tuple[Business, Business]
) -> None:
    """Messages written before `file.id` existed name their file only in the sealed link:
    the job reads it there, so the file is neither orphaned nor left behind."""
    clinic, _other = businesses
    kept = clinic.message(RECENT, "legacy reciente", with_file=True)
    gone = clinic.message(OLD, "legacy viejo", with_file=True)
    with runtime.db.transaction() as session:
        for row in session.scalars(select(OutboxMessage)):
            if row.payload.get("file"):
                file = {k: v for k, v in row.payload["file"].items() if k != "id"}
                row.payload = {**row.payload, "file": file}
    for stored in (kept, gone):  # both uploaded long ago
        when = OLD.timestamp()
        os.utime(clinic.path(stored), (when, when))

    _retention(runtime).run_once()

    assert clinic.path(kept).read_bytes() == PNG
    assert not clinic.path(gone).exists()
