"""Outgoing e-mail: a small port with an SMTP implementation and a folder of .eml files.

`send` blocks (network or disk): call it from a worker thread, never on the event loop.
Without `smtp_host`, mails are written under `state_dir/mail/` so the embedded demo
works offline and its login codes can be read there (`hablo mail last`).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from hablo.config import Settings

log = logging.getLogger(__name__)
SMTP_TIMEOUT_S = 15.0


class MailError(Exception):
    """The mail could not be handed over (server down, refused, auth failed).

    `temporary`: worth trying again later (a 4xx reply, a dropped or refused connection);
    a 5xx reply or failed authentication will not get better by itself."""

    def __init__(self, message: str, *, temporary: bool = True) -> None:
        super().__init__(message)
        self.temporary = temporary


def compose(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="hablo.local")
    message.set_content(body)
    return message


class Mailer(ABC):
    def __init__(self, sender: str) -> None:
        self.sender = sender

    def send(self, to: str, subject: str, body: str) -> None:
        """Deliver one plain-text mail; raises MailError when it cannot."""
        self.deliver(compose(self.sender, to, subject, body))
        # Who and what, never the body: it carries codes and links.
        log.info("mail sent to %s: %s", to, subject)

    @abstractmethod
    def deliver(self, message: EmailMessage) -> None: ...


class SmtpMailer(Mailer):
    def __init__(
        self,
        sender: str,
        host: str,
        port: int,
        *,
        security: str = "starttls",
        user: str | None = None,
        password: str | None = None,
        timeout_s: float = SMTP_TIMEOUT_S,
    ) -> None:
        super().__init__(sender)
        self.host = host
        self.port = port
        self.security = security
        self.user = user
        self._password = password
        self.timeout_s = timeout_s

    def deliver(self, message: EmailMessage) -> None:
        try:
            with self._connect() as smtp:
                if self.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self._password or "")
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            # The server's reply code and text, never our credentials.
            code, reply = _reply_of(exc)
            described = f"SMTP {self.host}:{self.port}: {type(exc).__name__}"
            if code:
                described += f" {code} {reply}"[:200]
            temporary = not isinstance(exc, smtplib.SMTPAuthenticationError) and (
                code is None or code < 500
            )
            raise MailError(described, temporary=temporary) from exc

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(
                self.host,
                self.port,
                timeout=self.timeout_s,
                context=ssl.create_default_context(),
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)


def _reply_of(exc: BaseException) -> tuple[int | None, str]:
    """The SMTP reply behind an smtplib error (for refused recipients: the worst one)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        code, reply = max(exc.recipients.values(), key=lambda answer: answer[0])
        return int(code), _text(reply)
    if isinstance(exc, smtplib.SMTPResponseException):
        return int(exc.smtp_code), _text(exc.smtp_error)
    return None, ""


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class FileMailer(Mailer):
    """Writes each mail as `<UTC time>-<id>.eml` into a folder (readable by its owner only)."""

    def __init__(self, sender: str, folder: Path) -> None:
        super().__init__(sender)
        self.folder = folder

    def deliver(self, message: EmailMessage) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            path = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            path.touch(mode=0o600)
            path.write_bytes(bytes(message))
        except OSError as exc:
            raise MailError(f"cannot write mail into {self.folder}: {exc.strerror}") from exc

    def newest(self) -> Path | None:
        mails = sorted(self.folder.glob("*.eml")) if self.folder.is_dir() else []
        return mails[-1] if mails else None


def mail_folder(settings: Settings) -> Path:
    return settings.state_dir / "mail"


def build_mailer(settings: Settings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(
            settings.mail_from,
            settings.smtp_host,
            settings.smtp_port,
            security=settings.smtp_security,
            user=settings.smtp_user,
            password=settings.smtp_password,
        )
    return FileMailer(settings.mail_from, mail_folder(settings))
