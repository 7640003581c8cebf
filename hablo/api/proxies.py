"""Behind a reverse proxy (nginx, a load balancer) every request comes from the proxy's
address: per-IP rate limits would be shared by everyone, the audit log would name the
proxy, and HSTS would never be sent (the proxy speaks plain HTTP to us). For requests
from `trusted_proxies` only, the client's address and scheme are taken from
X-Forwarded-For / X-Forwarded-Proto; anyone else's forwarded headers are ignored, so a
client cannot pick its own address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def parse_networks(values: list[str]) -> list[Network]:
    """ "10.0.0.0/8", "127.0.0.1", "::1" -> networks; raises ValueError naming a bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"not an IP address or network: {value!r}") from exc
    return networks


def _trusted(address: str | None, networks: list[Network]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(remote: str, forwarded_for: str, networks: list[Network]) -> str:
    """The first address, from our side, that is not a trusted proxy (proxies append the
    address they saw, so the left part of the header is the client's word, not theirs)."""
    if not _trusted(remote, networks):
        return remote
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote  # garbage in the header: keep what we know
    return hops[0] if hops else remote


def forwarded_middleware(trusted: list[str]) -> Callable[..., Awaitable[web.StreamResponse]]:
    networks = parse_networks(trusted)

    @web.middleware
    async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not networks or not _trusted(request.remote, networks):
            return await handler(request)
        remote = client_address(
            request.remote or "", request.headers.get("X-Forwarded-For", ""), networks
        )
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        scheme = proto if proto in ("http", "https") else request.scheme
        return await handler(request.clone(remote=remote, scheme=scheme))

    return forwarded
