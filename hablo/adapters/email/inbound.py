"""A parsed mail to one of the tenant's mailboxes becomes an inbound message.

Shared by the SMTP receiver and the IMAP poller: both find the account by the mailbox
address and hand the engine the same message, so a mail that arrives both ways (or twice
either way) is stored once — its Message-ID is the inbox's idempotency key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hablo.adapters.accounts import OpenAccount
from hablo.adapters.email.parse import ParsedMail
from hablo.engine.messages import InboundMessage

CHANNEL = "email"


def inbound_message(
    account: OpenAccount, mail: ParsedMail, received_at: datetime
) -> InboundMessage | None:
    """None for a mail the mailbox sent itself (answering it would loop)."""
    if mail.sender == account.address.lower():
        return None
    extra: list[tuple[str, Any]] = [("email", mail.thread())]
    if mail.attachments:
        extra.append(("attachments", mail.attachments))
    return InboundMessage(
        tenant_id=account.tenant_id,
        channel=CHANNEL,
        peer=mail.sender,
        text=mail.text,
        provider_message_id=mail.message_id[:200],
        received_at=received_at,
        sender_name=mail.sender_name,
        extra=tuple(extra),
    )
