"""How fast one linked number may send, so WhatsApp does not take it for a bot: a typing
pause that grows with the reply, and caps per minute and per day (issue 18, item 4)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

MINUTE_S = 60.0
DAY_S = 24 * 3600.0


class SendDeferred(Exception):
    """The per-minute cap is reached: this message may go in `wait_s` seconds."""

    def __init__(self, message: str, wait_s: float) -> None:
        super().__init__(message)
        self.wait_s = wait_s


class SendRefused(Exception):
    """The message must not go at all (the day's cap is reached): set it aside."""


def typing_pause(length: int, per_char_s: float, min_s: float, max_s: float) -> float:
    """Seconds of "typing..." before a reply of `length` characters, within min..max."""
    low, high = sorted((min_s, max_s))
    return min(high, max(low, length * per_char_s))


class SendCaps:
    """One linked number's sends in the last minute and day (wall-clock times, so the day
    can be seeded from the database after a restart). `check` before a send, `record`
    after it went out; thread-safe."""

    def __init__(
        self,
        per_minute: int,
        per_day: int,
        sent_before: Iterable[float] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.per_minute = per_minute
        self.per_day = per_day
        self._clock = clock
        self._sent: deque[float] = deque(sorted(sent_before))
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raise SendRefused past the day's cap, SendDeferred past the minute's."""
        with self._lock:
            now = self._clock()
            while self._sent and self._sent[0] <= now - DAY_S:
                self._sent.popleft()
            if len(self._sent) >= self.per_day:
                raise SendRefused(
                    f"daily send cap reached: {len(self._sent)} messages from this number in"
                    f" 24 h (HABLO_WHATSAPP_WEB_SENDS_PER_DAY={self.per_day})"
                )
            recent = [t for t in self._sent if t > now - MINUTE_S]
            if len(recent) >= self.per_minute:
                wait = recent[-self.per_minute] + MINUTE_S - now
                raise SendDeferred(
                    f"per-minute send cap reached ({self.per_minute} a minute,"
                    f" HABLO_WHATSAPP_WEB_SENDS_PER_MINUTE): next slot in {wait:.0f} s",
                    max(wait, 0.1),
                )

    def record(self) -> None:
        with self._lock:
            self._sent.append(self._clock())
