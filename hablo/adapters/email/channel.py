"""Wires the e-mail channel into a running hablo: the sender, the SMTP receiver and the
IMAP poller. Blocking start/stop: call them from a worker thread."""

from __future__ import annotations

from hablo.adapters.email.imap_poller import ImapPoller
from hablo.adapters.email.receiver import EmailReceiver
from hablo.adapters.email.sender import EmailSender, thread_from_inbox
from hablo.adapters.host import ChannelHost


class EmailChannel:
    def __init__(self, runtime: ChannelHost) -> None:
        settings = runtime.settings
        engine = runtime.engine
        self.sender = EmailSender(runtime.accounts, thread_from_inbox(engine.db))
        self.receiver = EmailReceiver(
            runtime.accounts,
            engine.submit,
            host=settings.email_smtp_host,
            port=settings.email_smtp_port,
            max_bytes=settings.email_max_bytes,
        )
        self.poller = ImapPoller(runtime.accounts, engine.submit, settings.email_imap_poll_s)
        engine.add_sender(self.sender)

    def start(self) -> None:
        self.receiver.start()
        self.poller.start()

    def stop(self) -> None:
        self.poller.stop()
        self.receiver.stop()
