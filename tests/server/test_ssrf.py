"""The SSRF rules of URL inputs, checked at the address check: these tests build requests but never send one, so
nothing leaves the machine even while a rule is wrong (the guide's rule for non-loopback addresses)."""

from __future__ import annotations

import ipaddress

import anyio
import pytest
from mcp.server.mcpserver.exceptions import ToolError

from server.audio_inputs import AudioInputs
from server.call_budget import InputMemory
from server.network import embedded_ipv4, is_public

METADATA = "169.254.169.254"
PUBLIC_V4 = "93.184.216.34"

# Each IPv6 form that embeds an IPv4 address, wrapping the metadata service (refused) and a public host (served).
EMBEDDING = {
    "NAT64 64:ff9b::/96": ("64:ff9b::a9fe:a9fe", "64:ff9b::5db8:d822"),
    "6to4 2002::/16": ("2002:a9fe:a9fe::1", "2002:5db8:d822::1"),
    "IPv4-compatible ::a.b.c.d": ("::169.254.169.254", "::93.184.216.34"),
    "IPv4-translated ::ffff:0:a.b.c.d": ("::ffff:0:169.254.169.254", "::ffff:0:93.184.216.34"),
    "IPv4-mapped ::ffff:a.b.c.d": ("::ffff:169.254.169.254", "::ffff:93.184.216.34"),
}


@pytest.mark.parametrize("form", EMBEDDING)
def test_embedded_ipv4_is_unwrapped_and_judged(form):
    private, public = (ipaddress.ip_address(a) for a in EMBEDDING[form])
    assert embedded_ipv4(private) == [ipaddress.ip_address(METADATA)]
    assert not is_public(private)
    assert embedded_ipv4(public) == [ipaddress.ip_address(PUBLIC_V4)] and is_public(public)


@pytest.mark.parametrize(
    "address",
    [
        "2001:0:a9fe:a9fe::1",  # Teredo whose server is the metadata address
        "2001:0:5db8:d822:0:f5ff:56fe:56fe",  # Teredo to a public server and client: Teredo is never fetched from
        "64:ff9b:1::808:808",  # RFC 8215 local-use NAT64: where the IPv4 sits is the operator's choice
        "64:ff9b:1:ffff::a00:1",
        "2002:0a00:0001::1",  # 6to4 of 10.0.0.1
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "::ffff:0:a00:1",
        "ff02::1",
        "fd00::1",
        "fe80::1",
        "::1",
        "::",
    ],
)
def test_other_non_public_ipv6_forms(address):
    assert not is_public(ipaddress.ip_address(address))


def inputs_resolving_to(*addresses: str) -> AudioInputs:
    async def resolver(host: str, port: int) -> list[str]:
        return list(addresses)

    return new_inputs(resolver)


def new_inputs(resolver=None) -> AudioInputs:
    options = {} if resolver is None else {"resolver": resolver}
    return AudioInputs(1000, False, memory=InputMemory(10_000), max_call_bytes=5000, **options)


def pinned(inputs: AudioInputs, url: str):
    async def build():
        try:
            return await inputs._pinned_request(url, "audio_url")
        finally:
            await inputs.aclose()

    return anyio.run(build)


@pytest.mark.parametrize("address", [*(pair[0] for pair in EMBEDDING.values()), "2001:0:a9fe:a9fe::1"])
def test_url_with_an_embedding_literal_is_refused(address):
    with pytest.raises(ToolError, match="private, loopback or link-local"):
        pinned(inputs_resolving_to(), f"https://[{address}]/latest/meta-data/")


@pytest.mark.parametrize("address", [pair[0] for pair in EMBEDDING.values()])
def test_host_resolving_to_an_embedding_form_is_refused(address):
    with pytest.raises(ToolError, match="private, loopback or link-local"):
        pinned(inputs_resolving_to(address), "https://audio.example.com/a.mp3")


@pytest.mark.parametrize("order", ["public first", "private first"])
def test_one_private_address_among_public_ones_refuses_the_host(order):
    """DNS answering a public and a private address: every address must be public, not just one."""
    answer = [PUBLIC_V4, "10.0.0.7"] if order == "public first" else ["10.0.0.7", PUBLIC_V4]
    with pytest.raises(ToolError, match="private, loopback or link-local"):
        pinned(inputs_resolving_to(*answer), "https://audio.example.com/a.mp3")


def test_the_request_goes_to_the_checked_address_with_the_original_name():
    """Resolved once, connected to the literal that was checked: a second DNS answer (rebinding) is never asked."""
    calls = []

    async def resolver(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return [PUBLIC_V4] if len(calls) == 1 else ["127.0.0.1"]

    request = pinned(new_inputs(resolver), "https://user:pw@audio.example.com:8443/a.mp3?x=1")
    assert calls == [("audio.example.com", 8443)]
    assert (request.url.host, request.url.port, request.url.path) == (PUBLIC_V4, 8443, "/a.mp3")
    assert request.headers["host"] == "audio.example.com:8443"  # no userinfo forwarded
    assert request.extensions["sni_hostname"] == "audio.example.com"


def test_numeric_host_forms_are_judged_after_resolution():
    """https://2852039166/ is 169.254.169.254 to the system resolver (no DNS query: a numeric form)."""
    inputs = new_inputs()
    for url in ("https://2852039166/", "https://0xa9fea9fe/", "https://169.254.43518/"):
        with pytest.raises(ToolError, match="private, loopback or link-local"):
            pinned(inputs, url)
