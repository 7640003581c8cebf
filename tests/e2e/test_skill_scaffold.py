"""`hablo skill new NAME`: the package it writes passes its own tests (unit and dialogue,
through the real engine) and ruff as written; bad names and existing folders are one
line and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.e2e.test_cli import hablo, one_line

RUFF = Path(sys.executable).with_name("ruff")


def _run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_the_new_package_passes_its_own_tests_and_lint(tmp_path: Path) -> None:
    made = hablo("skill", "new", "gift_cards", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    package = tmp_path / "hablo-gift-cards"
    written = {Path(line).relative_to("hablo-gift-cards") for line in made.stdout.splitlines()}
    assert {
        Path("pyproject.toml"),
        Path("src/hablo_gift_cards/skill.py"),
        Path("tests/test_skill.py"),
        Path("tests/test_dialogues.py"),
        Path("dialogues/gift_cards.yaml"),
    } <= written

    project = tomllib.loads((package / "pyproject.toml").read_text(encoding="utf-8"))
    entry_points = project["project"]["entry-points"]["hablo.skills"]
    assert entry_points == {"gift_cards": "hablo_gift_cards.skill:GiftCardsSkill"}

    # Its tests import it from src/ (an install into a venv is slower than it is worth
    # here); the dialogue test runs the YAML file through the real engine.
    env = {**os.environ, "PYTHONPATH": str(package / "src")}
    env = {k: v for k, v in env.items() if not k.startswith("HABLO_")}
    tests = _run(
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=package, env=env
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "4 passed" in tests.stdout

    lint = _run(str(RUFF), "check", ".", cwd=package)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    formatted = _run(str(RUFF), "format", "--check", ".", cwd=package)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


def test_bad_names_and_existing_folders_are_refused(tmp_path: Path) -> None:
    for name, says in (
        ("Gift-Cards", "use 2-40 lowercase letters"),
        ("class", "Python keyword"),
        ("booking", "already installed"),
    ):
        refused = hablo("skill", "new", name, cwd=tmp_path)
        assert refused.returncode == 2, refused.stdout
        assert says in one_line(refused.stderr)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("mine", encoding="utf-8")
    refused = hablo("skill", "new", "wifi", "--dir", "mine", cwd=tmp_path)
    assert refused.returncode == 2
    assert one_line(refused.stderr) == "hablo: mine already exists and is not an empty folder"
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["keep.txt"]
