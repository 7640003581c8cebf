"""The production path: https to the checked address, with the certificate checked
against the URL's host name (SNI), over real TLS on 127.0.0.1 with a test certificate."""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509

from hablo.plugins.remote_protocol import IntentModel, Manifest
from hablo.plugins.remote_skill import (
    RemoteEndpoint,
    RemotePolicy,
    RemoteSkill,
    RemoteSkillFailed,
    remote_skill_class,
)
from hablo.testing.context import make_turn, skill_context
from tests.providers.threaded import ThreadedFakeServer
from tests.tls_support import self_signed

HOST = "skill.test"


def _certificate(folder: Path) -> tuple[Path, Path]:
    return self_signed(folder / "cert.pem", folder / "key.pem", HOST, x509.DNSName(HOST))


class TlsSkill(ThreadedFakeServer):
    thread_name = "fake-tls-skill"

    def __init__(self, cert: Path, key: Path) -> None:
        super().__init__()
        self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls.load_cert_chain(cert, key)
        self.hosts: list[str] = []

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/skill/turn", self._turn)

    async def _turn(self, request: web.Request) -> web.Response:
        self.hosts.append(request.host)
        await request.read()
        return web.json_response({"replies": [{"text": "por TLS"}]})

    async def _serve(self) -> None:
        app = web.Application()
        self.add_routes(app)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.tls)
        await site.start()
        self.port = int(self._runner.addresses[0][1])


@pytest.fixture
def tls_skill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TlsSkill]:
    cert, key = _certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test certificate only
    server = TlsSkill(cert, key).start()
    try:
        yield server
    finally:
        server.stop()


def _skill(url: str) -> RemoteSkill:
    manifest = Manifest(name="tls", intents=[IntentModel(name="tls", examples={"es": ["x"]})])
    endpoint = RemoteEndpoint(uuid.uuid4(), "tls", url, "t" * 40, manifest)
    policy = RemotePolicy(check=lambda host, port: ["127.0.0.1"], allow_http=False, timeout_s=20)
    return remote_skill_class(endpoint, policy)()


def test_https_reaches_the_checked_address_under_the_urls_name(tls_skill: TlsSkill) -> None:
    answer = _skill(f"https://{HOST}:{tls_skill.port}/skill").handle(
        make_turn("x", intent="tls"), skill_context()
    )
    assert answer.replies[0].text == "por TLS"
    assert tls_skill.hosts == [f"{HOST}:{tls_skill.port}"]


def test_a_certificate_for_another_name_is_refused(tls_skill: TlsSkill) -> None:
    with pytest.raises(RemoteSkillFailed, match="cannot connect"):
        _skill(f"https://other.test:{tls_skill.port}/skill").handle(
            make_turn("x", intent="tls"), skill_context()
        )
    assert tls_skill.hosts == []
