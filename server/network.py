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
        """Browsers send Origin; when present it must name an allowed host too."""
        if origin is None or self.allow_any:
            return True
        scheme, sep, rest = origin.partition("://")
        return bool(sep) and scheme in ("http", "https") and self.allows(rest)


def _strip_port(host: str) -> str:
    if host.startswith("["):  # [::1]:8080
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        return host.partition(":")[0]
    return host
