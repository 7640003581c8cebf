"""Token usage: recorded per inbound message and per tenant and month, in the turn's own
transaction; the monthly budget is checked before a turn calls the model, and reaching
it is told to the tenant once a month (audit row, log line, mail to owners and admins)."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, event, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from hablo.db.base import new_id, utcnow
from hablo.db.enums import Role, UserStatus
from hablo.db.models import AuditLog, LlmMonthlyUsage, LlmUsage, Tenant, User
from hablo.engine.metrics import LLM_TOKENS
from hablo.notify.mailer import Mailer, MailError
from hablo.tenancy.mails import MailText, llm_budget_reached_mail

log = logging.getLogger(__name__)
USAGE = cast(Table, LlmUsage.__table__)
MONTHLY = cast(Table, LlmMonthlyUsage.__table__)
AUDIT = cast(Table, AuditLog.__table__)
TENANTS = cast(Table, Tenant.__table__)
USERS = cast(Table, User.__table__)
BUDGET_REACHED = "llm.budget_reached"


def month_of(moment: datetime) -> str:
    return f"{moment:%Y-%m}"


def month_resets_at(moment: datetime) -> datetime:
    """When the month of `moment` (months are counted in UTC) is over."""
    moment = moment.astimezone(UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TurnUsage:
    model: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    outcome: str

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def used_this_month(conn: Connection, tenant_id: uuid.UUID, now: datetime) -> int:
    row = conn.execute(
        select(MONTHLY.c.prompt_tokens, MONTHLY.c.completion_tokens).where(
            MONTHLY.c.tenant_id == tenant_id, MONTHLY.c.month == month_of(now)
        )
    ).first()
    return 0 if row is None else int(row.prompt_tokens) + int(row.completion_tokens)


def record(
    conn: Connection,
    tenant_id: uuid.UUID,
    conversation_id: uuid.UUID | None,
    inbox_id: int | None,
    usage: TurnUsage,
) -> None:
    now = utcnow()
    conn.execute(
        insert(USAGE).values(
            tenant_id=tenant_id,
            conversation_id=conversation_id,
            inbox_id=inbox_id,
            model=usage.model[:128],
            calls=usage.calls,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            outcome=usage.outcome[:32],
            created_at=now,
        )
    )
    if usage.total:
        _add_monthly(conn, tenant_id, month_of(now), usage, now)
        # Counted when recorded: tokens spent stay spent even if the turn rolls back.
        LLM_TOKENS.labels(usage.model[:128], "prompt").inc(usage.prompt_tokens)
        LLM_TOKENS.labels(usage.model[:128], "completion").inc(usage.completion_tokens)


def _add_monthly(
    conn: Connection, tenant_id: uuid.UUID, month: str, usage: TurnUsage, now: datetime
) -> None:
    """One upsert: concurrent turns of a tenant add up instead of overwriting each other."""
    dialect_insert: Any = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(MONTHLY).values(
        tenant_id=tenant_id,
        month=month,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        updated_at=now,
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant_id", "month"],
            set_={
                "prompt_tokens": MONTHLY.c.prompt_tokens + statement.excluded.prompt_tokens,
                "completion_tokens": MONTHLY.c.completion_tokens
                + statement.excluded.completion_tokens,
                "updated_at": now,
            },
        )
    )


def notify_budget_reached(
    conn: Connection, tenant_id: uuid.UUID, slug: str, used: int, budget: int, now: datetime
) -> bool:
    """Tell the tenant once per month (an audit row it sees in its log, and a WARNING).
    Returns True when this call was the one that told it."""
    month = month_of(now)
    marked = conn.execute(
        update(MONTHLY)
        .where(
            MONTHLY.c.tenant_id == tenant_id,
            MONTHLY.c.month == month,
            MONTHLY.c.budget_notified_at.is_(None),
        )
        .values(budget_notified_at=now)
    ).rowcount
    if not marked:
        # No usage row yet (a budget of 0): create it already marked; a concurrent twin
        # loses on the unique key and stays silent.
        exists = conn.execute(
            select(MONTHLY.c.id).where(MONTHLY.c.tenant_id == tenant_id, MONTHLY.c.month == month)
        ).first()
        if exists is not None:
            return False
        dialect_insert: Any = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        marked = conn.execute(
            dialect_insert(MONTHLY)
            .values(
                tenant_id=tenant_id,
                month=month,
                prompt_tokens=0,
                completion_tokens=0,
                budget_notified_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "month"])
        ).rowcount
        if not marked:
            return False
    conn.execute(
        insert(AUDIT).values(
            id=new_id(),
            tenant_id=tenant_id,
            action=BUDGET_REACHED,
            entity="tenant",
            entity_id=str(tenant_id),
            changes={"month": month, "used_tokens": used, "budget_tokens": budget},
            created_at=now,
        )
    )
    log.warning(
        "tenant %s reached its monthly LLM token budget (%d of %d tokens in %s): "
        "answering with the local NLU until next month",
        slug,
        used,
        budget,
        month,
    )
    return True


def mail_managers_on_commit(
    conn: Connection, mailer: Mailer, tenant_id: uuid.UUID, used: int, budget: int, now: datetime
) -> None:
    """E-mail the tenant's active owners and admins that the budget was reached, once the
    turn's transaction commits (so a rolled back turn, whose "told" mark is gone too, sends
    nothing) and from a thread of its own: SMTP may take seconds, the customer may not."""
    tenant = conn.execute(
        select(TENANTS.c.name, TENANTS.c.locale).where(TENANTS.c.id == tenant_id)
    ).first()
    recipients = tuple(
        conn.execute(
            select(USERS.c.email)
            .where(
                USERS.c.tenant_id == tenant_id,
                USERS.c.role.in_((Role.OWNER, Role.ADMIN)),
                USERS.c.status == UserStatus.ACTIVE,
            )
            .order_by(USERS.c.email)
        ).scalars()
    )
    if tenant is None or not recipients:
        return
    mail = llm_budget_reached_mail(tenant.locale, tenant.name, used, budget, month_resets_at(now))

    def send_later(_conn: Connection) -> None:
        threading.Thread(
            target=_send_all, args=(mailer, recipients, mail), name="llm-budget-mail", daemon=True
        ).start()

    event.listen(conn, "commit", send_later, once=True)


def _send_all(mailer: Mailer, recipients: Sequence[str], mail: MailText) -> None:
    for address in recipients:  # one failure does not stop the rest
        try:
            mailer.send(address, mail.subject, mail.body)
        except MailError as exc:
            log.warning("LLM budget mail to %s failed: %s", address, exc)
