"""How much slower a tenant's first reply after a (re)start is than a warm one.

Starts the engine as `hablo serve` does (settings from HABLO_* / --config), sends "hola"
from one customer and times submit -> reply handed to the channel; then times the same
customer's next messages (warm: tenant and conversation loaded). One start per process:
run it several times. Prints one JSON line.

    .venv/bin/hablo demo --seed-only        # in a scratch folder: hablo.db, demo tenant
    .venv/bin/python scripts/cold_start.py --tenant demo --warm 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid

from sqlalchemy import select

from hablo.adapters.base import ChannelSender, SendReceipt
from hablo.adapters.console import TurnWaiter
from hablo.bootstrap import bootstrap
from hablo.config import load_settings
from hablo.db.base import utcnow
from hablo.db.models import Tenant
from hablo.engine.messages import InboundMessage, OutboundEnvelope


class _Sink(ChannelSender):
    channel = "console"

    def send(self, envelope: OutboundEnvelope) -> SendReceipt:
        return SendReceipt(provider_message_id=f"sink-{envelope.outbox_id}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="TOML settings file")
    parser.add_argument("--tenant", default="demo")
    parser.add_argument("--text", default="hola")
    parser.add_argument("--warm", type=int, default=5, help="warm replies to time")
    args = parser.parse_args(argv)

    runtime = bootstrap(load_settings(args.config))
    delivered = TurnWaiter()
    runtime.engine.add_sender(_Sink())
    runtime.engine.add_turn_listener(delivered)
    with runtime.db.transaction() as session:
        tenant_id = session.scalars(select(Tenant.id).where(Tenant.slug == args.tenant)).one()
    peer = "+54911" + str(uuid.uuid4().int)[:8]  # a new customer each run
    runtime.start()

    def reply_ms() -> float:
        started = time.perf_counter()
        result = runtime.engine.submit(
            InboundMessage(
                tenant_id=tenant_id,
                channel="console",
                peer=peer,
                text=args.text,
                provider_message_id=f"cold-start-{uuid.uuid4()}",
                received_at=utcnow(),
            )
        )
        if not delivered.wait(result.inbox_id, 60.0):
            raise SystemExit(f"no reply to inbox {result.inbox_id} within 60 s")
        return (time.perf_counter() - started) * 1000

    try:
        first = reply_ms()
        warm = [reply_ms() for _ in range(args.warm)]
    finally:
        runtime.close()
    median = statistics.median(warm)
    print(
        json.dumps(
            {
                "tenant": args.tenant,
                "first_ms": round(first, 1),
                "warm_median_ms": round(median, 1),
                "first_minus_warm_ms": round(first - median, 1),
                "sklearn_imported": "sklearn" in sys.modules,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
