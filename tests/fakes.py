"""Hand-written fakes of hablo's ports (no mock.patch of our own code)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from hablo.adapters.base import (
    ChannelSender,
    PermanentSendError,
    SendReceipt,
    TransientSendError,
)
from hablo.engine.messages import OutboundEnvelope


class CollectingSender(ChannelSender):
    """Records every reply, like Rasa's CollectingOutputChannel; can inject failures."""

    def __init__(
        self,
        channel: str,
        fail: Callable[[OutboundEnvelope, int], Exception | None] | None = None,
    ) -> None:
        self.channel = channel
        self.sent: list[OutboundEnvelope] = []
        self.attempts: dict[int, int] = {}
        self._fail = fail
        self._cond = threading.Condition()

    def send(self, envelope: OutboundEnvelope) -> SendReceipt:
        with self._cond:
            n = self.attempts.get(envelope.outbox_id, 0) + 1
            self.attempts[envelope.outbox_id] = n
        if self._fail is not None:
            error = self._fail(envelope, n)
            if error is not None:
                raise error
        with self._cond:
            self.sent.append(envelope)
            self._cond.notify_all()
        return SendReceipt(provider_message_id=f"fake-{envelope.outbox_id}")

    def wait_for(self, count: int, timeout: float = 10.0) -> list[OutboundEnvelope]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.sent) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} replies, got {len(self.sent)}")
                self._cond.wait(remaining)
            return list(self.sent)

    def texts_for(self, peer: str) -> list[str]:
        with self._cond:
            return [e.text for e in self.sent if e.peer == peer]


def transient(message: str = "provider 503") -> TransientSendError:
    return TransientSendError(message)


def permanent(message: str = "provider 400") -> PermanentSendError:
    return PermanentSendError(message)
