"""deploy/nginx.conf run by a real nginx in front of a real `hablo serve`: nginx accepts
the file, sends HTTP to HTTPS, hablo believes its forwarded scheme (HSTS), the request id
is nginx's, a body over hablo's limit stops at nginx, /metrics stays inside, and a web
chat conversation goes through the WebSocket upgrade.

Needs Debian's nginx (`apt-get install nginx-light`); skipped without it."""

from __future__ import annotations

import asyncio
import ipaddress
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import requests
from cryptography import x509

from hablo.config import Settings
from tests.e2e.deploy_files import DEPLOY
from tests.e2e.served_process import clean_environ, free_port, wait_until_healthy
from tests.tls_support import self_signed

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
HABLO = Path(sys.executable).with_name("hablo")

pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (Debian: apt-get install -y nginx-light)"
)


def _self_signed(folder: Path) -> Path:
    """fullchain.pem + privkey.pem for 127.0.0.1 in `folder`; returns the certificate."""
    ip = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
    cert, _ = self_signed(folder / "fullchain.pem", folder / "privkey.pem", "127.0.0.1", ip)
    return cert


@dataclass
class Proxied:
    http: str
    https: str
    ca: Path


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    tmp = tmp_path_factory.mktemp("nginx")
    ca = _self_signed(tmp / "tls")
    hablo_port, http_port, https_port = free_port(), free_port(), free_port()
    env = clean_environ(
        HABLO_DATABASE_URL=f"sqlite:///{tmp / 'hablo.db'}",
        HABLO_STATE_DIR=str(tmp / "state"),
        HABLO_TRUSTED_PROXIES='["127.0.0.1"]',
        HABLO_NLU_TRAIN_IN_BACKGROUND="false",
    )
    subprocess.run(
        [str(HABLO), "demo", "--seed-only"], cwd=tmp, env=env, check=True, capture_output=True,
        timeout=300,
    )  # fmt: skip
    conf = (DEPLOY / "nginx.conf").read_text()
    for old, new in (
        ("server edge:8080;", f"server 127.0.0.1:{hablo_port};"),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("/etc/nginx/tls/", f"{tmp / 'tls'}/"),
    ):
        assert old in conf, old
        conf = conf.replace(old, new)
    (tmp / "nginx.conf").write_text(conf)
    nginx_args = [str(NGINX), "-p", str(tmp), "-c", str(tmp / "nginx.conf")]
    checked = subprocess.run(
        [*nginx_args, "-t", "-g", f"pid {tmp / 'nginx.pid'};"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr  # nginx -t accepts the file as shipped
    server = subprocess.Popen(
        [str(HABLO), "serve", "--port", str(hablo_port)],
        cwd=tmp,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    proxy = subprocess.Popen(
        [*nginx_args, "-g", f"daemon off; pid {tmp / 'nginx.pid'};"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        https = f"https://127.0.0.1:{https_port}"
        wait_until_healthy(f"http://127.0.0.1:{hablo_port}/healthz", server, "hablo serve")
        wait_until_healthy(https + "/healthz", proxy, "nginx", verify=str(ca))
        yield Proxied(f"http://127.0.0.1:{http_port}", https, ca)
    finally:
        for process in (proxy, server):
            process.terminate()
        for process in (proxy, server):
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


def test_plain_http_is_sent_to_https(proxied: Proxied) -> None:
    moved = requests.get(proxied.http + "/app/login?x=1", allow_redirects=False, timeout=30)
    assert moved.status_code == 301
    assert moved.headers["Location"] == "https://127.0.0.1/app/login?x=1"


def test_hablo_believes_the_forwarded_scheme_and_nginx_names_the_request(
    proxied: Proxied,
) -> None:
    answer = requests.get(
        proxied.https + "/healthz",
        headers={"X-Request-Id": "chosen-by-the-client"},
        verify=str(proxied.ca),
        timeout=30,
    )
    assert answer.status_code == 200
    # hablo saw https through X-Forwarded-Proto from a trusted proxy: it sends HSTS.
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
    # The id is nginx's ($request_id, also in its access log), not the client's.
    request_id = answer.headers["X-Request-Id"]
    assert request_id != "chosen-by-the-client" and len(request_id) == 32
    assert int(request_id, 16) >= 0


def test_a_body_over_hablos_limit_stops_at_nginx(proxied: Proxied) -> None:
    limit = Settings().max_body_bytes
    too_big = requests.post(
        proxied.https + "/api/auth/login",
        data=b"x" * (limit + 1),
        headers={"Content-Type": "application/json"},
        verify=str(proxied.ca),
        timeout=60,
    )
    assert too_big.status_code == 413
    assert "X-Request-Id" not in too_big.headers  # nginx answered; hablo never saw it
    fits = requests.post(
        proxied.https + "/api/auth/login",
        data=b"{" * 1024,
        headers={"Content-Type": "application/json"},
        verify=str(proxied.ca),
        timeout=60,
    )
    assert fits.status_code == 400 and "X-Request-Id" in fits.headers  # hablo's own answer


def test_metrics_are_not_served_to_the_outside(proxied: Proxied) -> None:
    assert (
        requests.get(proxied.https + "/metrics", verify=str(proxied.ca), timeout=30).status_code
        == 404
    )


def test_a_web_chat_conversation_goes_through_the_upgrade(proxied: Proxied) -> None:
    url = proxied.https.replace("https://", "wss://") + "/chat/demo?visitor=nginx-visitor-1"
    context = ssl.create_default_context(cafile=str(proxied.ca))

    async def converse() -> list[dict[str, object]]:
        frames: list[dict[str, object]] = []
        async with aiohttp.ClientSession() as session, session.ws_connect(url, ssl=context) as ws:
            await ws.send_json({"id": "via-nginx-1", "text": "hola"})
            deadline = time.monotonic() + 60
            while not any(f.get("type") == "message" for f in frames):
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"no reply through nginx: {frames}"
                frame = await ws.receive_json(timeout=remaining)
                frames.append(frame)
        return frames

    frames = asyncio.run(converse())
    assert {"type": "ack", "id": "via-nginx-1", "duplicate": False} in frames
