"""The access log line aiohttp writes, through the redacting filter every handler gets:
the WhatsApp verify token and web-chat visitor ids never reach the log."""

from __future__ import annotations

import io
import logging

from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from aiohttp.web_log import AccessLogger

from hablo.security.log_redaction import install


def access_line(path: str) -> str:
    stream = io.StringIO()
    root = logging.getLogger("test-access-root")
    root.propagate = False
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    try:
        install(root)
        logger = logging.getLogger("test-access-root.aiohttp.access")
        logger.setLevel(logging.INFO)
        request = make_mocked_request("GET", path)
        AccessLogger(logger, web.AccessLogger.LOG_FORMAT).log(request, web.Response(), 0.01)
    finally:
        root.removeHandler(handler)
    return stream.getvalue()


def test_verify_token_and_visitor_id_are_redacted() -> None:
    line = access_line(
        "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=vt-s3cret-77&hub.challenge=9"
    )
    assert "/webhooks/whatsapp" in line and "hub.challenge=9" in line
    assert "vt-s3cret-77" not in line and "[redacted]" in line
    chat = access_line("/chat/demo?visitor=3f9d7c1e-8d2b-4c55-a1f0-5b1e0c2d9a77&lang=es")
    assert "3f9d7c1e" not in chat and "lang=es" in chat
