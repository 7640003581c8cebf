"""What handing messages to conversation actors costs: an OS thread per actor (pykka's
ThreadingActor, hablo before the actor pool) against PooledActor on an ActorPool.

Every message does the same small turn: two PostgreSQL round trips on one of 8 pooled
connections and about 0.15 ms of Python between them, so the difference between the two
runs is the hand-off (thread wake-ups, GIL hand-offs, thread starts), not the work.
`hablo bench` measures the whole path; this isolates the part the pool changed.

    HABLO_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python scripts/actor_handoff_bench.py --actors 2000 --messages 5

Prints one line per kind: messages a second, CPU (user + system) and system CPU per
message, voluntary context switches per message, and the thread starts included.
"""

from __future__ import annotations

import argparse
import os
import queue
import resource
import sys
import threading
import time
from typing import Any

import psycopg
import pykka

from hablo.engine.actor_pool import ActorPool, PooledActor

CONNECTIONS = 8


class _Work:
    def __init__(self, url: str) -> None:
        self.connections: queue.Queue[psycopg.Connection[Any]] = queue.Queue()
        for _ in range(CONNECTIONS):
            self.connections.put(psycopg.connect(url, autocommit=True))
        self.done = threading.Semaphore(0)

    def turn(self) -> None:
        conn = self.connections.get()
        try:
            conn.execute("SELECT 1").fetchone()
            total = 0
            for i in range(3000):
                total += i
            conn.execute("SELECT 2").fetchone()
        finally:
            self.connections.put(conn)
        self.done.release()

    def close(self) -> None:
        while not self.connections.empty():
            self.connections.get().close()


class ThreadActor(pykka.ThreadingActor):
    def __init__(self, work: _Work) -> None:
        super().__init__()
        self._work = work

    def on_receive(self, message: Any) -> None:
        self._work.turn()


class PoolActor(PooledActor):
    def __init__(self, pool: ActorPool, work: _Work) -> None:
        super().__init__(pool)
        self._work = work

    def on_receive(self, message: Any) -> None:
        self._work.turn()


def run(kind: str, actors: int, messages: int, threads: int, url: str) -> str:
    work = _Work(url)
    pool = ActorPool(threads)
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    # Starting the actors is part of the cost: a new conversation starts one.
    refs = [
        ThreadActor.start(work) if kind == "thread" else PoolActor.start(pool, work)
        for _ in range(actors)
    ]
    for n in range(messages):
        for ref in refs:
            ref.tell(n)
    for _ in range(actors * messages):
        work.done.acquire()
    wall, r1 = time.monotonic() - t0, resource.getrusage(resource.RUSAGE_SELF)
    for ref in refs:
        ref.stop(block=False)
    for ref in refs:
        ref.actor_stopped.wait(30)
    pool.close()
    work.close()
    n = actors * messages
    user, system = r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime
    return (
        f"{kind:6s} actors={actors} messages={n} msg/s={n / wall:.0f} "
        f"cpu_ms_per_msg={(user + system) * 1000 / n:.3f} "
        f"sys_ms_per_msg={system * 1000 / n:.3f} "
        f"voluntary_switches_per_msg={(r1.ru_nvcsw - r0.ru_nvcsw) / n:.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actors", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=5, help="per actor")
    parser.add_argument("--threads", type=int, default=16, help="the pool's threads")
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs of each kind")
    args = parser.parse_args()
    url = os.environ.get("HABLO_DATABASE_URL", "").replace("postgresql+psycopg", "postgresql")
    if not url.startswith("postgresql"):
        print("error: set HABLO_DATABASE_URL to a PostgreSQL database", file=sys.stderr)
        return 2
    if min(args.actors, args.messages, args.threads, args.rounds) < 1:
        print("error: --actors, --messages, --threads and --rounds must be 1 or more")
        return 2
    for _ in range(args.rounds):
        for kind in ("thread", "pool"):
            print(run(kind, args.actors, args.messages, args.threads, url), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
