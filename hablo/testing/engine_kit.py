"""Run a skill through the real engine from a plugin's own tests, no install needed:

    from hablo.testing.engine_kit import assert_dialogues

    def test_dialogues(tmp_path):
        assert_dialogues(["dialogues/wifi.yaml"], WifiSkill, workdir=tmp_path,
                         config={"network": "Sol", "password": "secreta"})

The YAML files are dialogue tests (docs/dialogue-tests.md), run as `hablo test dialogues
FILE --tenant demo --skill NAME` would run them, on a scratch SQLite copy of the demo
salon with the skill enabled: classifier trained on its intents, templates, turn
transaction and all. Nothing outside `workdir` is written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hablo.config import Settings
from hablo.plugins.sdk import Skill
from hablo.testing.dialogue_report import CaseResult, report_lines
from hablo.testing.dialogue_runner import run_dialogue_tests

DEMO_NOW_TEXT = "2027-03-10T12:00"  # a Wednesday noon, as hablo.testing.context.DEMO_NOW


def run_skill_dialogues(
    paths: Sequence[str | Path],
    skill: type[Skill],
    *,
    workdir: Path,
    config: Mapping[str, Any] | None = None,
    now: str = DEMO_NOW_TEXT,
) -> list[CaseResult]:
    """The cases' results; `workdir` holds the scratch state (a pytest tmp_path)."""
    settings = Settings.model_validate(
        {
            # Absent on purpose: the demo salon is seeded in the run's scratch copy.
            "database_url": f"sqlite:///{workdir / 'absent.db'}",
            "state_dir": workdir / "state",
            # The skill's intents are known from the first message, not after training.
            "nlu_train_in_background": False,
        }
    )
    return run_dialogue_tests(
        settings,
        paths,
        tenant="demo",
        now=now,
        skills=[skill.name],
        skill_configs={skill.name: dict(config or {})},
        extra_skills=[skill],
    )


def assert_dialogues(
    paths: Sequence[str | Path],
    skill: type[Skill],
    *,
    workdir: Path,
    config: Mapping[str, Any] | None = None,
    now: str = DEMO_NOW_TEXT,
) -> None:
    """Fail with the transcripts of the failing cases, as `hablo test dialogues` prints them."""
    results = run_skill_dialogues(paths, skill, workdir=workdir, config=config, now=now)
    if not results:
        raise AssertionError(f"no dialogue cases in {[str(p) for p in paths]}")
    failed = [r for r in results if not r.passed]
    if failed:
        report = "\n".join(report_lines(failed, as_json=False))
        summary = json.dumps({"cases": len(results), "failed": len(failed)})
        raise AssertionError(f"dialogue cases failed {summary}:\n{report}")
