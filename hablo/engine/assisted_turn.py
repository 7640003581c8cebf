"""LLM mode's turn, split so the model is never waited for under the conversation's row
lock or with a pooled connection checked out:

1. read — a short transaction, no row lock: the conversation as it is, the history and
   customer facts the prompt needs, the monthly budget;
2. ask — the understanding call, with no transaction open and no connection held;
3. write — the turn's locked transaction (`run_turn`): the model's understanding is used
   only when the conversation is still the one that was read (`Asked.fresh_for`), else
   it is dropped and the local NLU answers, as for any LLM fault; skills (booking,
   cancelling) run there with the usual rules, and the usage row is written;
4. phrase — after that commit, again with nothing held; the phrased replies are written
   by the one turn writer in a short follow-up transaction (`ConversationStore.
   commit_followup`) and sent right behind the turn.

The conversation actor runs the steps of one conversation one after another, so
per-conversation order is kept without the lock; the lock and the freshness check guard
against writers from elsewhere (an agent's reply, another worker).
"""

from __future__ import annotations

from dataclasses import dataclass

from hablo.db.enums import ConversationStatus
from hablo.engine.assist import AssistedTurn
from hablo.engine.dialogue import DialogueState, picked_choice
from hablo.engine.messages import ConversationKey
from hablo.engine.skillset import TenantRuntime
from hablo.engine.store import ConversationStore, LockedConversation
from hablo.engine.turns import handoff_expired
from hablo.tenancy.plan_gate import cached_plan_block

STALE = "stale"


@dataclass(frozen=True)
class Asked:
    """The model's understanding of a turn, and the conversation it was based on."""

    assisted: AssistedTurn
    # (id, message count, status, state) as read; None: there was no live conversation.
    seen: tuple[object, ...] | None

    def fresh_for(self, conversation: LockedConversation) -> bool:
        """Whether the locked conversation is still the one the model was shown."""
        if self.seen is None:
            return conversation.message_count == 0  # opened by this very turn
        return self.seen == _version(conversation)

    def for_write(self, conversation: LockedConversation) -> AssistedTurn | None:
        """The assisted turn to use under the lock, or None (dropped: it went stale)."""
        if self.fresh_for(conversation):
            return self.assisted
        self.assisted.drop(STALE)
        return None


def _version(conversation: LockedConversation) -> tuple[object, ...]:
    return (
        conversation.id,
        conversation.message_count,
        conversation.status,
        conversation.state,
    )


def ask_unlocked(
    runtime: TenantRuntime, store: ConversationStore, key: ConversationKey, text: str
) -> Asked | None:
    """Steps 1 and 2; None when the model is not to be asked (local mode, the plan gate
    closed, a person owning the conversation)."""
    assistant = runtime.assistant
    if assistant is None:
        return None
    ctx = runtime.services.for_turn(None)  # the model's step reads only in-memory facts
    with store.turn_slots, store.db.begin() as conn:
        if cached_plan_block(conn, runtime.profile.info.id) is not None:
            return None
        conversation = store.read_live(conn, key)
        state = DialogueState.load(conversation.state if conversation else {})
        now = ctx.now()
        if (
            conversation is not None
            and conversation.status == ConversationStatus.WAITING_HUMAN
            and not handoff_expired(state, ctx, now)
        ):
            return None
        text = picked_choice(text, state.choices) or text
        language = conversation.language if conversation else None
        local = runtime.nlu.understand(text, now, runtime.profile.opening_hours, language)
        assisted = assistant.read(text, local, conversation, state.flow, ctx, conn)
    assisted.understand()  # no transaction, no pooled connection
    return Asked(assisted, None if conversation is None else _version(conversation))
