"""A built-in SMTP receiver (aiosmtpd) for the tenants' mailboxes.

Point the MX of a domain (or a forwarding rule of the mail host) at it. It is not a relay:
a recipient that is no enabled e-mail account is refused at RCPT time (550), so nothing
else is accepted. A mail is answered 250 only once it is durably in the inbox; a database
failure answers 451, and the sending server tries again later (the Message-ID dedupes).

aiosmtpd runs its own event loop on its own thread; the blocking account lookups and
inbox writes run in that loop's executor, never on the API's loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from hablo.adapters.accounts import AccountDirectory
from hablo.adapters.email.inbound import CHANNEL, inbound_message
from hablo.adapters.email.parse import MailRejected, parse_mail
from hablo.config.extras import MissingExtra
from hablo.db.base import utcnow
from hablo.engine.messages import InboundMessage

try:  # the [email] extra: only a server with the e-mail channel on needs it
    from aiosmtpd.controller import Controller
except ImportError:  # pragma: no cover - exercised by the packaging test's bare install
    Controller = None  # type: ignore[assignment,misc]

log = logging.getLogger(__name__)


class MailboxHandler:
    """aiosmtpd handler: RCPT checks the mailbox, DATA stores the mail in the inbox."""

    def __init__(self, accounts: AccountDirectory, submit: Callable[[InboundMessage], Any]):
        self._accounts = accounts
        self._submit = submit

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        loop = asyncio.get_running_loop()
        try:
            account = await loop.run_in_executor(
                None, self._accounts.by_address, CHANNEL, address.strip().lower()
            )
        except Exception:
            log.exception("email: mailbox lookup failed")
            return "451 4.3.0 Temporary failure, try again later"
        if account is None:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            mail = parse_mail(raw)
        except MailRejected as exc:
            # Accepted and dropped: a bounce for an auto-reply would only add to the loop.
            log.info("email: not answered: %s", exc)
            return "250 OK"
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, self._store, mail, tuple(envelope.rcpt_tos))
        except Exception:
            log.exception("email: storing an inbound mail failed")
            return "451 4.3.0 Temporary failure, try again later"
        return "250 OK"

    def _store(self, mail: Any, recipients: tuple[str, ...]) -> None:
        received_at = utcnow()
        for address in dict.fromkeys(r.strip().lower() for r in recipients):
            account = self._accounts.by_address(CHANNEL, address)
            message = inbound_message(account, mail, received_at) if account else None
            if message is not None:
                self._submit(message)


class EmailReceiver:
    """Starts and stops the SMTP listener (blocking calls: use from a worker thread)."""

    def __init__(
        self,
        accounts: AccountDirectory,
        submit: Callable[[InboundMessage], Any],
        *,
        host: str,
        port: int,
        max_bytes: int,
    ) -> None:
        if Controller is None:
            raise MissingExtra("the e-mail channel's SMTP receiver", "email")
        self._controller = Controller(
            MailboxHandler(accounts, submit),
            hostname=host,
            port=port,
            data_size_limit=max_bytes,
            enable_SMTPUTF8=True,
            server_hostname="hablo",
        )
        self.host = host
        self.port = port

    def start(self) -> None:
        self._controller.start()
        log.info("email: receiving SMTP on %s:%d", self.host, self.port)

    def stop(self) -> None:
        self._controller.stop()
