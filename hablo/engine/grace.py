"""The grace period of a stopping process (`hablo serve`, `hablo worker`).

A drain waits for in-flight requests, turns and outbox sends; one of them may hang (a
provider that never answers, a stuck lock). Past the grace period the process exits
anyway, with a non-zero code: every turn is one transaction, so an unfinished message is
still pending in the inbox and its reply in the outbox, and both are redone on restart.
"""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger(__name__)

# Exit code of a process the watchdog ended (a drain that finished in time exits 0).
EXIT_GRACE_EXPIRED = 75


class GraceWatchdog:
    """Started when the drain begins; cancelled when it ends in time."""

    def __init__(self, grace_s: float, process: str) -> None:
        self._grace_s = grace_s
        self._process = process
        self._timer = threading.Timer(grace_s, self._expire)
        self._timer.name = "hablo-grace"
        self._timer.daemon = True

    def start(self) -> GraceWatchdog:
        self._timer.start()
        return self

    def cancel(self) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        log.error(
            "%s: still draining after the %g s grace period; exiting now (unfinished "
            "messages stay pending and are redone on restart)",
            self._process,
            self._grace_s,
        )
        logging.shutdown()  # flush the lines above; os._exit skips every other clean-up
        os._exit(EXIT_GRACE_EXPIRED)
