"""The plan gate in front of every turn: a suspended tenant's bot stays silent, and a
tenant out of monthly messages answers with a polite notice instead of running NLU and
skills. Either way the customer's message is recorded (the turn still commits).

It reads the tenant's usage (kept by the recount job, tenancy/usage.py, every minute)
at most once per GATE_TTL_S per tenant and process: a read per turn cost a fifth of the
hot path's throughput. A plan change or a suspension made through the API still counts
from the very next turn: the API tells the engine (`Engine.reload_tenant`), which calls
`forget()`.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from hablo.db.enums import TenantStatus
from hablo.db.models import Tenant
from hablo.engine.nlu.language import detect_language
from hablo.engine.skillset import TenantRuntime
from hablo.engine.store import LockedConversation
from hablo.engine.turns import TurnOutcome, run_turn

LIMIT_TEMPLATE = "plan_limit"
LIMIT_SKILL = "plan_limit"
GATE_TTL_S = 5.0

_lock = threading.Lock()
_decisions: dict[uuid.UUID, tuple[float, PlanBlock | None]] = {}


@dataclass(frozen=True)
class PlanBlock:
    suspended: bool


def plan_block(conn: Connection, tenant_id: uuid.UUID) -> PlanBlock | None:
    """Why this tenant's bot may not answer now, or None when it may."""
    row = conn.execute(
        select(Tenant.status, Tenant.messages_used_month, Tenant.monthly_message_limit).where(
            Tenant.id == tenant_id
        )
    ).first()
    if row is None:
        return None
    if row.status == TenantStatus.SUSPENDED:
        return PlanBlock(suspended=True)
    if row.messages_used_month >= row.monthly_message_limit:
        return PlanBlock(suspended=False)
    return None


def cached_plan_block(conn: Connection, tenant_id: uuid.UUID) -> PlanBlock | None:
    now = time.monotonic()
    with _lock:
        found = _decisions.get(tenant_id)
    if found is not None and found[0] > now:
        return found[1]
    block = plan_block(conn, tenant_id)
    with _lock:
        _decisions[tenant_id] = (now + GATE_TTL_S, block)
    return block


def forget(tenant_id: uuid.UUID) -> None:
    """The tenant's plan or status changed: decide again on its next turn."""
    with _lock:
        _decisions.pop(tenant_id, None)


def forget_all() -> None:
    with _lock:
        _decisions.clear()


def run_gated_turn(
    runtime: TenantRuntime,
    conversation: LockedConversation,
    text: str,
    conn: Connection | None,
) -> TurnOutcome:
    """`run_turn` behind the plan gate."""
    block = cached_plan_block(conn, runtime.profile.info.id) if conn is not None else None
    if block is None:
        return run_turn(runtime, conversation, text, conn)
    language = detect_language(text, conversation.language or runtime.profile.info.language)
    replies: tuple[str, ...] = ()
    if not block.suspended:
        notice = runtime.services.say(LIMIT_TEMPLATE, language)
        replies = (notice,)
    return TurnOutcome(
        language=language,
        intent=None,
        confidence=0.0,
        skill=None if block.suspended else LIMIT_SKILL,
        replies=replies,
        new_state=None,  # the dialogue resumes where it was once the limit lifts
        new_status=None,
        error=None,
    )
