"""The console channel: customer lines from a stream, bot replies to another.

Works piped (`printf 'hola\n' | hablo chat --tenant demo`): each line waits for its
replies before the next is sent, so the transcript reads in order.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from typing import TextIO

from hablo.adapters.base import ChannelSender, SendReceipt
from hablo.db.base import utcnow
from hablo.engine.messages import InboundMessage, OutboundEnvelope
from hablo.engine.runtime import Engine

CHANNEL = "console"


class ConsoleSender(ChannelSender):
    channel = CHANNEL

    def __init__(self, out: TextIO, prefix: str = "bot> ") -> None:
        self._out = out
        self._prefix = prefix
        self._lock = threading.Lock()

    def send(self, envelope: OutboundEnvelope) -> SendReceipt:
        indent = " " * len(self._prefix)
        text = envelope.plain_text().replace("\n", "\n" + indent)
        with self._lock:
            self._out.write(f"{self._prefix}{text}\n")
            self._out.flush()
        return SendReceipt(provider_message_id=f"console-{envelope.outbox_id}")


class TurnWaiter:
    """Lets a caller block until the turn of a given inbox id was delivered."""

    def __init__(self) -> None:
        self._done: set[int] = set()
        self._cond = threading.Condition()

    def __call__(self, inbox_ids: tuple[int, ...]) -> None:
        with self._cond:
            self._done.update(inbox_ids)
            self._cond.notify_all()

    def wait(self, inbox_id: int, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: inbox_id in self._done, timeout)


def run_console(
    engine: Engine,
    tenant_id: uuid.UUID,
    peer: str,
    lines: Iterable[str],
    *,
    timeout: float = 30.0,
) -> int:
    """Send each non-empty line as a customer message; returns how many were answered."""
    waiter = TurnWaiter()
    engine.add_turn_listener(waiter)
    answered = 0
    for line in lines:
        text = line.strip()
        if not text:
            continue
        result = engine.submit(
            InboundMessage(
                tenant_id=tenant_id,
                channel=CHANNEL,
                peer=peer,
                text=text,
                provider_message_id=f"console-{uuid.uuid4()}",
                received_at=utcnow(),
            )
        )
        if waiter.wait(result.inbox_id, timeout):
            answered += 1
    return answered
