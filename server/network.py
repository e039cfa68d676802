"""Network-level admission: which client address a request comes from, and which Host names we answer.

`client_address` trusts X-Forwarded-For only when the TCP peer is a trusted proxy,
and then takes the right-most address that is not itself a trusted proxy: entries
to the left of it were written by the client and can be forged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALWAYS_ALLOWED_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def parse_address(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


# IPv6 ranges that carry an IPv4 address in their last 32 bits; a packet to one may reach that IPv4 address
# (NAT64 is routed in AWS IPv6 subnets with DNS64), so the IPv4 inside is judged too.
_IPV4_IN_LAST_32_BITS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "64:ff9b::/96",  # NAT64 well-known prefix (RFC 6052)
        "::ffff:0:0:0/96",  # IPv4-translated ::ffff:0:a.b.c.d (RFC 2765)
        "::/96",  # IPv4-compatible ::a.b.c.d (RFC 4291, deprecated)
    )
)
# RFC 8215's local-use NAT64 prefix: operators carve translation prefixes of any length out of it, so where the
# IPv4 address sits is not knowable. Never public (Python 3.11's is_global still says it is).
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")


def embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 address carries: IPv4-mapped, -translated, -compatible, NAT64, 6to4, Teredo."""
    if address.version == 4:
        return []
    found = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if any(address in network for network in _IPV4_IN_LAST_32_BITS):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [v4 for v4 in found if v4 is not None]


def is_public(address: IPAddress) -> bool:
    """An address the server may fetch from on a user's behalf: globally routed, not multicast, and every IPv4
    address embedded in it (see embedded_ipv4) public too."""
    if address.is_multicast or not address.is_global or (address.version == 6 and address in _LOCAL_NAT64):
        return False
    return all(is_public(inner) for inner in embedded_ipv4(address))


def _within(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(address in network for network in networks)


def client_address(
    peer: str | None, forwarded_for: str | None, trusted_proxies: tuple[IPNetwork, ...]
) -> IPAddress | None:
    """The address the request really comes from, or None when it cannot be told (fail closed)."""
    address = parse_address(peer) if peer else None
    if address is None or not forwarded_for or not _within(address, trusted_proxies):
        return address
    for hop in reversed(forwarded_for.split(",")):
        address = parse_address(hop)
        if address is None:
            return None  # a garbled hop: refuse rather than guess
        if not _within(address, trusted_proxies):
            return address
    return address  # every hop is a trusted proxy: the left-most one is the origin


def address_allowed(address: IPAddress | None, allowed: tuple[IPNetwork, ...]) -> bool:
    if not allowed:
        return True
    return address is not None and _within(address, allowed)


class HostPolicy:
    """Host-header check against DNS rebinding: exact names, `*.suffix` patterns, or `*` for any."""

    def __init__(self, patterns: Iterable[str]):
        patterns = [p.lower() for p in patterns]
        self.allow_any = "*" in patterns
        self._exact = ALWAYS_ALLOWED_HOSTS | {p for p in patterns if not p.startswith("*")}
        self._suffixes = tuple(p[1:] for p in patterns if p.startswith("*."))

    def allows(self, host_header: str | None) -> bool:
        if self.allow_any:
            return True
        if not host_header:
            return False
        host = _strip_port(host_header.strip().lower()).rstrip(".")
        return host in self._exact or (bool(self._suffixes) and host.endswith(self._suffixes))

    def allows_origin(self, origin: str | None) -> bool:
        """Browsers send Origin (scheme://host[:port], no path); when present it must name an allowed host too."""
        if origin is None or self.allow_any:
            return True
        scheme, sep, rest = origin.partition("://")
        return bool(sep) and scheme in ("http", "https") and "/" not in rest and self.allows(rest)


def _strip_port(host: str) -> str:
    if host.startswith("["):  # [::1]:8080
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        return host.partition(":")[0]
    return host
