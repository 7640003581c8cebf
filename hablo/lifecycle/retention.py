"""Retention: what is past its time is deleted, a batch per transaction, by one process.

* The audit log after `audit_retention_days` (90); the log tables after
  `log_retention_days` (90): inbox events already handled (the provider-retry dedupe
  needs days, not months), staff notifications with their mails, per-call LLM usage
  (the monthly totals that plans count stay).
* A tenant's messages after its own `message_retention_days` (unset: kept), with their
  outbox rows and the files they sent. The conversations stay, with their dates, counts,
  status and contact: a clinic keeps the record that a patient wrote and when (its
  bookings and invoices point at it), but not what was written once the retention it
  chose has passed.
* Uploads no message refers to (the send failed, or the message is gone), once older than
  `orphan_media_hours` (24): an upload in progress is seconds old.

Each batch is one short transaction (no long locks; live turns go on between them), and
running it twice deletes nothing more: every step selects what is old *now*. The files
of a batch go after its commit; a file whose deletion did not happen is an orphan the next
run takes. The engine runs it as a periodic job: under the Redis router only the worker
holding the jobs shard does, so one process works at a time, and it must see the media
folder (the state volume the edges write uploads to).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, delete, select
from sqlalchemy.orm import InstrumentedAttribute

from hablo.config.settings import Settings
from hablo.db.base import utcnow
from hablo.db.database import Database
from hablo.db.enums import InboxStatus
from hablo.db.models import (
    AuditLog,
    InboxEvent,
    LlmUsage,
    Message,
    OutboxMessage,
    StaffNotification,
    Tenant,
)
from hablo.lifecycle.media_files import MediaFolder, media_root, referenced_file_id
from hablo.security.secrets import SecretBox
from hablo.tenancy.settings import message_retention_days

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionPolicy:
    audit_days: int = 90
    log_days: int = 90
    orphan_media_hours: float = 24.0
    batch: int = 500

    @classmethod
    def of(cls, settings: Settings) -> RetentionPolicy:
        return cls(
            settings.audit_retention_days,
            settings.log_retention_days,
            settings.orphan_media_hours,
            settings.retention_batch,
        )


@dataclass
class RetentionReport:
    """Rows and files one run deleted, by kind."""

    deleted: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, count: int) -> None:
        if count:
            self.deleted[kind] = self.deleted.get(kind, 0) + count


class Retention:
    def __init__(
        self,
        db: Database,
        media: MediaFolder,
        policy: RetentionPolicy,
        box: Callable[[], SecretBox | None] = lambda: None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.media = media
        self.policy = policy
        # The key ring reads the tenant of links written before messages kept their
        # file's id; built only when such a message turns up.
        self._box = box
        self._clock = clock

    @classmethod
    def of(
        cls, settings: Settings, db: Database, clock: Callable[[], datetime] = utcnow
    ) -> Retention:
        return cls(
            db,
            MediaFolder(media_root(settings)),
            RetentionPolicy.of(settings),
            box=lambda: SecretBox.from_config(settings.secret_keys, settings.state_dir),
            clock=clock,
        )

    def run_once(self) -> RetentionReport:
        now = self._clock()
        report = RetentionReport()
        audit_cutoff = now - timedelta(days=self.policy.audit_days)
        log_cutoff = now - timedelta(days=self.policy.log_days)
        report.add("audit_log", self._purge(AuditLog.id, AuditLog.created_at < audit_cutoff))
        report.add(
            "inbox",
            self._purge(
                InboxEvent.id,
                InboxEvent.received_at < log_cutoff,
                InboxEvent.status != InboxStatus.PENDING,
            ),
        )
        report.add(
            "staff_notifications",
            self._purge(StaffNotification.id, StaffNotification.created_at < log_cutoff),
        )
        report.add("llm_usage", self._purge(LlmUsage.id, LlmUsage.created_at < log_cutoff))
        for tenant_id, days in self._message_retention():
            self._purge_messages(tenant_id, now - timedelta(days=days), report)
        self._purge_orphans(now - timedelta(hours=self.policy.orphan_media_hours), report)
        if report.deleted:
            log.info("retention deleted %s", report.deleted)
        return report

    # -- rows ----------------------------------------------------------------------------

    def _purge(self, key: InstrumentedAttribute[Any], *where: ColumnElement[bool]) -> int:
        """Delete the rows `where` selects, a batch per transaction, oldest keys first."""
        table = key.class_
        total = 0
        while True:
            with self.db.transaction() as session:
                ids = session.scalars(
                    select(key).where(*where).order_by(key).limit(self.policy.batch)
                ).all()
                if ids:
                    session.execute(delete(table).where(key.in_(ids)))
            total += len(ids)
            if len(ids) < self.policy.batch:
                return total

    def _message_retention(self) -> Iterable[tuple[uuid.UUID, int]]:
        with self.db.transaction() as session:
            rows = session.execute(select(Tenant.id, Tenant.settings)).all()
        for tenant_id, settings in rows:
            days = message_retention_days(settings or {})
            if days is not None:
                yield tenant_id, days

    def _purge_messages(
        self, tenant_id: uuid.UUID, cutoff: datetime, report: RetentionReport
    ) -> None:
        while True:
            with self.db.transaction() as session:
                ids = session.scalars(
                    select(Message.id)
                    .where(Message.tenant_id == tenant_id, Message.created_at < cutoff)
                    .order_by(Message.created_at)
                    .limit(self.policy.batch)
                ).all()
                files: set[str] = set()
                if ids:
                    payloads = session.scalars(
                        select(OutboxMessage.payload).where(
                            OutboxMessage.tenant_id == tenant_id,
                            OutboxMessage.message_id.in_(ids),
                        )
                    ).all()
                    files = self._files_of(payloads)
                    session.execute(delete(OutboxMessage).where(OutboxMessage.message_id.in_(ids)))
                    session.execute(delete(Message).where(Message.id.in_(ids)))
            report.add("messages", len(ids))
            report.add("media_files", self.media.delete(tenant_id, files))
            if len(ids) < self.policy.batch:
                return

    # -- files ---------------------------------------------------------------------------

    def _purge_orphans(self, cutoff: datetime, report: RetentionReport) -> None:
        for tenant_id in list(self.media.tenants()):
            candidates = self.media.files_older_than(tenant_id, cutoff)
            if candidates:
                orphans = candidates - self._referenced(tenant_id)
                report.add("orphan_media_files", self.media.delete(tenant_id, orphans))

    def _referenced(self, tenant_id: uuid.UUID) -> set[str]:
        """The files the tenant's messages sent (only rows that name a file are read)."""
        with self.db.transaction() as session:
            payloads = session.scalars(
                select(OutboxMessage.payload).where(
                    OutboxMessage.tenant_id == tenant_id,
                    OutboxMessage.message_id.is_not(None),
                    cast(OutboxMessage.payload, Text).like('%"file"%'),
                )
            ).all()
        return self._files_of(payloads)

    def _files_of(self, payloads: Iterable[dict[str, Any] | None]) -> set[str]:
        found: set[str] = set()
        box: SecretBox | None = None
        for payload in payloads:
            if not payload or not payload.get("file"):
                continue
            if box is None and not _names_its_file(payload):
                box = self._box()
            file_id = referenced_file_id(payload, box)
            if file_id is not None:
                found.add(file_id)
        return found


def _names_its_file(payload: dict[str, Any]) -> bool:
    file = payload.get("file")
    return isinstance(file, dict) and isinstance(file.get("id"), str)
