"""Key comparison that a length-only (or prefix-only) check would pass: wrong keys of exactly the real key's
length, differing only in the first, a middle or the last character, through the real HTTP server and at the
authenticators themselves (the relay's key in tokens mode too)."""

from __future__ import annotations

import anyio
import httpx
import pytest

from server.auth import ApiKeyAuthenticator
from server.tokens import TokenAuthenticator
from tests.server.harness import SERVER_KEY, TOOLS_LIST


def same_length_variants(key: str) -> dict[str, str]:
    def flip(index: int) -> str:
        replacement = "A" if key[index] != "A" else "B"
        return key[:index] + replacement + key[index + 1:]

    variants = {"first": flip(0), "middle": flip(len(key) // 2), "last": flip(len(key) - 1)}
    assert all(len(v) == len(key) and v != key for v in variants.values())
    return variants


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_server_refuses_a_same_length_key_differing_in_one_character(main_server, where):
    wrong = same_length_variants(SERVER_KEY)[where]
    for headers in ({"Authorization": f"Bearer {wrong}"}, {"X-API-Key": wrong}):
        response = httpx.post(main_server.mcp_url, content=TOOLS_LIST,
                              headers={"content-type": "application/json", **headers})
        assert response.status_code == 401, (where, headers)
    assert httpx.post(f"{main_server.mcp_url}?key={wrong}", content=TOOLS_LIST).status_code == 401


def test_api_key_authenticator_admits_only_the_exact_key():
    authenticator = ApiKeyAuthenticator(SERVER_KEY)

    async def judge(credential: str):
        return await authenticator.authenticate(credential, {})

    assert anyio.run(judge, SERVER_KEY).name == "api-key"
    for wrong in [*same_length_variants(SERVER_KEY).values(), SERVER_KEY[:-1], SERVER_KEY + "x", ""]:
        assert anyio.run(judge, wrong) is None, wrong


def test_relay_key_must_match_exactly_before_its_hash_header_is_trusted():
    """In tokens mode the relay's key lets the X-MCP-Token-Hash header name the user: a near-miss of the relay's
    key must fall through to an ordinary token lookup, never to trusting the header."""
    relay_key = "relay-key-0123456789abcdef"
    authenticator = TokenAuthenticator("unused-table", relay_key=relay_key)
    looked_up: list[str] = []

    async def no_such_token(digest: str):
        looked_up.append(digest)
        return None

    authenticator._principal = no_such_token  # the table is not reached: only which hash is asked for matters
    header = {b"x-mcp-token-hash": b"a" * 64}

    async def judge(credential: str):
        return await authenticator.authenticate(credential, header)

    anyio.run(judge, relay_key)
    assert looked_up == ["a" * 64], "the exact relay key trusts the header"
    for wrong in same_length_variants(relay_key).values():
        looked_up.clear()
        anyio.run(judge, wrong)
        assert looked_up and looked_up[0] != "a" * 64, wrong


def test_key_param_is_removed_and_every_other_parameter_kept_as_sent():
    from server.auth import without_key_param

    assert without_key_param(b"a=&key=secret&b=1") == b"a=&b=1", "blank parameters are kept, the key is gone"
    assert without_key_param(b"b=1") == b"b=1"
