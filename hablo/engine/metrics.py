"""Prometheus metrics of this process (served at /metrics by the API).

The hot path only bumps in-memory counters (a lock and an add); anything that needs the
database (outbox depth, dead letters) is read when /metrics is scraped. The metrics live
in their own registry, so a test process with several engines still gets one set.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.gc_collector import GCCollector
from prometheus_client.process_collector import ProcessCollector

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

INBOUND = Counter(
    "hablo_inbound_messages",
    "Inbound messages accepted into the inbox (duplicates not counted), per channel.",
    ["channel"],
    registry=REGISTRY,
)
OUTBOUND = Counter(
    "hablo_outbound_messages",
    "Outbound send attempts per channel and outcome (sent, retrying, dead_lettered).",
    ["channel", "outcome"],
    registry=REGISTRY,
)
TURN_SECONDS = Histogram(
    "hablo_turn_seconds",
    "From accepting an inbound message to its replies handed to the channel, for turns "
    "accepted and answered by this process.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)
SKILL_ERRORS = Counter(
    "hablo_skill_errors",
    "Skill calls that raised or overran (the customer got an apology), per skill.",
    ["skill"],
    registry=REGISTRY,
)
API_REQUESTS = Counter(
    "hablo_api_requests",
    "HTTP requests per route template, method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
LLM_TOKENS = Counter(
    "hablo_llm_tokens",
    "LLM tokens used, per model and kind (prompt, completion).",
    ["model", "kind"],
    registry=REGISTRY,
)


class TurnClock:
    """Times turns from acceptance to delivery. Bounded: a message accepted here but
    answered elsewhere (another worker, after a restart) is forgotten, never leaked."""

    def __init__(self, histogram: Histogram = TURN_SECONDS, capacity: int = 50_000) -> None:
        self._histogram = histogram
        self._capacity = capacity
        self._started: OrderedDict[int, float] = OrderedDict()
        self._lock = threading.Lock()

    def accepted(self, inbox_id: int) -> None:
        with self._lock:
            self._started[inbox_id] = time.monotonic()
            if len(self._started) > self._capacity:
                self._started.popitem(last=False)

    def delivered(self, inbox_ids: Iterable[int]) -> None:
        with self._lock:
            starts = [s for s in (self._started.pop(i, None) for i in inbox_ids) if s]
        if starts:
            self._histogram.observe(time.monotonic() - min(starts))


def serve_worker_metrics(host: str, port: int) -> None:
    """A `hablo worker` has no HTTP server of its own: a daemon thread serves the
    counters (not the per-scrape database figures, which the edge's /metrics has)."""
    start_http_server(port, addr=host, registry=REGISTRY)
