"""Signed HTTP calls to a remote skill, safe against SSRF and DNS rebinding.

The host is resolved and checked once per call (`AddressCheck`: public addresses only,
unless the platform allows private ones), and the connection goes to the checked
address itself, with the host name kept for the Host header, TLS SNI and the
certificate check: a name that resolves to something else a moment later is never
dialled. Only a failure to connect is retried (nothing was sent); once the request may
have reached the skill it is not repeated. Answers are read up to MAX_BODY bytes.
"""

from __future__ import annotations

import http.client
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hablo.plugins.remote_protocol import MAX_BODY, signed_headers
from hablo.web.json_body import InvalidJson, loads

# host, port -> the addresses that host may be reached at (raises ValueError if unsafe).
AddressCheck = Callable[[str, int], Sequence[str]]
CONNECT_ATTEMPTS = 2


class RemoteCallError(Exception):
    """The remote skill could not be reached or answered badly (never retried after
    the request was sent)."""


class UnsafeRemote(RemoteCallError):
    """The URL is not allowed (scheme, or an address inside our network)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # the URL's path without a trailing slash


def parse_target(url: str, *, allow_http: bool) -> Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeRemote("not a valid URL") from exc
    if parts.scheme != "https" and not (allow_http and parts.scheme == "http"):
        raise UnsafeRemote("a remote skill's URL must be https")
    if not parts.hostname or parts.username or parts.password or parts.query or parts.fragment:
        raise UnsafeRemote("the URL must be https://host[:port][/path], nothing more")
    default = 443 if parts.scheme == "https" else 80
    return Target(parts.scheme, parts.hostname, port or default, parts.path.rstrip("/"))


class _PinnedHTTPS(http.client.HTTPSConnection):
    """TLS to a checked address, verified against the URL's host name."""

    def __init__(self, address: str, port: int, hostname: str, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(address, port, timeout=timeout, context=self._tls)
        self._hostname = hostname

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._tls.wrap_socket(self.sock, server_hostname=self._hostname)


def call(
    url: str,
    method: str,
    endpoint: str,
    secret: str,
    *,
    body: bytes = b"",
    timeout_s: float,
    check: AddressCheck,
    allow_http: bool,
) -> tuple[int, Any]:
    """(status, JSON answer) of a signed request to `<url>/<endpoint>`, within timeout_s."""
    target = parse_target(url, allow_http=allow_http)
    try:
        addresses = list(check(target.host, target.port))
    except ValueError as exc:
        raise UnsafeRemote(str(exc)) from exc
    deadline = time.monotonic() + timeout_s
    conn = _connect(target, addresses, deadline)
    try:
        headers = {**signed_headers(secret, body), "Host": _host_header(target)}
        conn.request(method, f"{target.path}/{endpoint}", body=body or None, headers=headers)
        conn.sock.settimeout(max(0.05, deadline - time.monotonic()))
        response = conn.getresponse()
        raw = response.read(MAX_BODY + 1)
    except (OSError, http.client.HTTPException) as exc:
        raise RemoteCallError(f"{type(exc).__name__} after the request was sent") from exc
    finally:
        conn.close()
    if len(raw) > MAX_BODY:
        raise RemoteCallError(f"the answer is larger than {MAX_BODY} bytes")
    try:
        return response.status, loads(raw)
    except InvalidJson as exc:
        raise RemoteCallError(f"HTTP {response.status}: the answer is not JSON") from exc


def _connect(target: Target, addresses: list[str], deadline: float) -> http.client.HTTPConnection:
    """A connection to the first checked address that takes one, tried CONNECT_ATTEMPTS
    times (safe: nothing was sent yet)."""
    last: Exception | None = None
    for _attempt in range(CONNECT_ATTEMPTS):
        for address in addresses:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RemoteCallError("timed out connecting") from last
            conn: http.client.HTTPConnection
            if target.scheme == "https":
                conn = _PinnedHTTPS(address, target.port, target.host, left)
            else:
                conn = http.client.HTTPConnection(address, target.port, timeout=left)
            try:
                conn.connect()
                return conn
            except OSError as exc:  # refused, unreachable, TLS failure, timeout
                conn.close()
                last = exc
    raise RemoteCallError(f"cannot connect: {type(last).__name__}") from last


def _host_header(target: Target) -> str:
    default = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == default else f"{host}:{target.port}"
