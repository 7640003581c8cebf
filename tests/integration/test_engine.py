"""The engine's promises, on SQLite and PostgreSQL: one transaction per turn, order per
conversation, dedupe of provider retries, contained skill failures, recovery."""

from __future__ import annotations

import threading
import uuid

from sqlalchemy import select

from hablo.bootstrap import Runtime, build_engine
from hablo.db.enums import (
    ConversationStatus,
    DeliveryStatus,
    InboxStatus,
    OutboxStatus,
    SenderKind,
)
from hablo.db.models import Conversation, InboxEvent, Message, OutboxMessage
from tests.fakes import CollectingSender
from tests.integration.helpers import DeliveredTurns, count, inbound, start_collecting


def test_three_turns_answered_and_persisted(runtime: Runtime, demo_tenant_id: uuid.UUID) -> None:
    sender = CollectingSender("console")
    turns = start_collecting(runtime, sender)
    texts = ["hola", "¿a qué hora abren el sábado?", "¿cuánto sale el corte?"]
    results = [runtime.engine.submit(inbound(demo_tenant_id, t)) for t in texts]
    turns.wait_for(r.inbox_id for r in results)

    replies = [e.text for e in sender.sent]
    assert len(replies) == 3
    assert "Peluquería Sol" in replies[0]
    assert "09:00 a 13:00" in replies[1]
    assert "$8.000" in replies[2] and "Corte de pelo" in replies[2]

    with runtime.db.transaction() as session:
        rows = session.execute(
            select(Message.sender_kind, Message.body, Message.intent, Message.status).order_by(
                Message.created_at
            )
        ).all()
    assert sorted(r.sender_kind for r in rows) == sorted([SenderKind.CUSTOMER, SenderKind.BOT] * 3)
    assert [r.body for r in rows if r.sender_kind == SenderKind.CUSTOMER] == texts
    assert [r.intent for r in rows if r.sender_kind == SenderKind.CUSTOMER] == [
        "greeting",
        "hours",
        "pricing",
    ]
    assert all(r.status == DeliveryStatus.SENT for r in rows if r.sender_kind == SenderKind.BOT)
    assert count(runtime, InboxEvent, InboxEvent.status == InboxStatus.PROCESSED) == 3
    assert count(runtime, OutboxMessage, OutboxMessage.status == OutboxStatus.SENT) == 3


def test_english_message_gets_english_reply(runtime: Runtime, demo_tenant_id: uuid.UUID) -> None:
    sender = CollectingSender("console")
    turns = start_collecting(runtime, sender)
    result = runtime.engine.submit(inbound(demo_tenant_id, "how much is a beard trim?"))
    turns.wait_for([result.inbox_id])
    assert sender.sent[0].text.startswith("Beard trim")  # the English name the demo ships
    result = runtime.engine.submit(inbound(demo_tenant_id, "where are you located?"))
    turns.wait_for([result.inbox_id])
    assert sender.sent[1].text == "We're at Av. Corrientes 1234, CABA."


def test_duplicate_provider_message_processed_once(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    sender = CollectingSender("console")
    turns = start_collecting(runtime, sender)
    message = inbound(demo_tenant_id, "hola", provider_id="wamid.SAME")
    results = [runtime.engine.submit(message) for _ in range(5)]
    assert [r.duplicate for r in results] == [False, True, True, True, True]
    assert len({r.inbox_id for r in results}) == 1
    turns.wait_for([results[0].inbox_id])
    runtime.engine.dispatcher.stop()  # flush: nothing more can arrive
    assert len(sender.sent) == 1
    assert count(runtime, InboxEvent) == 1
    assert count(runtime, Message, Message.sender_kind == SenderKind.CUSTOMER) == 1


def test_order_kept_per_conversation_under_concurrent_submitters(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    sender = CollectingSender("console")
    turns = start_collecting(runtime, sender)
    peers = [f"+54911555500{i:02d}" for i in range(8)]
    results: dict[str, list[int]] = {p: [] for p in peers}
    lock = threading.Lock()

    def customer(peer: str) -> None:
        for n in range(10):
            r = runtime.engine.submit(inbound(demo_tenant_id, f"hola {n}", peer=peer))
            with lock:
                results[peer].append(r.inbox_id)

    threads = [threading.Thread(target=customer, args=(p,)) for p in peers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    all_ids = [i for ids in results.values() for i in ids]
    turns.wait_for(all_ids)
    position = {inbox_id: n for n, inbox_id in enumerate(turns.order)}
    for ids in results.values():
        assert sorted(ids, key=position.__getitem__) == sorted(ids)
    assert len(turns.order) == len(all_ids) == len(set(turns.order))


def test_failing_skill_gets_apology_and_conversation_goes_on(db_url: str) -> None:
    from hablo.bootstrap import bootstrap
    from hablo.demo import seed_demo
    from hablo.plugins import IntentSpec, Skill, SkillContext, SkillResult, Turn
    from tests.conftest import make_settings

    class ExplodingSkill(Skill):
        name = "exploding"
        intents = (IntentSpec("explode", {"es": ("explotá", "boom explotá", "hacé boom")}),)

        def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
            raise ZeroDivisionError("kaboom")

    rt = bootstrap(make_settings(db_url), upgrade_schema=False, extra_skills=[ExplodingSkill])
    try:
        with rt.db.transaction() as session:
            tenant_id = seed_demo(session)
            from hablo.db.models import TenantSkill

            session.add(TenantSkill(tenant_id=tenant_id, skill_name="exploding", enabled=True))
        sender = CollectingSender("console")
        turns = start_collecting(rt, sender)
        first = rt.engine.submit(inbound(tenant_id, "hacé boom"))
        second = rt.engine.submit(inbound(tenant_id, "hola"))
        turns.wait_for([first.inbox_id, second.inbox_id])
        assert "tuve un problema" in sender.sent[0].text
        assert "Peluquería Sol" in sender.sent[1].text
        with rt.db.transaction() as session:
            error = session.scalar(
                select(Message.error).where(
                    Message.sender_kind == SenderKind.CUSTOMER, Message.body == "hacé boom"
                )
            )
        assert error == "skill exploding failed: ZeroDivisionError"
    finally:
        rt.close()


def test_accepted_but_unprocessed_messages_are_recovered_once(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    # The process "crashed" right after the durable insert: nothing was routed.
    accepted = [
        runtime.engine.store.accept(inbound(demo_tenant_id, t)) for t in ("hola", "precios")
    ]
    sender = CollectingSender("console")
    turns = start_collecting(runtime, sender)  # start() runs recovery
    turns.wait_for(a.inbox_id for a in accepted)
    assert [e.inbox_ids for e in sender.sent] == [(accepted[0].inbox_id,), (accepted[1].inbox_id,)]
    # A second recovery finds nothing to do.
    assert runtime.engine.recover() == 0


def test_unsent_replies_are_sent_after_restart_and_sent_ones_never_again(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    from tests.fakes import transient

    # Engine 1: the first reply goes out, the channel then goes down (retries pending).
    down = threading.Event()
    flaky = CollectingSender("console", fail=lambda env, n: transient() if down.is_set() else None)
    turns = start_collecting(runtime, flaky)
    first = runtime.engine.submit(inbound(demo_tenant_id, "hola"))
    turns.wait_for([first.inbox_id])
    down.set()
    runtime.engine.submit(inbound(demo_tenant_id, "precios"))
    for _ in range(100):
        if count(
            runtime,
            OutboxMessage,
            OutboxMessage.attempts >= 1,
            OutboxMessage.status == OutboxStatus.PENDING,
        ):
            break
        threading.Event().wait(0.05)
    runtime.engine.stop()  # "crash" with one reply sent and one pending
    assert len(flaky.sent) == 1

    # Engine 2 on the same database: only the pending reply goes out, once.
    engine = build_engine(runtime.settings, runtime.db, runtime.registry)
    healthy = CollectingSender("console")
    engine.add_sender(healthy)
    engine.start()
    try:
        healthy.wait_for(1)
        threading.Event().wait(0.3)  # room for a wrong second send to show up
    finally:
        engine.stop()
    assert len(healthy.sent) == 1 and "precios" in healthy.sent[0].text
    assert count(runtime, OutboxMessage, OutboxMessage.status == OutboxStatus.SENT) == 2
    assert count(runtime, Message, Message.sender_kind == SenderKind.CUSTOMER) == 2


def test_conversation_closed_by_agent_starts_a_new_one(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    sender = CollectingSender("console")
    turns = start_collecting(runtime, sender)
    first = runtime.engine.submit(inbound(demo_tenant_id, "hola"))
    turns.wait_for([first.inbox_id])
    with runtime.db.transaction() as session:
        conversation = session.scalars(select(Conversation)).one()
        conversation.status = ConversationStatus.CLOSED
    second = runtime.engine.submit(inbound(demo_tenant_id, "precios"))
    turns.wait_for([second.inbox_id])
    with runtime.db.transaction() as session:
        statuses = sorted(str(s) for s in session.scalars(select(Conversation.status)))
    assert statuses == ["closed", "open"]


def test_second_engine_resumes_where_the_first_stopped(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    sender = CollectingSender("console")
    turns = start_collecting(runtime, sender)
    first = runtime.engine.submit(inbound(demo_tenant_id, "hola"))
    turns.wait_for([first.inbox_id])
    runtime.engine.stop()

    engine = build_engine(runtime.settings, runtime.db, runtime.registry)
    sender2 = CollectingSender("console")
    turns2 = DeliveredTurns()
    engine.add_sender(sender2)
    engine.add_turn_listener(turns2)
    engine.start()
    try:
        second = engine.submit(inbound(demo_tenant_id, "precios"))
        turns2.wait_for([second.inbox_id])
    finally:
        engine.stop()
    assert len(sender2.sent) == 1
    assert count(runtime, Conversation) == 1
    assert count(runtime, Message) == 4


def test_one_person_over_whatsapp_sms_and_mail_is_one_contact_per_identifier(
    runtime: Runtime, demo_tenant_id: uuid.UUID
) -> None:
    from hablo.db.models import Contact

    senders = [CollectingSender(c) for c in ("whatsapp_cloud", "twilio_sms", "email")]
    for extra in senders[1:]:
        runtime.engine.add_sender(extra)
    turns = start_collecting(runtime, senders[0])
    results = [
        # The Cloud API's wa_id is the E.164 number without "+".
        runtime.engine.submit(inbound(demo_tenant_id, "hola", "5491155550077", "whatsapp_cloud")),
        runtime.engine.submit(inbound(demo_tenant_id, "hola", "+5491155550077", "twilio_sms")),
        runtime.engine.submit(inbound(demo_tenant_id, "hola", "ana@cliente.test", "email")),
    ]
    turns.wait_for(r.inbox_id for r in results)
    with runtime.db.transaction() as session:
        rows = session.execute(select(Conversation.channel, Conversation.contact_id)).all()
        by_channel = {channel: contact for channel, contact in rows}
        contacts = {c.id: c for c in session.scalars(select(Contact))}
    assert by_channel["whatsapp_cloud"] == by_channel["twilio_sms"]
    assert contacts[by_channel["twilio_sms"]].phone == "+5491155550077"
    assert by_channel["email"] != by_channel["twilio_sms"]  # nothing ties the address to it
    assert contacts[by_channel["email"]].email == "ana@cliente.test"
