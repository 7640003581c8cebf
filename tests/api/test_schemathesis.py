"""Fuzz the live API against its own OpenAPI document with schemathesis (issue 5's gate):
a real server on PostgreSQL, a valid owner token, every operation, every check. Any 5xx,
undocumented status, or response that breaks its schema fails the test."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hablo.db.enums import Role
from tests.api.support import Api, live_api

CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = os.environ.get("HABLO_FUZZ_EXAMPLES", "15")


def run_schemathesis(api: Api, role: Role, report_dir: Path) -> subprocess.CompletedProcess[str]:
    token = api.user(role)[1]
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "run",
        api.server.url("/openapi.json"),
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        "--max-examples",
        MAX_EXAMPLES,
        "--workers",
        "1",
        "--seed",
        "20261128",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-dir",
        str(report_dir),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)


@pytest.fixture
def fuzz_api(db_url: str) -> Iterator[Api]:
    """The API on PostgreSQL with the general rate limits out of the fuzzer's way (the
    account endpoints keep their strict limits; 429 is documented on every route)."""
    if not db_url.startswith("postgresql"):
        pytest.skip("the fuzz run targets the production database, PostgreSQL")
    with live_api(
        db_url, rate_limit_ip_per_minute=1_000_000, rate_limit_user_per_minute=1_000_000
    ) as running:
        yield running


@pytest.mark.timeout(1900)
@pytest.mark.parametrize("role", [Role.OWNER, Role.AGENT])
def test_schemathesis_finds_nothing(fuzz_api: Api, tmp_path: Path, role: Role) -> None:
    """As an owner (every write allowed) and as an agent (most refused: the 403 paths get
    fuzzed too); no 5xx either way."""
    result = run_schemathesis(fuzz_api, role, tmp_path)
    tail = "\n".join((result.stdout + result.stderr).splitlines()[-150:])
    assert result.returncode == 0, tail
    assert "passed" in result.stdout
