"""Replies by e-mail, threaded under the customer's mail.

The reply answers the newest mail of the turn (the envelope's inbox ids; for an agent's
message, the customer's newest mail): `In-Reply-To` is its Message-ID, `References` its
References plus it, the subject its subject with "Re:". Mail clients then show the answer
in the same thread, and the customer's next reply comes back to the same conversation.

The reply's own Message-ID is derived from the outbox row, so a send repeated after a crash
carries the same id and the customer's client shows it once.

Account convention: address = the mailbox; config `smtp_host`, `smtp_port` (587),
`smtp_security` (`starttls`, `ssl` or `none`), `smtp_user` (default: the address),
`timeout_s`; secret `smtp_password`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

from sqlalchemy import select

from hablo.adapters.accounts import AccountDirectory, OpenAccount
from hablo.adapters.base import ChannelSender, PermanentSendError, SendReceipt, TransientSendError
from hablo.adapters.email.inbound import CHANNEL
from hablo.adapters.email.quotes import reply_subject
from hablo.db.base import utcnow
from hablo.db.database import Database
from hablo.db.models import InboxEvent
from hablo.engine.messages import OutboundEnvelope
from hablo.notify.mailer import MailError, SmtpMailer

# envelope -> the thread headers of the mail it answers (see ParsedMail.thread), or None.
ThreadLookup = Callable[[OutboundEnvelope], dict[str, Any] | None]


def thread_from_inbox(db: Database) -> ThreadLookup:
    def lookup(envelope: OutboundEnvelope) -> dict[str, Any] | None:
        query = select(InboxEvent.payload).where(
            InboxEvent.tenant_id == envelope.tenant_id, InboxEvent.channel == CHANNEL
        )
        if envelope.inbox_ids:
            query = query.where(InboxEvent.id.in_(envelope.inbox_ids))
        else:
            query = query.where(InboxEvent.peer == envelope.peer)
        with db.transaction() as session:
            payload = session.scalars(query.order_by(InboxEvent.id.desc()).limit(1)).first()
        thread = (payload or {}).get("email")
        return thread if isinstance(thread, dict) else None

    return lookup


class EmailSender(ChannelSender):
    """Runs on the outbox thread (blocking SMTP is fine there)."""

    channel = CHANNEL

    def __init__(self, accounts: AccountDirectory, thread_of: ThreadLookup) -> None:
        self._accounts = accounts
        self._thread_of = thread_of

    def send(self, envelope: OutboundEnvelope) -> SendReceipt:
        account = self._accounts.for_tenant(envelope.tenant_id, CHANNEL)
        if account is None:
            raise PermanentSendError("no enabled email account for this business")
        if not account.config.get("smtp_host"):
            raise PermanentSendError("the email account has no smtp_host to send from")
        message = compose_reply(account, envelope, self._thread_of(envelope))
        try:
            _mailer(account).deliver(message)
        except MailError as exc:
            if exc.temporary:
                raise TransientSendError(str(exc)) from None
            raise PermanentSendError(str(exc)) from None
        return SendReceipt(provider_message_id=str(message["Message-ID"]))


def compose_reply(
    account: OpenAccount, envelope: OutboundEnvelope, thread: dict[str, Any] | None
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((str(account.config.get("from_name") or ""), account.address))
    message["To"] = envelope.peer
    subject = str(thread.get("subject") or "") if thread else ""
    message["Subject"] = (
        reply_subject(subject) if thread else str(account.config.get("subject") or "Re:")
    )
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = reply_id(account, envelope)
    if thread and thread.get("message_id"):
        message["In-Reply-To"] = str(thread["message_id"])
        references = [str(r) for r in thread.get("references") or [thread["message_id"]]]
        message["References"] = " ".join(references)
    # RFC 3834: vacation responders do not answer this, so two bots cannot loop.
    message["Auto-Submitted"] = "auto-replied"
    message.set_content(envelope.plain_text())
    return message


def reply_id(account: OpenAccount, envelope: OutboundEnvelope) -> str:
    domain = account.address.rsplit("@", 1)[-1] or "hablo.invalid"
    stable = uuid.uuid5(uuid.NAMESPACE_URL, f"hablo:{envelope.tenant_id}:{envelope.outbox_id}")
    return f"<{stable.hex}@{domain}>"


def _mailer(account: OpenAccount) -> SmtpMailer:
    config = account.config
    security = str(config.get("smtp_security") or "starttls")
    password = account.secrets.get("smtp_password")
    default_port = 465 if security == "ssl" else 587
    return SmtpMailer(
        account.address,
        str(config["smtp_host"]),
        int(config.get("smtp_port") or default_port),
        security=security,
        # No password: a relay that trusts our address (AUTH is not even offered).
        user=str(config.get("smtp_user") or account.address) if password else None,
        password=password,
        timeout_s=float(config.get("timeout_s") or 15),
    )
