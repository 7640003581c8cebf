"""`hablo test dialogues` with a remote skill: the tenant's registered remote skill is
called by the scratch copy (a real `hablo skill serve`), and a failing case fails."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.remote.conftest import ROOT, SkillServer
from tests.remote.support import demo_with_points

DIALOGUES = Path(__file__).parent / "dialogues" / "points.yaml"


def _dialogues(env: dict[str, str], path: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "hablo", "test", "dialogues", str(path)]
    command += ["--tenant", "demo", "--now", "2027-03-10T12:00", "--json"]
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)


# Two `hablo` subprocesses, each training a classifier on a busy machine.
@pytest.mark.timeout(1200)
def test_dialogue_tests_call_the_registered_remote_skill(
    tmp_path: Path, skill_server: SkillServer
) -> None:
    runtime, env = demo_with_points(tmp_path, skill_server)
    runtime.close()
    passed = _dialogues(env, DIALOGUES)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    summary = json.loads(passed.stdout.strip().splitlines()[-1])
    assert summary["cases"] == 3 and summary["failed_steps"] == 0

    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(DIALOGUES.read_text().replace("tenés 0 puntos", "tenés 99 puntos"))
    failed = _dialogues(env, wrong)
    assert failed.returncode == 1, failed.stdout + failed.stderr
