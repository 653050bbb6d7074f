"""Webhook targets, pure: which resolved addresses are refused, and the request that
connects to an address already checked while still naming the URL's host.

Connecting to the checked address (instead of letting the HTTP client resolve the host a
second time) is what defeats DNS rebinding: a hostile name server cannot answer a public
address to the check and a private one to the connection. The host keeps its role in the
`Host` header and in TLS (SNI and the certificate's name), so the receiver sees the same
request as if the URL had been called directly.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_PORTS = {"http": 80, "https": 443}


def refused_address(address: IPAddress) -> bool:
    """Private, loopback, link-local, multicast, reserved or unspecified (an IPv4 address
    mapped into IPv6 is judged as the IPv4 address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def addresses_of(answers: Iterable[str]) -> tuple[IPAddress, ...]:
    """The distinct addresses of a resolver's answers, in its order (which already follows
    the system's preference); an IPv6 zone (`%eth0`) is dropped."""
    seen: dict[IPAddress, None] = {}
    for answer in answers:
        seen.setdefault(ipaddress.ip_address(answer.split("%")[0]), None)
    return tuple(seen)


def _ascii_host(host: str) -> str:
    # The same (IDNA 2003) encoding the system resolver applied to the name it resolved.
    return host if host.isascii() else host.encode("idna").decode("ascii")


def _bracketed(host: str) -> str:
    """An IPv6 literal in a URL or Host header needs brackets."""
    return f"[{host}]" if ":" in host else host


@dataclass(frozen=True)
class Pinned:
    url: str  # the URL with its host replaced by the checked address
    host_header: str  # the URL's host, with its port when not the scheme's default
    sni_hostname: str  # the name TLS sends and checks the certificate against


def pin(url: str, address: IPAddress) -> Pinned:
    """The request for a well-formed http(s) `url` that connects to `address`."""
    parts = urlsplit(url)
    host = _ascii_host(parts.hostname or "")
    default = DEFAULT_PORTS[parts.scheme]
    port = parts.port or default
    host_header = _bracketed(host) if port == default else f"{_bracketed(host)}:{port}"
    netloc = f"{_bracketed(str(address))}:{port}"
    return Pinned(
        url=urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
        host_header=host_header,
        sni_hostname=host,
    )
