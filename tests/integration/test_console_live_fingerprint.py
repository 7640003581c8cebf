"""The console's live check (one query a second per open page): it stays the same while
nothing changes and moves with each kind of change its page shows, on both databases."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update

from hablo.api.inbox_labels import create_label, set_label
from hablo.api.scope import TenantScope
from hablo.bootstrap import Runtime
from hablo.console.inbox_query import live_fingerprint
from hablo.db.base import utcnow
from hablo.db.enums import DeliveryStatus
from hablo.db.models import Conversation, ConversationNote, Message
from hablo.db.staff_events import record_channel_disconnected
from hablo.engine.agent_reply import record_agent_reply
from tests.fakes import CollectingSender
from tests.integration.helpers import inbound, start_collecting


def _probe(runtime: Runtime, tenant_id: uuid.UUID, conversation_id: uuid.UUID | None) -> Any:
    with runtime.db.transaction() as session:
        return live_fingerprint(TenantScope(session, tenant_id, None, None), conversation_id)


def _in_scope(runtime: Runtime, tenant_id: uuid.UUID, work: Any) -> Any:
    with runtime.db.transaction() as session:
        return work(TenantScope(session, tenant_id, None, None))


def test_each_change_moves_its_part_and_nothing_moves_when_idle(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    tenant = demo_tenant_id
    turns = start_collecting(runtime, CollectingSender("console"))
    turns.wait_for([runtime.engine.submit(inbound(tenant, "hola")).inbox_id], timeout=60)
    with runtime.db.transaction() as session:
        conversation_id = session.scalars(
            select(Conversation.id).where(Conversation.tenant_id == tenant)
        ).one()
    idle = _probe(runtime, tenant, conversation_id)
    assert _probe(runtime, tenant, conversation_id) == idle
    inbox_only = _probe(runtime, tenant, None)
    assert inbox_only[1] is None and inbox_only[0] == idle[0]

    def changed(before: Any) -> set[str]:
        after = _probe(runtime, tenant, conversation_id)
        return {
            name
            for name, a, b in zip(("inbox", "thread", "notify"), before, after, strict=True)
            if a != b
        }

    # A customer's message: the inbox and the thread.
    turns.wait_for([runtime.engine.submit(inbound(tenant, "gracias")).inbox_id], timeout=60)
    assert changed(idle) == {"inbox", "thread"}

    # A delivery receipt: the thread only.
    before = _probe(runtime, tenant, conversation_id)
    with runtime.db.transaction() as session:
        session.execute(
            update(Message)
            .where(Message.conversation_id == conversation_id, Message.status == "sent")
            .values(status=DeliveryStatus.READ)
        )
    assert changed(before) == {"thread"}

    # A note, then a label: the thread.
    before = _probe(runtime, tenant, conversation_id)
    with runtime.db.transaction() as session:
        session.add(ConversationNote(tenant_id=tenant, conversation_id=conversation_id, body="ok"))
    assert changed(before) == {"thread"}
    before = _probe(runtime, tenant, conversation_id)
    label = _in_scope(runtime, tenant, lambda scope: create_label(scope, "VIP").id)
    _in_scope(runtime, tenant, lambda scope: set_label(scope, conversation_id, label, True))
    assert changed(before) == {"thread"}

    # An agent's reply (the conversation's row): inbox and thread.
    before = _probe(runtime, tenant, conversation_id)
    with runtime.db.transaction() as session:
        conversation = session.get(Conversation, conversation_id, with_for_update=True)
        assert conversation is not None
        record_agent_reply(session, conversation, None, "Te escribo yo", None, utcnow())
    assert changed(before) == {"inbox", "thread"}

    # A staff notification: notify only.
    before = _probe(runtime, tenant, conversation_id)
    with runtime.db.begin() as conn:
        record_channel_disconnected(conn, tenant, "whatsapp_web", "s1", "phone offline")
    assert changed(before) == {"notify"}
    assert _probe(runtime, tenant, conversation_id) == _probe(runtime, tenant, conversation_id)
