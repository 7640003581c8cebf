"""HABLO_LOG_FORMAT=json: one JSON object per line, the ids of the current request or
turn attached, secrets masked in the message, the extra fields and the traceback."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest

from hablo.config.log_context import bind_log_context, current_log_context, log_context
from hablo.engine.bridge import LoopBridge
from hablo.observability.logs import JsonFormatter, RedactingTextFormatter
from hablo.observability.sentry import scrub
from hablo.security.log_redaction import MASK, RedactingFilter

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXBhcnQ"


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of its own writing JSON to a buffer, with the redacting filter that
    configure_logging puts on every handler."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger(f"hablo.test.json.{uuid.uuid4().hex}")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, buffer
    logger.removeHandler(handler)


def _lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_line_is_one_json_object_with_the_context_ids(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, buffer = logged
    tenant, conversation = uuid.uuid4(), uuid.uuid4()
    logger.info("outside")
    with log_context(tenant_id=tenant, channel="webchat"):
        logger.info("turn for %s", "ana")
        bind_log_context(conversation_id=conversation)
        logger.warning("línea con ñ\nen dos renglones")
    logger.info("after")
    outside, first, second, after = _lines(buffer)
    assert buffer.getvalue().count("\n") == 4  # a newline in a message stays inside its line
    assert outside["message"] == "outside" and "tenant_id" not in outside
    assert first["message"] == "turn for ana" and first["level"] == "INFO"
    assert first["tenant_id"] == str(tenant) and first["channel"] == "webchat"
    assert "conversation_id" not in first
    assert second["conversation_id"] == str(conversation)
    assert second["message"] == "línea con ñ\nen dos renglones"
    assert "tenant_id" not in after and "conversation_id" not in after
    assert str(first["time"]).endswith("+00:00") and first["logger"] == logger.name
    assert current_log_context() == {}


def test_unknown_context_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown log context"), log_context(user="x"):  # type: ignore[arg-type]
        pass


def test_secrets_are_masked_in_message_extras_and_traceback(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, buffer = logged
    try:
        raise RuntimeError(f"provider said: Authorization: Bearer {JWT} password=hunter22")
    except RuntimeError:
        logger.exception(
            "call failed with api_key=sk-live-123456 and %s",
            f"Bearer {JWT}",
            extra={"request_line": "GET /webhooks/whatsapp?hub.verify_token=s3cr3t-vt HTTP/1.1"},
        )
    text = buffer.getvalue()
    for secret in (JWT, "hunter22", "sk-live-123456", "s3cr3t-vt"):
        assert secret not in text
    (line,) = _lines(buffer)
    assert MASK in str(line["message"]) and MASK in str(line["request_line"])
    assert "RuntimeError" in str(line["exc_info"]) and MASK in str(line["exc_info"])


def test_the_text_format_masks_tracebacks_too() -> None:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(RedactingTextFormatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(f"hablo.test.text.{uuid.uuid4().hex}")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        raise ValueError("secret=abcdef123456 leaked")
    except ValueError:
        logger.exception("failed")
    assert "abcdef123456" not in buffer.getvalue() and "ValueError" in buffer.getvalue()


def test_sentry_events_are_scrubbed_by_value_and_by_key() -> None:
    event = {
        "message": f"login with Bearer {JWT}",
        "request": {"headers": {"Authorization": "Basic dXNlcjpwYXNz", "Accept": "*/*"}},
        "extra": {"nested": [{"client_secret": "abc"}, "password=hunter22"]},
        "level": "error",
        "count": 3,
    }
    clean = scrub(event)
    assert JWT not in json.dumps(clean) and "hunter22" not in json.dumps(clean)
    assert clean["request"]["headers"] == {"Authorization": MASK, "Accept": "*/*"}
    assert clean["extra"]["nested"][0] == {"client_secret": MASK}
    assert clean["level"] == "error" and clean["count"] == 3


def test_blocking_work_handed_to_the_bridge_keeps_the_requests_ids() -> None:
    async def handler() -> tuple[dict[str, str], dict[str, str]]:
        bridge = LoopBridge(asyncio.get_running_loop(), workers=1)
        try:
            with log_context(request_id="req-42"):
                inside = await bridge.call(lambda: dict(current_log_context()))
            after = await bridge.call(lambda: dict(current_log_context()))
        finally:
            bridge.close()
        return inside, after

    inside, after = asyncio.run(handler())
    assert inside == {"request_id": "req-42"}
    assert after == {}  # the worker thread does not keep it for the next caller
