"""The skill inside a running hablo: booted with the skill, enabled for the demo tenant
through a `tenant_skills` row, chatted with through the engine (a collecting sender
stands in for WhatsApp). Other tenants, without the row or with it disabled, never get
FAQ answers."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hablo.adapters.base import ChannelSender, SendReceipt
from hablo.bootstrap import Runtime, bootstrap
from hablo.config import Settings
from hablo.db.base import utcnow
from hablo.db.enums import SenderKind
from hablo.db.models import Message, TenantSkill
from hablo.demo import seed_demo, seed_salon
from hablo.engine.messages import InboundMessage, OutboundEnvelope
from sqlalchemy import select

from hablo_faq import FaqSkill

PARKING_ES = "Sí, hay 3 lugares gratis en la puerta."
PARKING_EN = "Yes, there are 3 free spots at the door."
UNKNOWN_ES = FaqSkill.templates["faq_unknown"]["es"]


class CollectingSender(ChannelSender):
    """Records every reply instead of sending it."""

    def __init__(self, channel: str = "console") -> None:
        self.channel = channel
        self.sent: list[OutboundEnvelope] = []
        self._lock = threading.Lock()

    def send(self, envelope: OutboundEnvelope) -> SendReceipt:
        with self._lock:
            self.sent.append(envelope)
        return SendReceipt(provider_message_id=f"fake-{envelope.outbox_id}")

    def texts_for(self, tenant_id: uuid.UUID, peer: str) -> list[str]:
        with self._lock:
            return [e.text for e in self.sent if e.peer == peer and e.tenant_id == tenant_id]


class Delivered:
    """Turn listener: the inbox ids whose replies were all handed to the channel."""

    def __init__(self) -> None:
        self.ids: set[int] = set()
        self._cond = threading.Condition()

    def __call__(self, inbox_ids: tuple[int, ...]) -> None:
        with self._cond:
            self.ids.update(inbox_ids)
            self._cond.notify_all()

    def wait_for(self, inbox_id: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while inbox_id not in self.ids:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"turn {inbox_id} never delivered")
                self._cond.wait(remaining)


@dataclass
class Chat:
    rt: Runtime
    faq_path: Path
    demo: uuid.UUID  # faq enabled
    without: uuid.UUID  # no tenant_skills row for faq
    disabled: uuid.UUID  # a row with enabled = false
    say: Callable[[uuid.UUID, str, str], list[str]]

    def skill_of(self, tenant_id: uuid.UUID, text: str) -> tuple[str | None, str | None]:
        """(intent, skill) recorded on the customer's message."""
        with self.rt.db.transaction() as session:
            row = session.execute(
                select(Message.intent, Message.skill).where(
                    Message.tenant_id == tenant_id,
                    Message.body == text,
                    Message.sender_kind == SenderKind.CUSTOMER,
                )
            ).first()
        assert row is not None
        return row[0], row[1]


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory, faq_yaml: str, write_faq: Any) -> Iterator[Chat]:
    """One started engine for the module (training the NLU is the slow part), on a fresh
    SQLite file migrated by bootstrap."""
    tmp = tmp_path_factory.mktemp("faq-engine")
    faq_path = write_faq(tmp / "faq.yaml", faq_yaml)
    settings = Settings.model_validate(
        {
            "database_url": f"sqlite:///{tmp / 'hablo.db'}",
            "outbox_backoff_base_s": 0.05,
            "outbox_backoff_max_s": 0.2,
            "turn_retry_delay_s": 0.1,
            # The exact model from the first message (a server would answer with the
            # shipped one, which has no "faq" intent, until the tenant's own is trained).
            "nlu_train_in_background": False,
        }
    )
    rt = bootstrap(settings, upgrade_schema=True, extra_skills=[FaqSkill])
    with rt.db.transaction() as session:
        demo = seed_demo(session)
        session.add(
            TenantSkill(
                tenant_id=demo,
                skill_name="faq",
                enabled=True,
                config={"path": str(faq_path), "min_score": 75},
            )
        )
        without = seed_salon(session, "luna", "Peluquería Luna")
        disabled = seed_salon(session, "estrella", "Peluquería Estrella")
        session.add(
            TenantSkill(
                tenant_id=disabled,
                skill_name="faq",
                enabled=False,
                config={"path": str(faq_path)},
            )
        )
    sender = CollectingSender()
    delivered = Delivered()
    rt.engine.add_sender(sender)
    rt.engine.add_turn_listener(delivered)
    rt.start()

    def say(tenant_id: uuid.UUID, peer: str, text: str) -> list[str]:
        before = len(sender.texts_for(tenant_id, peer))
        result = rt.engine.submit(
            InboundMessage(
                tenant_id=tenant_id,
                channel="console",
                peer=peer,
                text=text,
                provider_message_id=f"test-{uuid.uuid4()}",
                received_at=utcnow(),
            )
        )
        delivered.wait_for(result.inbox_id)
        return sender.texts_for(tenant_id, peer)[before:]

    yield Chat(rt, faq_path, demo, without, disabled, say)
    rt.close()


@pytest.fixture
def peer() -> str:
    """A new customer per test: conversations (and their misunderstanding counts) never
    carry over from one test to the next."""
    return f"+54911{uuid.uuid4().int % 10**8:08d}"


@pytest.fixture
def faq_file(chat: Chat, faq_yaml: str, write_faq: Any) -> Iterator[Path]:
    """The demo tenant's FAQ file, for a test to edit; put back as it was afterwards."""
    yield chat.faq_path
    write_faq(chat.faq_path, faq_yaml)


def test_the_demo_tenant_gets_the_yaml_answer(chat: Chat, peer: str) -> None:
    assert chat.say(chat.demo, peer, "¿tienen estacionamiento?") == [PARKING_ES]
    assert chat.skill_of(chat.demo, "¿tienen estacionamiento?") == ("faq", "faq")


def test_english_question_gets_the_english_answer(chat: Chat, peer: str) -> None:
    assert chat.say(chat.demo, peer, "do you have parking?") == [PARKING_EN]


def test_built_in_skills_still_answer_their_intents(chat: Chat, peer: str) -> None:
    replies = chat.say(chat.demo, peer, "¿cuánto sale el corte?")
    assert replies and replies[0].startswith("Corte de pelo: $8.000")
    assert chat.skill_of(chat.demo, "¿cuánto sale el corte?") == ("pricing", "pricing")


def test_a_question_not_in_the_file_gets_a_polite_no(chat: Chat, peer: str) -> None:
    assert chat.say(chat.demo, peer, "¿tienen wifi?") == [UNKNOWN_ES]


def test_edits_to_the_file_are_live(
    chat: Chat, peer: str, faq_file: Path, faq_yaml: str, write_faq: Any
) -> None:
    assert chat.say(chat.demo, peer, "¿tienen wifi?") == [UNKNOWN_ES]
    wifi = (
        "  - question:\n      es: ¿Tienen wifi?\n    answer:\n      es: Sí, la clave es sol123.\n"
    )
    write_faq(faq_file, faq_yaml + wifi)
    # The same conversation, no restart: the next message reads the new file.
    assert chat.say(chat.demo, peer, "¿tienen wifi?") == ["Sí, la clave es sol123."]


def test_a_broken_file_gets_a_polite_no_and_one_log_line(
    chat: Chat,
    peer: str,
    faq_file: Path,
    faq_yaml: str,
    write_faq: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A typo in the first entry: "anwser" instead of "answer".
    write_faq(faq_file, faq_yaml.replace("    answer:", "    anwser:", 1))
    with caplog.at_level(logging.ERROR, logger="hablo_faq"):
        first = chat.say(chat.demo, peer, "¿tienen estacionamiento?")
        second = chat.say(chat.demo, f"{peer}1", "¿tienen estacionamiento?")
    assert first == [UNKNOWN_ES] and second == [UNKNOWN_ES]
    errors = [r.getMessage() for r in caplog.records if r.name == "hablo_faq"]
    assert len(errors) == 1
    assert errors[0].startswith("tenant demo: FAQ unavailable")
    assert "entry 1 (faqs[0]), field answer: Field required" in errors[0]
    # Fixed: answered again, no restart.
    write_faq(faq_file, faq_yaml)
    assert chat.say(chat.demo, f"{peer}2", "¿tienen estacionamiento?") == [PARKING_ES]


@pytest.mark.parametrize("tenant", ["without", "disabled"])
def test_tenants_without_the_skill_get_no_faq_answers(chat: Chat, peer: str, tenant: str) -> None:
    tenant_id = getattr(chat, tenant)
    replies = chat.say(tenant_id, peer, "¿tienen estacionamiento?")
    assert replies  # someone answered (a built-in skill or the fallback)...
    assert PARKING_ES not in replies and UNKNOWN_ES not in replies  # ...not the FAQ
    intent, skill = chat.skill_of(tenant_id, "¿tienen estacionamiento?")
    assert intent != "faq" and skill != "faq"


def test_hablo_plugins_list_shows_faq_loaded(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hablo", "plugins", "list"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()}
    assert rows["faq"][1:] == ["loaded", "hablo_faq.skill:FaqSkill"]
