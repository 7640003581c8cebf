"""What travels through the outbox: the dispatcher's queue items, what a lane holds,
and the retry policy."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from hablo.engine.messages import ConversationKey, OutboundEnvelope
from hablo.engine.ports import SendReceipt

LaneKey = tuple[str, uuid.UUID]


def lane_of(key: ConversationKey) -> LaneKey:
    """The lane of a conversation: its channel and tenant."""
    return (key.channel, key.tenant_id)


@dataclass(frozen=True)
class RetryDue:
    """A reply whose back-off ended: sent before what its lane holds, while its
    conversation's later replies still wait behind it."""

    envelope: OutboundEnvelope

    @property
    def key(self) -> ConversationKey:
        return self.envelope.key


@dataclass
class Barrier:
    """Runs `then` once every lane has handled what it held when the barrier was set
    (each such lane holds one token at its tail)."""

    remaining: int
    then: Callable[[], None]


@dataclass(frozen=True)
class BarrierToken:
    barrier: Barrier


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_s: float
    max_s: float

    def delay(self, attempts: int, retry_after: float | None) -> float | None:
        """Seconds until the next attempt after `attempts` failures; None = give up."""
        if attempts >= self.max_attempts:
            return None
        backoff = min(self.max_s, self.base_s * 2 ** (attempts - 1))
        jittered = backoff * random.uniform(0.5, 1.0)  # full-ish jitter spreads retries
        return max(jittered, retry_after or 0.0)


@dataclass(frozen=True)
class TurnMarker:
    """Queued after a turn's replies: when reached, the turn is fully delivered."""

    key: ConversationKey
    inbox_ids: tuple[int, ...]


@dataclass(frozen=True)
class Scheduled:
    """A pending reply found by recovery while in back-off: first tried at `not_before`
    (UTC), later replies of its conversation wait behind it."""

    envelope: OutboundEnvelope
    not_before: datetime

    @property
    def key(self) -> ConversationKey:
        return self.envelope.key


@dataclass(frozen=True)
class Forget:
    """Drop the retries and waiting replies of the conversations `where` selects."""

    where: Callable[[ConversationKey], bool]


Sendable = OutboundEnvelope | RetryDue


@dataclass(frozen=True)
class Sent:
    """A sender thread's report on one run of a lane: what each item came to (None for
    a turn marker), in order, and the items it did not try (after a failed send)."""

    lane: LaneKey
    done: tuple[tuple[Sendable | TurnMarker, SendReceipt | Exception | None], ...]
    rest: tuple[Sendable | TurnMarker, ...]


Item = OutboundEnvelope | TurnMarker
Queued = Item | Scheduled | Forget | Sent
LaneItem = Sendable | TurnMarker | Scheduled | BarrierToken
