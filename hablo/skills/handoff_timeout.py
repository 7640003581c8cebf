"""The handoff timeout job: a conversation handed to a person that nobody answered within
the tenant's `handoff_timeout_minutes` (counted from the handoff or from the last human
message) goes back to the bot, and the customer is told so through the outbox.

The same rule the turn applies on the customer's next message (`handoff_expired`); this
job does not wait for that message. Each release is one transaction that locks the
conversation row and re-checks it, so two processes (or an agent writing at that moment)
never release it twice or over a fresh human message. With several workers each
releases only the conversations it owns (`owns`: their shard is held here and their
channel has a sender here), under its fence; the others are left to their owners.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from sqlalchemy import select

from hablo.db.enums import ConversationStatus
from hablo.db.models import Conversation
from hablo.engine.context import TenantServices
from hablo.engine.dialogue import DialogueState
from hablo.engine.messages import ConversationKey, OutboundEnvelope
from hablo.engine.store import ConversationStore, TurnRecord
from hablo.engine.turns import handoff_expired

log = logging.getLogger(__name__)
Deliver = Callable[[ConversationKey, list[OutboundEnvelope], tuple[int, ...]], None]
ServicesFor = Callable[[uuid.UUID], TenantServices]
Owns = Callable[[ConversationKey], bool]
BACK_TEMPLATE = "handoff_back"


def release_expired_handoffs(
    store: ConversationStore, deliver: Deliver, services_for: ServicesFor, owns: Owns
) -> int:
    """Give every expired handoff this process owns back to the bot; returns how many
    were released."""
    with store.db.begin() as conn:
        waiting = conn.execute(
            select(
                Conversation.id,
                Conversation.tenant_id,
                Conversation.channel,
                Conversation.peer,
                Conversation.state,
            ).where(Conversation.status == ConversationStatus.WAITING_HUMAN)
        ).all()
    services: dict[uuid.UUID, TenantServices] = {}
    released = 0
    for row in waiting:
        if not owns(ConversationKey(row.tenant_id, row.channel, row.peer)):
            continue  # another process's conversation (or a channel not sent from here)
        if not DialogueState.load(row.state or {}).handoff_at:
            continue  # muted for good (no marker): only a person releases it
        if row.tenant_id not in services:  # read before the write transaction opens
            services[row.tenant_id] = services_for(row.tenant_id)
        try:
            if _release(store, deliver, services[row.tenant_id], row.id):
                released += 1
        except Exception:
            log.exception("handoff timeout of conversation %s failed", row.id)
    return released


def _release(
    store: ConversationStore,
    deliver: Deliver,
    services: TenantServices,
    conversation_id: uuid.UUID,
) -> bool:
    with store.db.begin() as conn:
        found = conn.execute(
            select(Conversation.tenant_id, Conversation.channel, Conversation.peer).where(
                Conversation.id == conversation_id,
                Conversation.status == ConversationStatus.WAITING_HUMAN,
            )
        ).first()
        if found is None:
            return False
        key = ConversationKey(found.tenant_id, found.channel, found.peer)
        conversation = store.lock_live(conn, key)  # then re-check under the lock
        if (
            conversation is None
            or conversation.id != conversation_id
            or conversation.status != ConversationStatus.WAITING_HUMAN
        ):
            return False
        ctx = services.for_turn(conn)
        state = DialogueState.load(conversation.state)
        if not handoff_expired(state, ctx, ctx.now()):
            return False
        state.handoff_at = None
        language = conversation.language or services.profile.info.language
        envelopes = store.commit_turn(
            conn,
            key,
            conversation,
            TurnRecord(
                inbox_ids=(),
                inbound=(),
                language=language,
                intent=None,
                confidence=0.0,
                skill="handoff",
                replies=(ctx.render(BACK_TEMPLATE, language),),
                new_state=state.dump(),
                new_status=ConversationStatus.OPEN,
            ),
        )
    deliver(key, envelopes, ())
    log.info("conversation %s: nobody took the handoff in time, the bot is back", conversation_id)
    return True
