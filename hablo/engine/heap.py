"""The garbage collector's policy for a process that serves turns (`hablo serve`,
`hablo worker`, `hablo demo`, the bench's workers).

A turn allocates thousands of short-lived objects, so CPython's default threshold (a
young collection every 700 net allocations) ran about 70 collections a second in a busy
worker, and each older collection walked the whole heap: the trained classifier, the
compiled readers and up to `HABLO_ACTOR_MAX_LIVE` conversation states. Measured with
`gc.callbacks` on a bench worker (500 conversations x 5 messages, then 3,000 first
contacts): 1.22 s of 17.9 s of CPU in the collector (7 %) by default, 0.24 s with the
thresholds below. What is alive once the process is set up is frozen out of every
collection: it lives as long as the process.
"""

from __future__ import annotations

import gc

# A young collection every 20,000 net allocations (default 700); the older generations'
# ratios are raised to match, so a full collection stays rare.
THRESHOLDS = (20_000, 20, 40)


def settle_heap() -> None:
    """Call once, after start-up and before serving: collect what start-up left, move
    what is still alive out of the collector's way, and set the serving thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
