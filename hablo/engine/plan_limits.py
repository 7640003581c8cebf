"""The plan gate in front of every turn: a suspended tenant's bot stays silent, and a
tenant out of monthly messages answers with a polite notice instead of running NLU and
skills. Either way the customer's message is recorded (the turn still commits).

It reads the tenant's usage (kept by the recount job, tenancy/usage.py, every minute)
at most once per GATE_TTL_S per tenant and process: a read per turn cost a fifth of the
hot path's throughput. A plan change or a suspension made through the API still counts
from the very next turn: the API tells the engine (`Engine.reload_tenant`), which calls
`plan_gate.forget()`. The cached decision itself is a tenancy rule (tenancy/plan_gate.py).
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from hablo.engine.assist import AssistedTurn
from hablo.engine.nlu.language import detect_language
from hablo.engine.skillset import TenantRuntime
from hablo.engine.store import LockedConversation
from hablo.engine.turns import TurnOutcome, run_turn
from hablo.tenancy.plan_gate import cached_plan_block

LIMIT_TEMPLATE = "plan_limit"
LIMIT_SKILL = "plan_limit"


def run_gated_turn(
    runtime: TenantRuntime,
    conversation: LockedConversation,
    text: str,
    conn: Connection | None,
    assisted: AssistedTurn | None = None,
) -> TurnOutcome:
    """`run_turn` behind the plan gate."""
    block = cached_plan_block(conn, runtime.profile.info.id) if conn is not None else None
    if block is None:
        return run_turn(runtime, conversation, text, conn, assisted)
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
