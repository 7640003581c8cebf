"""Counting what a tenant uses against its plan: contacts, and customer messages in the
current calendar month of the tenant's time zone.

The engine does not count per turn (that would make every turn of a tenant contend for
its row): a housekeeping job recounts every tenant every RECOUNT_INTERVAL_S seconds into
`tenants.contacts_used` / `messages_used_month`, and turns read those cached numbers.
The same job tells a tenant, once per period, that its messages ran out.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from hablo.db.database import Database
from hablo.db.enums import Role, SenderKind, TenantStatus, UserStatus
from hablo.db.models import AuditLog, Contact, Message, Tenant, User
from hablo.tenancy import plan_gate
from hablo.tenancy.settings import NotificationSettings

log = logging.getLogger(__name__)

RECOUNT_INTERVAL_S = 60.0
LIMIT_REACHED_ACTION = "plan_limit_reached"


def month_period(timezone: str, now: datetime) -> tuple[datetime, datetime]:
    """The calendar month containing `now`, as aware datetimes in the tenant's zone."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    start = datetime(local.year, local.month, 1, tzinfo=zone)
    if local.month == 12:
        end = datetime(local.year + 1, 1, 1, tzinfo=zone)
    else:
        end = datetime(local.year, local.month + 1, 1, tzinfo=zone)
    return start, end


def count_contacts(session: Session, tenant_id: uuid.UUID) -> int:
    query = select(func.count(Contact.id)).where(
        Contact.tenant_id == tenant_id, Contact.erased_at.is_(None)
    )
    return int(session.scalar(query) or 0)


def count_customer_messages(
    session: Session, tenant_id: uuid.UUID, start: datetime, end: datetime
) -> int:
    query = select(func.count(Message.id)).where(
        Message.tenant_id == tenant_id,
        Message.sender_kind == SenderKind.CUSTOMER,
        Message.created_at >= start.astimezone(UTC),
        Message.created_at < end.astimezone(UTC),
    )
    return int(session.scalar(query) or 0)


@dataclass(frozen=True)
class LimitNotice:
    """A tenant ran out of monthly messages: who is told (sent after the commit)."""

    tenant_id: uuid.UUID
    tenant_name: str
    locale: str
    period_start: datetime
    messages_used: int
    message_limit: int
    recipients: tuple[str, ...]


Notifier = Callable[[LimitNotice], None]


def log_notice(notice: LimitNotice) -> None:
    log.warning(
        "tenant %s reached its monthly message limit (%d/%d); %d recipients",
        notice.tenant_id,
        notice.messages_used,
        notice.message_limit,
        len(notice.recipients),
    )


def recount_usage(
    db: Database, now: Callable[[], datetime], notify: Notifier = log_notice
) -> list[LimitNotice]:
    """Recount every tenant's usage, record limit notices once per period, then send them."""
    with db.transaction() as session:
        notices = _recount(session, now())
    plan_gate.forget_all()  # the turn gate decides again on the fresh counts
    for notice in notices:
        try:
            notify(notice)
        except Exception:  # the audit row stands; a mail outage must not stop the job
            log.exception("could not send the plan limit notice of tenant %s", notice.tenant_id)
    return notices


def _recount(session: Session, now: datetime) -> list[LimitNotice]:
    tenants = session.execute(
        select(
            Tenant.id,
            Tenant.timezone,
            Tenant.status,
            Tenant.contacts_used,
            Tenant.messages_used_month,
            Tenant.monthly_message_limit,
        )
    ).all()
    contacts = dict(
        session.execute(
            select(Contact.tenant_id, func.count(Contact.id))
            .where(Contact.erased_at.is_(None))
            .group_by(Contact.tenant_id)
        ).all()
    )
    messages = _messages_by_tenant(session, [(t.id, t.timezone) for t in tenants], now)
    notices = []
    for t in tenants:
        used_contacts = int(contacts.get(t.id, 0))
        used_messages = messages.get(t.id, 0)
        if (used_contacts, used_messages) != (t.contacts_used, t.messages_used_month):
            session.execute(
                update(Tenant)
                .where(Tenant.id == t.id)
                # Usage is not an edit: keep updated_at, the ETag of the tenant's data.
                .values(
                    contacts_used=used_contacts,
                    messages_used_month=used_messages,
                    updated_at=Tenant.updated_at,
                )
            )
        if t.status != TenantStatus.SUSPENDED and used_messages >= t.monthly_message_limit:
            notice = _record_limit_reached(session, t.id, now, used_messages)
            if notice is not None:
                notices.append(notice)
    return notices


def _messages_by_tenant(
    session: Session, tenants: Sequence[tuple[uuid.UUID, str]], now: datetime
) -> dict[uuid.UUID, int]:
    """One grouped count per time zone (tenants of one zone share the month's bounds)."""
    by_zone: dict[str, list[uuid.UUID]] = defaultdict(list)
    for tenant_id, timezone in tenants:
        by_zone[timezone].append(tenant_id)
    counts: dict[uuid.UUID, int] = {}
    for timezone, ids in by_zone.items():
        try:
            start, end = month_period(timezone, now)
        except (ValueError, KeyError):
            log.warning("tenants %s have an unknown time zone %r; using UTC", ids, timezone)
            start, end = month_period("UTC", now)
        rows = session.execute(
            select(Message.tenant_id, func.count(Message.id))
            .where(
                Message.tenant_id.in_(ids),
                Message.sender_kind == SenderKind.CUSTOMER,
                Message.created_at >= start.astimezone(UTC),
                Message.created_at < end.astimezone(UTC),
            )
            .group_by(Message.tenant_id)
        ).all()
        counts.update({tenant_id: int(n) for tenant_id, n in rows})
    return counts


def _record_limit_reached(
    session: Session, tenant_id: uuid.UUID, now: datetime, used: int
) -> LimitNotice | None:
    """Audit row + notice, once per period: the audit row itself marks "already told"."""
    tenant = session.scalars(select(Tenant).where(Tenant.id == tenant_id).with_for_update()).one()
    start, _ = month_period(tenant.timezone, now)
    told = session.scalar(
        select(
            exists().where(
                AuditLog.tenant_id == tenant_id,
                AuditLog.action == LIMIT_REACHED_ACTION,
                AuditLog.created_at >= start.astimezone(UTC),
            )
        )
    )
    if told:
        return None
    recipients = limit_recipients(session, tenant)
    changes: dict[str, Any] = {
        "period_start": start.isoformat(),
        "messages_used": used,
        "monthly_message_limit": tenant.monthly_message_limit,
        "plan": tenant.plan.value,
        "recipients": ", ".join(recipients),
    }
    session.add(
        AuditLog(
            tenant_id=tenant_id,
            actor_user_id=None,
            action=LIMIT_REACHED_ACTION,
            entity="tenant",
            entity_id=str(tenant_id),
            changes=changes,
            created_at=now,
        )
    )
    return LimitNotice(
        tenant_id, tenant.name, tenant.locale, start, used, tenant.monthly_message_limit, recipients
    )


def limit_recipients(session: Session, tenant: Tenant) -> tuple[str, ...]:
    """Active owners and admins, plus the tenant's notification addresses if it wants
    plan limit e-mails."""
    managers = session.scalars(
        select(User.email)
        .where(
            User.tenant_id == tenant.id,
            User.role.in_((Role.OWNER, Role.ADMIN)),
            User.status == UserStatus.ACTIVE,
        )
        .order_by(User.email)
    ).all()
    preferences = NotificationSettings.of(tenant.settings or {})
    extra = preferences.emails if preferences.events.plan_limit else []
    return tuple(dict.fromkeys([*managers, *extra]))
