"""Shard leases in Redis: one holder per shard, for a time it keeps renewing.

Keys under the deployment's prefix P:
- `P worker:live` sorted set: worker id -> when its heartbeat runs out (ms);
- `P shard:N:lease`: the holder's worker id, SET NX PX (gone when it stops renewing);
- `P shard:N:bell`: the shard's doorbell stream (see doorbell.py).

A lease says who *should* run a shard; the fence in PostgreSQL (fencing.py) makes sure a
holder that lost it without knowing commits nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence

from redis import Redis

# Renew only what is still ours; a lease that expired or moved is reported lost.
_RENEW = """
local lost = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
  else
    table.insert(lost, i - 1)
  end
end
return lost
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def live_workers(redis: Redis, prefix: str) -> int:
    """How many workers' heartbeats have not run out (for readiness checks)."""
    return int(redis.zcount(f"{prefix}worker:live", int(time.time() * 1000), "+inf"))


class ShardLeases:
    def __init__(
        self, redis: Redis, prefix: str, worker_id: str, shards: int, lease_s: float
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self.worker_id = worker_id
        self.shards = shards
        self._ttl_ms = int(lease_s * 1000)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    def lease_key(self, shard: int) -> str:
        return f"{self._prefix}shard:{shard}:lease"

    def heartbeat(self) -> int:
        """Say this worker is alive; returns how many workers are (itself included)."""
        now = int(time.time() * 1000)
        live = f"{self._prefix}worker:live"
        pipe = self._redis.pipeline()
        pipe.zadd(live, {self.worker_id: now + self._ttl_ms})
        pipe.zremrangebyscore(live, "-inf", now)
        pipe.zcard(live)
        return max(1, int(pipe.execute()[-1]))

    def leave(self) -> None:
        self._redis.zrem(f"{self._prefix}worker:live", self.worker_id)

    def fair_share(self, live_workers: int) -> int:
        return math.ceil(self.shards / max(1, live_workers))

    def try_acquire(self, shard: int) -> bool:
        return bool(
            self._redis.set(self.lease_key(shard), self.worker_id, nx=True, px=self._ttl_ms)
        )

    def renew(self, shards: Sequence[int]) -> set[int]:
        """Extend the leases held; returns the shards that are no longer ours."""
        if not shards:
            return set()
        lost = self._renew(
            keys=[self.lease_key(s) for s in shards], args=[self.worker_id, self._ttl_ms]
        )
        return {shards[int(i)] for i in lost}

    def release(self, shard: int) -> None:
        self._release(keys=[self.lease_key(shard)], args=[self.worker_id])

    def holders(self, shards: Iterable[int] | None = None) -> dict[int, str | None]:
        """Who holds each shard now (None: nobody), for tools and tests."""
        wanted = list(range(self.shards) if shards is None else shards)
        values = self._redis.mget([self.lease_key(s) for s in wanted])
        return {
            s: (v.decode() if isinstance(v, bytes) else v)
            for s, v in zip(wanted, values, strict=True)
        }
