"""One HTTP(S) request to a host whose addresses were checked, safe against SSRF, DNS
rebinding and slow servers. Used by remote skills and by every media fetch hablo makes.

- The host is resolved once, by the caller's `AddressCheck` (public addresses only,
  unless the platform allows private ones), and the connection goes to a checked address
  itself; the host name is kept for the Host header, TLS SNI and the certificate check.
  A name that resolves elsewhere a moment later (rebinding) is never dialled.
- No redirects are followed and no proxy is used: a caller that follows a redirect calls
  again with the new URL, so every hop is checked.
- One monotonic deadline covers DNS, connect, TLS, send and the whole answer: a watchdog
  cuts the socket when it passes, so a server dripping a byte at a time cannot hold the
  call (a per-read timeout alone can be renewed forever).
- The answer is read up to `max_body` bytes.
Only a failure to connect is retried (nothing was sent).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urlsplit

# host, port -> the addresses that host may be reached at (raises ValueError if unsafe).
AddressCheck = Callable[[str, int], Sequence[str]]
CONNECT_ATTEMPTS = 2
SENT = "after the request was sent"


class FetchError(Exception):
    """The request failed; the message names why without echoing the server's answer."""


class UnsafeTarget(FetchError):
    """The URL is not allowed (scheme, shape, or an address inside our network)."""


class TooLarge(FetchError):
    """The answer is larger than the caller's cap."""


class DeadlinePassed(FetchError):
    """The deadline passed before the whole answer arrived."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent on the request line ("" for the root)

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    body: bytes


def parse(url: str, *, allow_http: bool) -> Target:
    """The URL's target; UnsafeTarget for anything but http(s)://host[:port]/path?query."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget("not a valid URL") from exc
    if parts.scheme != "https" and not (allow_http and parts.scheme == "http"):
        raise UnsafeTarget("the URL must be https")
    if not parts.hostname or parts.username or parts.password:
        raise UnsafeTarget("the URL must be http(s)://host[:port]/path")
    default = 443 if parts.scheme == "https" else 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port or default, path)


def request(
    target: Target,
    method: str,
    path: str,
    *,
    check: AddressCheck,
    deadline: float,
    max_body: int,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
) -> Answer:
    """Send one request to `target` (at `path`) and read its answer, all before `deadline`
    (a time.monotonic() value)."""
    addresses = _resolve(check, target, deadline)
    watchdog = _Watchdog(deadline)
    try:
        conn = _connect(target, addresses, watchdog)
        try:
            sent = {**(headers or {}), "Host": target.host_header}
            conn.request(method, path or "/", body=body or None, headers=sent)
            response = conn.getresponse()
            raw = response.read(max_body + 1)
        except (OSError, http.client.HTTPException) as exc:
            watchdog.raise_if_fired(SENT)
            raise FetchError(f"{type(exc).__name__} {SENT}") from None
        finally:
            conn.close()
    finally:
        watchdog.stop()
    watchdog.raise_if_fired(SENT)  # a cut socket can look like a short, complete answer
    if len(raw) > max_body:
        raise TooLarge(f"the answer is larger than {max_body} bytes")
    return Answer(response.status, response.headers, raw)


def _resolve(check: AddressCheck, target: Target, deadline: float) -> list[str]:
    """The checked addresses, the lookup bounded by the deadline (getaddrinfo has no
    timeout of its own: it runs on a daemon thread that is abandoned if it overruns)."""
    outcome: list[Sequence[str] | BaseException] = []

    def lookup() -> None:
        try:
            outcome.append(check(target.host, target.port))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=lookup, name="pinned-http-dns", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    if not outcome:
        raise DeadlinePassed("timed out resolving the host")
    found = outcome[0]
    if isinstance(found, ValueError):
        raise UnsafeTarget(str(found)) from None
    if isinstance(found, BaseException):
        raise FetchError(f"cannot resolve the host: {type(found).__name__}") from None
    if not found:
        raise UnsafeTarget("the host does not resolve")
    return list(found)


class _Watchdog:
    """Shuts the current socket down at the deadline, whatever it is waiting for."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._fired = False
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise DeadlinePassed("the deadline passed")
        return left

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock
            if self._fired:
                _cut(sock)

    def _fire(self) -> None:
        with self._lock:
            self._fired = True
            if self._sock is not None:
                _cut(self._sock)

    def raise_if_fired(self, when: str) -> None:
        if self._fired or time.monotonic() >= self.deadline:
            raise DeadlinePassed(f"the deadline passed {when}")

    def stop(self) -> None:
        self._timer.cancel()


def _cut(sock: socket.socket) -> None:
    # The plain socket's shutdown, also for a TLS socket: wakes a blocked recv at once
    # without touching the TLS state another thread is using.
    with contextlib.suppress(OSError):  # already closed
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _PinnedHTTP(http.client.HTTPConnection):
    """Plain HTTP to a checked address, its socket under the watchdog."""

    def __init__(self, address: str, port: int, watchdog: _Watchdog) -> None:
        super().__init__(address, port, timeout=watchdog.left())
        self._watchdog = watchdog

    def connect(self) -> None:
        super().connect()
        self._watchdog.watch(self.sock)


class _PinnedHTTPS(_PinnedHTTP):
    """TLS to a checked address, verified against the URL's host name; the handshake is
    under the watchdog too."""

    def __init__(self, address: str, port: int, hostname: str, watchdog: _Watchdog) -> None:
        super().__init__(address, port, watchdog)
        self._tls = ssl.create_default_context()
        self._hostname = hostname

    def connect(self) -> None:
        super().connect()
        tls = self._tls.wrap_socket(
            self.sock, server_hostname=self._hostname, do_handshake_on_connect=False
        )
        self.sock = tls
        self._watchdog.watch(tls)
        tls.do_handshake()


def _connect(
    target: Target, addresses: list[str], watchdog: _Watchdog
) -> http.client.HTTPConnection:
    """A connection to the first checked address that takes one, tried CONNECT_ATTEMPTS
    times (safe: nothing was sent yet)."""
    last: Exception | None = None
    for _attempt in range(CONNECT_ATTEMPTS):
        for address in addresses:
            conn: _PinnedHTTP
            if target.scheme == "https":
                conn = _PinnedHTTPS(address, target.port, target.host, watchdog)
            else:
                conn = _PinnedHTTP(address, target.port, watchdog)
            try:
                conn.connect()
                return conn
            except OSError as exc:  # refused, unreachable, TLS failure, timeout, cut
                conn.close()
                last = exc
                watchdog.raise_if_fired("while connecting")
    raise FetchError(f"cannot connect: {type(last).__name__}") from None
