"""THE DIALOGUE SUITE: every case in tests/dialogues/*.yaml must pass against the demo
salon (`hablo test dialogues tests/dialogues --tenant demo --now 2027-03-10T12:00`).

This is the bot's acceptance test, not the runner's: a failure here means the bot (NLU,
skills, replies) answered a conversation wrongly; the printed transcript says where.
Without case files yet, the public sample's format is still checked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hablo.cli import main
from hablo.testing.dialogue_file import expand_paths, load_cases

SUITE = Path(__file__).resolve().parents[1] / "dialogues"
# The public examples of the format (docs/dialogue-tests.md), checked even without a suite.
SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "dialogue-sample.yaml"
NOW = "2027-03-10T12:00"


def _suite_files() -> list[Path]:
    return sorted(p for p in SUITE.glob("*.y*ml")) if SUITE.is_dir() else []


def test_the_public_sample_is_valid() -> None:
    cases = load_cases([SAMPLE])
    assert len(cases) >= 12
    assert all(c.case.steps for c in cases)


def test_every_case_file_is_valid() -> None:
    """Format only (fast): every file loads, names are unique, regexes compile."""
    files = _suite_files()
    if not files:
        pytest.skip("tests/dialogues has no case files yet")
    assert load_cases(expand_paths(files))


def test_every_dialogue_case_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _suite_files()
    if not files:
        pytest.skip("tests/dialogues has no case files yet")
    monkeypatch.chdir(tmp_path)  # a fresh clone: no hablo.db, the demo is seeded in the copy
    for name in ("HABLO_DATABASE_URL", "HABLO_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    code = main(["test", "dialogues", str(SUITE), "--tenant", "demo", "--now", NOW])
    out = capsys.readouterr().out
    summary = json.loads(out.splitlines()[-1])
    failures = "\n".join(line for line in out.splitlines() if not line.startswith("ok "))
    assert code == 0 and summary["passed"] == summary["cases"], failures
