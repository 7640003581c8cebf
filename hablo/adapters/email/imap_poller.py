"""IMAP polling for mailboxes hablo cannot receive SMTP for (a Gmail or Microsoft 365
mailbox, a hosting provider's): every few seconds each enabled e-mail account with an
`imap_host` is asked for its unseen mail.

A mail is marked \\Seen only after it is in the inbox. A crash in between fetches it again
next time, and its Message-ID makes that a duplicate: processed once. It runs on its own
thread so that a slow IMAP server delays nothing else.

Account convention: config `imap_host`, `imap_port` (993), `imap_security` (`ssl`,
`starttls` or `none`), `imap_user` (default: the address), `imap_folder` (`INBOX`);
secret `imap_password`.
"""

from __future__ import annotations

import imaplib
import logging
import ssl
import threading
from collections.abc import Callable
from typing import Any

from hablo.adapters.accounts import AccountDirectory, OpenAccount
from hablo.adapters.email.inbound import CHANNEL, inbound_message
from hablo.adapters.email.parse import MailRejected, parse_mail
from hablo.db.base import utcnow
from hablo.engine.messages import InboundMessage

log = logging.getLogger(__name__)
BATCH = 50  # mails fetched per mailbox and poll: a full mailbox is worked off in rounds


class ImapPoller:
    def __init__(
        self,
        accounts: AccountDirectory,
        submit: Callable[[InboundMessage], Any],
        interval_s: float,
        *,
        timeout_s: float = 15.0,
    ) -> None:
        self._accounts = accounts
        self._submit = submit
        self._interval = interval_s
        self._timeout = timeout_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hablo-imap", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self._timeout + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            self._stop.wait(self._interval)

    def poll_once(self) -> int:
        """Fetch every polled mailbox once; returns how many mails were handed over."""
        try:
            accounts = [a for a in self._accounts.enabled(CHANNEL) if a.config.get("imap_host")]
        except Exception:
            log.exception("email: listing the IMAP mailboxes failed")
            return 0
        handed = 0
        for account in accounts:
            if self._stop.is_set():
                break
            try:
                handed += self.poll_account(account)
            except (imaplib.IMAP4.error, OSError) as exc:
                # The server's words or the socket error; never the password.
                log.warning("email: IMAP poll of %s failed: %s", account.address, exc)
        return handed

    def poll_account(self, account: OpenAccount) -> int:
        config = account.config
        user = str(config.get("imap_user") or account.address)
        folder = str(config.get("imap_folder") or "INBOX")
        handed = 0
        with self._connect(account) as imap:
            imap.login(user, account.secrets.get("imap_password", ""))
            status, _ = imap.select(_quoted(folder))
            if status != "OK":
                raise imaplib.IMAP4.error(f"cannot open folder {folder!r}")
            status, found = imap.uid("SEARCH", "UNSEEN")
            listed = found[0].split() if status == "OK" and found and found[0] else []
            uids = [uid.decode("ascii") for uid in listed[:BATCH]]
            for uid in uids:
                raw = _fetch(imap, uid)
                if raw is not None:
                    handed += self._hand_over(account, raw)
                # Only now: a crash before this line fetches the mail again (a duplicate).
                imap.uid("STORE", uid, "+FLAGS", "(\\Seen)")
        return handed

    def _hand_over(self, account: OpenAccount, raw: bytes) -> int:
        try:
            mail = parse_mail(raw)
        except MailRejected as exc:
            log.info("email: not answered: %s", exc)
            return 0
        message = inbound_message(account, mail, utcnow())
        if message is None:
            return 0
        self._submit(message)
        return 1

    def _connect(self, account: OpenAccount) -> imaplib.IMAP4:
        config = account.config
        host = str(config["imap_host"])
        security = str(config.get("imap_security") or "ssl")
        if security == "ssl":
            port = int(config.get("imap_port") or 993)
            return imaplib.IMAP4_SSL(
                host, port, ssl_context=ssl.create_default_context(), timeout=self._timeout
            )
        port = int(config.get("imap_port") or 143)
        imap = imaplib.IMAP4(host, port, timeout=self._timeout)
        if security == "starttls":
            imap.starttls(ssl_context=ssl.create_default_context())
        return imap


def _fetch(imap: imaplib.IMAP4, uid: str) -> bytes | None:
    # BODY.PEEK leaves \Seen alone: it is set once the mail is safely stored.
    status, parts = imap.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        return None
    for part in parts:
        if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes):
            return part[1]
    return None


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
