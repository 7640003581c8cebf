"""Signed HTTP calls to a remote skill, safe against SSRF, DNS rebinding and slow servers.

The connection itself is `hablo.web.pinned_http`'s: the host is resolved and checked once
per call, the checked address is dialled (Host, SNI and certificate keep the name), no
redirect is followed, and one deadline covers DNS, connect, send and the whole answer.
Only a failure to connect is retried (nothing was sent); once the request may have
reached the skill it is not repeated. Answers are read up to MAX_BODY bytes.
"""

from __future__ import annotations

import time
from typing import Any

from hablo.plugins.remote_protocol import MAX_BODY, signed_headers
from hablo.web import pinned_http
from hablo.web.json_body import InvalidJson, loads
from hablo.web.pinned_http import AddressCheck, Target

__all__ = ["AddressCheck", "RemoteCallError", "Target", "UnsafeRemote", "call", "parse_target"]


SHAPE = "the URL must be https://host[:port][/path], nothing more"


class RemoteCallError(Exception):
    """The remote skill could not be reached, answered badly or too late (never retried
    after the request was sent)."""


class UnsafeRemote(RemoteCallError):
    """The URL is not allowed (scheme, or an address inside our network)."""


def parse_target(url: str, *, allow_http: bool) -> Target:
    """A skill's base URL: https://host[:port][/path], no query, no fragment."""
    try:
        target = pinned_http.parse(url, allow_http=allow_http)
    except pinned_http.UnsafeTarget as exc:
        scheme = url.split(":", 1)[0].lower()
        if scheme != "https" and not (allow_http and scheme == "http"):
            raise UnsafeRemote("a remote skill's URL must be https") from exc
        raise UnsafeRemote(SHAPE) from exc
    if "?" in target.path or "#" in url:
        raise UnsafeRemote(SHAPE)
    return Target(target.scheme, target.host, target.port, target.path.rstrip("/"))


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
    """(status, JSON answer) of a signed request to `<url>/<endpoint>`, all of it (DNS
    included) within timeout_s."""
    deadline = time.monotonic() + timeout_s
    target = parse_target(url, allow_http=allow_http)
    try:
        answer = pinned_http.request(
            target,
            method,
            f"{target.path}/{endpoint}",
            check=check,
            deadline=deadline,
            max_body=MAX_BODY,
            headers=signed_headers(secret, body),
            body=body,
        )
    except pinned_http.UnsafeTarget as exc:
        raise UnsafeRemote(str(exc)) from None
    except pinned_http.FetchError as exc:
        raise RemoteCallError(str(exc)) from None
    try:
        return answer.status, loads(answer.body)
    except InvalidJson as exc:
        raise RemoteCallError(f"HTTP {answer.status}: the answer is not JSON") from exc
