"""The management API's calls to skill servers run on a lane of their own: one tenant
gets at most its share of the lane's threads at once (the next call is refused, not
queued behind it), while another tenant's call still runs."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest

from hablo.plugins.remote_lane import LaneBusy, RemoteCallLane


def test_one_tenant_holds_at_most_its_share_and_others_go_on() -> None:
    async def scenario() -> None:
        lane = RemoteCallLane(workers=3, per_tenant=2)
        slow, other = uuid.uuid4(), uuid.uuid4()
        release = threading.Event()
        started = threading.Semaphore(0)

        def hang() -> str:  # a skill server that does not answer until released
            started.release()
            release.wait(60)
            return "late"

        held = [asyncio.create_task(lane.run(slow, hang)) for _ in range(2)]
        loop = asyncio.get_running_loop()
        for _ in range(2):
            assert await loop.run_in_executor(None, started.acquire, True, 60)
        with pytest.raises(LaneBusy):
            await lane.run(slow, lambda: "refused")
        assert await asyncio.wait_for(lane.run(other, lambda: "ok"), 60) == "ok"
        release.set()
        assert await asyncio.wait_for(asyncio.gather(*held), 60) == ["late", "late"]
        assert await asyncio.wait_for(lane.run(slow, lambda: "again"), 60) == "again"

    asyncio.run(scenario())
