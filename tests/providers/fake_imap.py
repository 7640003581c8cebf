"""A small IMAP4rev1 server on 127.0.0.1: one mailbox, the commands a poller needs
(CAPABILITY, LOGIN, SELECT, UID SEARCH UNSEEN, UID FETCH BODY.PEEK[], UID STORE +FLAGS,
NOOP, LOGOUT), spoken over a real socket to the stdlib imaplib client. It records logins
and which messages were flagged \\Seen."""

from __future__ import annotations

import re
import shlex
import socketserver
import threading
from dataclasses import dataclass, field


@dataclass
class StoredMail:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)


class FakeImap:
    def __init__(self, user: str, password: str) -> None:
        self.user = user
        self.password = password
        self.mails: list[StoredMail] = []
        self.logins: list[tuple[str, str]] = []
        self.fail_logins = False
        self._lock = threading.Lock()
        self._next_uid = 100
        self._server: socketserver.ThreadingTCPServer | None = None

    def deliver(self, raw: bytes) -> int:
        with self._lock:
            self._next_uid += 1
            self.mails.append(StoredMail(self._next_uid, raw))
            return self._next_uid

    def seen(self) -> list[int]:
        with self._lock:
            return [m.uid for m in self.mails if "\\Seen" in m.flags]

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def start(self) -> FakeImap:
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                fake._session(self)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- the protocol ---------------------------------------------------------------------

    def _session(self, conn: socketserver.StreamRequestHandler) -> None:
        def send(line: str) -> None:
            conn.wfile.write(line.encode() + b"\r\n")

        send("* OK [CAPABILITY IMAP4rev1] fake imap ready")
        logged_in = False
        selected = False
        while True:
            line = conn.rfile.readline()
            if not line:
                return
            tag, _, rest = line.decode().rstrip("\r\n").partition(" ")
            words = shlex.split(rest.replace("\\", "\\\\")) if rest else []
            command = words[0].upper() if words else ""
            if command == "CAPABILITY":
                send("* CAPABILITY IMAP4rev1")
                send(f"{tag} OK CAPABILITY completed")
            elif command == "LOGIN":
                self.logins.append((words[1], words[2]))
                if not self.fail_logins and words[1:3] == [self.user, self.password]:
                    logged_in = True
                    send(f"{tag} OK LOGIN completed")
                else:
                    send(f"{tag} NO [AUTHENTICATIONFAILED] invalid credentials")
            elif command == "SELECT" and logged_in:
                selected = True
                with self._lock:
                    send(f"* {len(self.mails)} EXISTS")
                send(f"{tag} OK [READ-WRITE] SELECT completed")
            elif command == "UID" and selected:
                self._uid(tag, words[1:], send, conn)
            elif command == "NOOP":
                send(f"{tag} OK NOOP completed")
            elif command == "LOGOUT":
                send("* BYE logging out")
                send(f"{tag} OK LOGOUT completed")
                return
            else:
                send(f"{tag} BAD unknown or out-of-state command")

    def _uid(self, tag: str, words: list[str], send: object, conn: object) -> None:
        assert callable(send)
        sub = words[0].upper()
        if sub == "SEARCH":
            with self._lock:
                unseen = [str(m.uid) for m in self.mails if "\\Seen" not in m.flags]
            send("* SEARCH " + " ".join(unseen) if unseen else "* SEARCH")
            send(f"{tag} OK SEARCH completed")
        elif sub == "FETCH":
            uid = int(words[1])
            with self._lock:
                found = next((i, m) for i, m in enumerate(self.mails) if m.uid == uid)
            index, mail = found
            head = f"* {index + 1} FETCH (UID {uid} BODY[] {{{len(mail.raw)}}}\r\n".encode()
            wfile = conn.wfile  # type: ignore[attr-defined]
            wfile.write(head + mail.raw + b")\r\n")
            send(f"{tag} OK FETCH completed")
        elif sub == "STORE":
            uid = int(words[1])
            flags = re.findall(r"\\\w+", " ".join(words[3:]))
            with self._lock:
                for mail in self.mails:
                    if mail.uid == uid:
                        mail.flags.update(flags)
            send(f"{tag} OK STORE completed")
        else:
            send(f"{tag} BAD unknown UID command")
