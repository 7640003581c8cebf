"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps every mail it receives."""

from __future__ import annotations

import email
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from tests.e2e.server import wait_until


class Inbox:
    """aiosmtpd handler: stores (recipients, parsed message)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.mails: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content)
        with self._lock:
            self.mails.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        with self._lock:
            return [m for rcpts, m in self.mails if address in rcpts]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> Message:
        """The newest mail to `address` once at least `count` arrived."""
        wait_until(lambda: len(self.to(address)) >= count, timeout, what=f"mail to {address}")
        return self.to(address)[-1]

    @staticmethod
    def body(message: Message) -> str:
        payload = message.get_payload(decode=True)
        assert isinstance(payload, bytes)
        return payload.decode(message.get_content_charset() or "utf-8")

    def code_in(self, message: Message) -> str:
        found = re.search(r"^\s+(\d{6})\s*$", self.body(message), re.MULTILINE)
        assert found, "no 6-digit code in the mail"
        return found.group(1)

    def reset_token_in(self, message: Message) -> str:
        found = re.search(r"#token=([A-Za-z0-9_-]+)", self.body(message))
        assert found, "no reset link in the mail"
        return found.group(1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def fake_smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()
