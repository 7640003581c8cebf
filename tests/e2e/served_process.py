"""Helpers for tests that run hablo (or nginx) as a process of its own: a free port, an
environment without the caller's HABLO_* settings, and waiting for a health URL."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from typing import Any

import pytest
import requests


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_environ(**settings: str) -> dict[str, str]:
    """This process' environment without any HABLO_* variable, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("HABLO_")}
    env.update(settings)
    return env


def wait_until_healthy(
    url: str, process: subprocess.Popen[Any], what: str, timeout: float = 120, **kwargs: Any
) -> None:
    """Poll `url` until it answers 2xx; fail at once (with its stderr when piped) if the
    process exits first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(url, timeout=2, **kwargs).ok:
                return
        except requests.RequestException:
            pass
        if process.poll() is not None:
            output = process.stderr.read() if process.stderr else ""
            pytest.fail(f"{what} exited with {process.returncode}:\n{output}")
        assert time.monotonic() < deadline, f"{what} did not answer {url} in {timeout:.0f} s"
        time.sleep(0.3)
