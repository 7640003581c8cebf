"""A real `hablo skill serve` subprocess on 127.0.0.1 serving the points skill."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cret-for-the-points-skill-0123456789abcdef"


@dataclass(frozen=True)
class SkillServer:
    url: str
    secret: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def skill_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SkillServer]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("skill-server") / "serve.log"
    env = {**os.environ, "POINTS_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable, "-m", "hablo", "skill", "serve",
        "tests.remote.points_skill:PointsSkill",
        "--port", str(port), "--secret-env", "POINTS_SECRET",
    ]  # fmt: skip
    log = log_path.open("wb")
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(url + "/manifest", timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = log_path.read_text(errors="replace")
                raise AssertionError(f"hablo skill serve did not start: {output}")
            time.sleep(0.2)
        yield SkillServer(url, SECRET)
    finally:
        process.terminate()
        process.wait(30)
        log.close()
