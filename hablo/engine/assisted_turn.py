"""LLM mode's turn, split so the model is never waited for under the conversation's row
lock or with a pooled connection checked out:

1. read — a short transaction, no row lock: the conversation as it is, the history and
   customer facts the prompt needs, the monthly budget;
2. ask — the understanding call, with no transaction open and no connection held;
3. write — the turn's locked transaction (`run_turn`): the model's understanding is used
   only when the conversation is still the one that was read (`Asked.fresh_for`), else
   it is dropped and the local NLU answers, as for any LLM fault; skills (booking,
   cancelling) run there with the usual rules, and the usage row is written;
4. phrase — the skills' own replies were written with the turn (pending, not sent yet),
   so a crash or a database error from here on loses nothing: the customer gets the
   skills' words. After the commit, with nothing held, the model words them; a short
   transaction puts its words in those rows (`ConversationStore.reword_replies`, with
   the usage row) and they are sent. Phrasing that fails or runs out of time sends the
   skills' words as they are.

The conversation actor runs the steps of one conversation one after another, so
per-conversation order is kept without the lock; the lock and the freshness check guard
against writers from elsewhere (an agent's reply, another worker).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from hablo.db.enums import ConversationStatus
from hablo.engine.assist import AssistedTurn
from hablo.engine.dialogue import DialogueState, picked_choice
from hablo.engine.messages import ConversationKey, OutboundEnvelope
from hablo.engine.skillset import TenantRuntime
from hablo.engine.store import ConversationStore, LockedConversation, StaleOwner
from hablo.engine.turns import handoff_expired
from hablo.tenancy.plan_gate import cached_plan_block

log = logging.getLogger(__name__)
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


@dataclass(frozen=True)
class Phrasing:
    """A committed LLM turn whose replies (written with it, pending) the model words."""

    assisted: AssistedTurn
    replies: tuple[str, ...]  # the skills' own words, as written
    failed: bool  # the turn's skill failed: its apology is not reworded
    conversation_id: uuid.UUID
    answers: tuple[int, ...]  # the inbox ids of the turn


def phrase_committed(
    store: ConversationStore,
    key: ConversationKey,
    phrasing: Phrasing,
    written: list[OutboundEnvelope],
) -> list[OutboundEnvelope]:
    """Step 4: the replies to send for the committed turn whose replies are `written`.
    No transaction is open while the model is waited for."""
    assisted = phrasing.assisted
    phrased = assisted.phrase(phrasing.replies, failed=phrasing.failed)  # never raises

    def record(conn: Connection) -> None:
        assisted.record(conn, phrasing.conversation_id, phrasing.answers[-1])

    try:
        return store.reword_replies(key, written, phrased, record)
    except StaleOwner:
        return []  # another process runs the conversation now and sends them
    except Exception:
        log.exception("the phrased replies of %s were not written; the skills' are sent", key)
        return written
