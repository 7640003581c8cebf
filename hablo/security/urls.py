"""Addresses a tenant may set (media links, mail servers, webhooks) must not point into our
own network (SSRF): the host is resolved and every address it resolves to must be public.

Provider base URLs are platform settings, never tenant settings, so they are not checked
here. `allow_private` (the `allow_private_urls` setting) lifts the check for development
and tests, where the fakes listen on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

Resolver = Callable[[str, int], list[str]]
MAX_URL = 2000


class UnsafeAddress(ValueError):
    """The URL or host is malformed or reaches a private, loopback or link-local address."""


def resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


# IPv6 prefixes that carry an IPv4 address a gateway forwards to: judged by that address.
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")  # the last 32 bits (RFC 6052)
# Local-use NAT64 (RFC 8215): where the IPv4 sits depends on the operator's prefix
# length, and its gateway is inside someone's network: refused outright.
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")


def is_public(address: str) -> bool:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in NAT64_LOCAL_USE:
            return False
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            ip = embedded  # ::ffff:127.0.0.1, 64:ff9b::a9fe:a9fe, 2002:7f00:1:: are inside
    # is_global excludes private, loopback, link-local (169.254/16: cloud metadata),
    # shared (100.64/10), reserved and unspecified addresses.
    return ip.is_global and not ip.is_multicast


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped, NAT64 (well-known prefix) or 6to4 address leads to."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def check_host(
    host: str, port: int, *, allow_private: bool = False, resolver: Resolver = resolve
) -> None:
    """Raise UnsafeAddress unless every address `host` resolves to is public."""
    host = host.strip().strip("[]")
    if not host:
        raise UnsafeAddress("the address has no host name")
    if allow_private:
        return
    checked_addresses(host, port, allow_private=False, resolver=resolver)


def checked_addresses(
    host: str, port: int, *, allow_private: bool = False, resolver: Resolver = resolve
) -> list[str]:
    """The addresses `host` resolves to, all public (unless allow_private): connect to
    one of these, not to the name again, and a DNS answer that changes in between (DNS
    rebinding) cannot lead the connection inside."""
    host = host.strip().strip("[]")
    if not host:
        raise UnsafeAddress("the address has no host name")
    try:
        addresses = resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise UnsafeAddress(f"{host} does not resolve") from exc
    if not addresses:
        raise UnsafeAddress(f"{host} does not resolve")
    if not allow_private and not all(is_public(a) for a in addresses):
        raise UnsafeAddress(f"{host} is a private, loopback or link-local address")
    return addresses


def check_url(url: str, *, allow_private: bool = False, resolver: Resolver = resolve) -> str:
    """The URL unchanged if it is http(s) and its host is public; UnsafeAddress otherwise."""
    if len(url) > MAX_URL:
        raise UnsafeAddress(f"the URL is longer than {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeAddress("not a valid URL") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeAddress("must be an http(s) URL")
    if not parts.hostname:
        raise UnsafeAddress("the URL has no host name")
    default = 443 if parts.scheme == "https" else 80
    check_host(parts.hostname, port or default, allow_private=allow_private, resolver=resolver)
    return url
