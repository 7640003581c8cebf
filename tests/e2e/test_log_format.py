"""`hablo serve` with HABLO_LOG_FORMAT=json: every line on stderr is one JSON object, the
access line of a request carries the request id the response echoes, and a secret in a
URL is masked; with HABLO_SENTRY_DSN a captured error reaches Sentry with its secrets
masked, and a DSN without the [sentry] extra stops the process with one line."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from tests.e2e.served_process import clean_environ, free_port, wait_until_healthy

HABLO = Path(sys.executable).with_name("hablo")


def _environ(tmp_path: Path, **settings: str) -> dict[str, str]:
    return clean_environ(
        HABLO_DATABASE_URL=f"sqlite:///{tmp_path / 'hablo.db'}",
        HABLO_STATE_DIR=str(tmp_path / "state"),
        **settings,
    )


@pytest.fixture
def served_json(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    server = subprocess.Popen(
        [str(HABLO), "serve", "--port", str(port)],
        cwd=tmp_path,
        env=_environ(tmp_path, HABLO_LOG_FORMAT="json"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base + "/healthz", server, "hablo serve")
        yield base, server
    finally:
        if server.poll() is None:
            server.terminate()
            server.communicate(timeout=60)


def test_json_lines_carry_the_request_id_and_mask_secrets(
    served_json: tuple[str, subprocess.Popen[str]],
) -> None:
    base, server = served_json
    given = requests.get(base + "/healthz", headers={"X-Request-Id": "lb-7f3a.42"}, timeout=30)
    assert given.headers["X-Request-Id"] == "lb-7f3a.42"
    made = requests.get(base + "/healthz", headers={"X-Request-Id": "no spaces <b>"}, timeout=30)
    generated = made.headers["X-Request-Id"]
    assert len(generated) == 32 and int(generated, 16) >= 0  # ours, not the client's
    missing = requests.get(base + "/api/nothing-here?token=s3cr3t-link-token", timeout=30)
    assert missing.status_code == 404 and len(missing.headers["X-Request-Id"]) == 32
    server.terminate()
    _, stderr = server.communicate(timeout=60)

    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert lines, "no log lines"
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    access = [line for line in lines if line["logger"] == "aiohttp.access"]
    by_id = {line.get("request_id"): line for line in access}
    assert "lb-7f3a.42" in by_id and generated in by_id, access
    not_found = by_id[missing.headers["X-Request-Id"]]
    assert "s3cr3t-link-token" not in stderr
    assert "[redacted]" in not_found["message"]


def test_a_sentry_dsn_without_the_extra_is_one_line_naming_it(tmp_path: Path) -> None:
    hidden = tmp_path / "hide"
    (hidden / "sentry_sdk").mkdir(parents=True)
    (hidden / "sentry_sdk" / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    env = _environ(tmp_path, HABLO_SENTRY_DSN="http://key@127.0.0.1:9/1")
    env["PYTHONPATH"] = str(hidden)
    done = subprocess.run(
        [str(HABLO), "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "[sentry]" in lines[0] and "pip install" in lines[0], done.stderr


class _Ingest(BaseHTTPRequestHandler):
    """Sentry's ingest endpoint, as far as the SDK needs it: it POSTs an envelope."""

    received: list[bytes]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.received.append(body)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def ingest() -> Iterator[tuple[str, list[bytes]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ingest)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://publickey@127.0.0.1:{server.server_port}/1", server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


# Runs in a process of its own: Sentry hooks into logging and threading process-wide.
_CAPTURE = """
import logging, sentry_sdk
from hablo.config import load_settings
from hablo.observability import configure_logging
configure_logging(load_settings())
try:
    raise RuntimeError("provider refused Authorization: Bearer abcdefgh12345678 password=hunter22")
except RuntimeError:
    logging.getLogger("hablo.test").exception("call failed with api_key=sk-live-999999")
sentry_sdk.flush(30)
"""


def test_a_captured_error_reaches_sentry_with_secrets_masked(
    tmp_path: Path, ingest: tuple[str, list[bytes]]
) -> None:
    dsn, received = ingest
    done = subprocess.run(
        [sys.executable, "-c", _CAPTURE],
        cwd=tmp_path,
        env=_environ(tmp_path, HABLO_SENTRY_DSN=dsn, HABLO_SENTRY_ENVIRONMENT="test"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 30
    while not received and time.monotonic() < deadline:
        time.sleep(0.2)
    sent = b"\n".join(received).decode()
    assert "RuntimeError" in sent and '"environment":"test"' in sent.replace(" ", ""), sent
    for secret in ("abcdefgh12345678", "hunter22", "sk-live-999999", "publickey"):
        assert secret not in sent.split("\n", 1)[1], secret  # the envelope header has the DSN
    assert "[redacted]" in sent
