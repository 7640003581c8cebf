"""Slow work a skill asks for, done after its turn committed: a provider or model call
must not wait while the turn's transaction holds the conversation's row lock and a pooled
connection. A skill puts such work in `SkillResult.meta[AFTER_COMMIT]`; the conversation
actor runs `perform()` with no transaction open, then `record()` in a short transaction of
its own under the conversation's lock (and, in a worker, its shard's fence: a worker that
lost the shard meanwhile records nothing), and sends what it returns right behind the
turn's replies (the turn counts as delivered only after them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.engine import Connection

AFTER_COMMIT = "after_commit"


class AfterCommit(Protocol):
    # The skill the replies are recorded under.
    skill: str

    def perform(self) -> None:
        """The slow call (no transaction, no lock held); failures are kept for record()."""
        ...

    def record(self, conn: Connection) -> Sequence[str]:
        """Write what came of it in the caller's transaction; the replies to send."""
        ...
