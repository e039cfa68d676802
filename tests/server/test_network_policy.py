"""The client-network and Host checks in server/network.py, at the functions themselves: what an allow-list of
networks admits, and which Host headers (ports, IPv6 brackets, trailing dots, wildcards) name an allowed host.
Planted bugs the HTTP tests did not catch (mutation testing) fail here."""

from __future__ import annotations

import ipaddress

import pytest

from server.network import HostPolicy, address_allowed, parse_address

ALLOWED = (ipaddress.ip_network("203.0.113.0/24"), ipaddress.ip_network("2001:db8::/32"))


@pytest.mark.parametrize("address, admitted", [
    ("203.0.113.7", True), ("2001:db8::5", True), ("::ffff:203.0.113.9", True),
    ("198.51.100.1", False), ("2001:db9::1", False),
])
def test_an_allow_list_admits_exactly_its_networks(address, admitted):
    assert address_allowed(parse_address(address), ALLOWED) is admitted


def test_no_allow_list_admits_everyone_and_an_unknown_address_is_refused_by_one():
    assert address_allowed(parse_address("198.51.100.1"), ()) is True
    assert address_allowed(None, ()) is True
    assert address_allowed(None, ALLOWED) is False


@pytest.mark.parametrize("host, allowed", [
    ("api.example.com", True), ("API.Example.com", True), ("api.example.com.", True), ("api.example.com:443", True),
    ("x.svc.example.net", True), ("x.svc.example.net:8080", True), ("svc.example.net", False),
    ("[::1]:8080", True), ("[::1]", True), ("localhost:8080", True), ("127.0.0.1:9", True),
    ("evil.com", False), ("api.example.com.evil.com", False), ("", False),
    ("[2001:db8::1]:443", False), (".api.example.com", False),
])
def test_host_header_names_an_allowed_host(host, allowed):
    policy = HostPolicy(["api.example.com", "*.svc.example.net"])
    assert policy.allows(host) is allowed


def test_a_bare_ipv6_host_is_judged_whole():
    assert HostPolicy(["2001:db8::1"]).allows("2001:db8::1") is True
    assert HostPolicy(["2001:db8::1"]).allows("[2001:db8::1]:443") is True
    assert HostPolicy(["2001:db8::1"]).allows("2001:db8::2") is False


def test_origin_must_name_an_allowed_host_over_http_or_https():
    policy = HostPolicy(["api.example.com"])
    assert policy.allows_origin("https://api.example.com") and policy.allows_origin(None)
    assert policy.allows_origin("http://api.example.com:8080")
    assert not policy.allows_origin("https://evil.com") and not policy.allows_origin("ftp://api.example.com")
    assert not policy.allows_origin("api.example.com")


def test_an_origin_is_scheme_and_host_only():
    policy = HostPolicy(["api.example.com"])
    for origin in ("https://api.example.com/", "https://api.example.com/x", "https://api.example.com://x",
                   "http://api.example.com:8080/"):
        assert not policy.allows_origin(origin), origin


def test_a_bracketed_host_ends_at_its_first_closing_bracket():
    """`[x]a.example.com]` is the name `x`, not `x]a.example.com` (which a `*.example.com` pattern would admit)."""
    assert not HostPolicy(["*.example.com"]).allows("[x]a.example.com]")


def test_a_pattern_neither_a_name_nor_a_star_dot_suffix_admits_nothing():
    """`*foo` is not a wildcard (only `*.suffix` is) and not a name either: not even a Host of `*foo` matches it."""
    policy = HostPolicy(["*foo", "*.example.com"])
    assert not policy.allows("*foo") and not policy.allows("afoo") and not policy.allows("*")
