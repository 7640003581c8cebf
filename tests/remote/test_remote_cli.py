"""`hablo skills` with a remote skill: listed with its URL, configured through its own
server's check (a bad value is one line naming the field, exit 2), disabled."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from hablo.db.models import RemoteSkill
from tests.remote.conftest import ROOT, SkillServer
from tests.remote.support import demo_with_points


@pytest.mark.timeout(600)  # four `hablo` subprocesses on a busy machine
def test_hablo_skills_lists_configures_and_disables_a_remote_skill(
    tmp_path: Path, skill_server: SkillServer
) -> None:
    runtime, env = demo_with_points(tmp_path, skill_server)

    def hablo(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "hablo", "skills", *args, "--tenant", "demo"]
        return subprocess.run(
            command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
        )

    try:
        listed = hablo("list")
        assert listed.returncode == 0, listed.stderr
        line = next(x for x in listed.stdout.splitlines() if x.startswith("points "))
        assert "on" in line.split() and f"remote {skill_server.url}" in line
        assert "points_balance,points_redeem" in line

        bad = hablo("config", "points", "--set", "points_per_booking=-1")
        assert bad.returncode == 2
        assert bad.stderr.strip().startswith("hablo: skill points: config field points_per_booking")
        assert len(bad.stderr.strip().splitlines()) == 1

        assert hablo("config", "points", "--set", "points_per_booking=7").returncode == 0
        off = hablo("disable", "points")
        assert off.returncode == 0 and '"state": "disabled"' in off.stdout
        with runtime.db.transaction() as session:
            row = session.scalars(select(RemoteSkill)).one()
            assert row.config == {"points_per_booking": 7} and not row.enabled
    finally:
        runtime.close()
