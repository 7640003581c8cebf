"""The SSRF check for addresses a tenant may set: resolved, then every address public."""

from __future__ import annotations

import pytest

from hablo.security.urls import UnsafeAddress, check_host, check_url

NAMES = {
    "cdn.example.com": ["93.184.215.14"],
    "inside.example.com": ["10.1.2.3"],
    "mixed.example.com": ["93.184.215.14", "127.0.0.1"],  # one bad answer is enough
    "mapped.example.com": ["::ffff:127.0.0.1"],
    "v6.example.com": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
}


def fake_dns(host: str, port: int) -> list[str]:
    if host in NAMES:
        return NAMES[host]
    if host.replace(".", "").isdigit() or ":" in host:
        return [host]  # a literal address resolves to itself
    raise OSError("Name or service not known")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/admin",
        "http://10.0.0.1/x",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
        "http://192.168.1.1/",
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://0.0.0.0/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://inside.example.com/a.png",
        "http://mixed.example.com/a.png",
        "http://mapped.example.com/a.png",
        "http://[64:ff9b::a00:1]/",  # NAT64 to 10.0.0.1
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",  # NAT64 to 169.254.169.254
        "http://[64:ff9b:1::a00:1]/",  # local-use NAT64: an operator's own gateway
        "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
        "http://[2002:a9fe:a9fe::1]/",  # 6to4 of 169.254.169.254
        "http://nowhere.example.com/a.png",
        "ftp://cdn.example.com/a.png",
        "file:///etc/passwd",
        "http:///no-host",
        "http://cdn.example.com:99999/",
    ],
)
def test_private_loopback_link_local_and_malformed_are_refused(url: str) -> None:
    with pytest.raises(UnsafeAddress):
        check_url(url, resolver=fake_dns)


def test_public_addresses_pass_and_the_platform_may_allow_private_ones() -> None:
    assert check_url("https://cdn.example.com/a.png", resolver=fake_dns)
    assert check_url("https://v6.example.com/a.png", resolver=fake_dns)
    # Through NAT64 or 6to4 to a public IPv4 address: as public as that address.
    assert check_url("https://[64:ff9b::808:808]/a.png", resolver=fake_dns)
    assert check_url("https://[2002:808:808::1]/a.png", resolver=fake_dns)
    assert check_url("http://127.0.0.1:8080/x", allow_private=True, resolver=fake_dns)
    with pytest.raises(UnsafeAddress, match="http"):
        check_url("gopher://127.0.0.1/", allow_private=True, resolver=fake_dns)


def test_hosts_are_checked_like_urls_with_the_real_resolver() -> None:
    with pytest.raises(UnsafeAddress, match="private, loopback or link-local"):
        check_host("127.0.0.1", 993)
    check_host("127.0.0.1", 993, allow_private=True)
