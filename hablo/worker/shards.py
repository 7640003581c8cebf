"""Which shard a conversation belongs to: a stable hash of its key (crc32, not Python's
salted hash()), so every edge and worker process gives the same answer."""

from __future__ import annotations

import zlib

from hablo.engine.messages import ConversationKey


def shard_of(key: ConversationKey, shards: int) -> int:
    return zlib.crc32(f"{key.tenant_id}|{key.channel}|{key.peer}".encode()) % shards
