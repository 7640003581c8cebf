"""The worker tier (issue 15; docs/scaling.md): conversations spread over `hablo worker`
processes by shard through Redis, PostgreSQL's inbox and outbox the source of truth.

- shards: which shard a conversation belongs to (the same answer in every process);
- leases: who holds a shard (Redis SET NX PX, renewed while alive);
- fencing: the PostgreSQL fence every turn checks (a stale owner commits nothing);
- doorbell: the edge rings a shard's Redis stream after the inbox insert;
- worker: takes, reads, recovers and gives up shards on top of an Engine;
- webchat_relay: web chat replies from a worker to the edge holding the visitor's socket.
"""
