"""Key comparison that a length-only (or prefix-only) check would pass: wrong keys of exactly the real key's
length, differing only in the first, a middle or the last character, through the real HTTP server and at the
authenticators themselves (the relay's tickets in both modes too)."""

from __future__ import annotations

import hashlib
import hmac
import time

import anyio
import httpx
import pytest

from server.auth import ApiKeyAuthenticator, Principal, relay_ticket_key
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


def signed_ticket(server_key: str, token_hash: str, expires: int) -> str:
    """A relay ticket as the $connect authorizer signs it (server/websocket/authorizer.py), written out here."""
    key = hmac.new(server_key.encode(), b"mcpdeploy relay ticket v1", hashlib.sha256).digest()
    return f"relay.{expires}." + hmac.new(key, f"{expires}|{token_hash}".encode(), hashlib.sha256).hexdigest()


def test_relay_ticket_must_match_exactly_before_its_hash_header_is_trusted():
    """In tokens mode the relay's ticket lets the X-MCP-Token-Hash header name the user: a ticket of the right
    length that differs in one character, or was signed for another user, must not reach the user's row."""
    expires, named = int(time.time()) + 3600, "a" * 64
    authenticator = TokenAuthenticator("unused-table", relay_key=relay_ticket_key(SERVER_KEY))
    looked_up: list[str] = []

    async def known_user(digest: str):
        looked_up.append(digest)
        return Principal(name="token:someone")

    authenticator._principal = known_user  # the table is not reached: only which hash is asked for matters
    header = {b"x-mcp-token-hash": named.encode()}

    async def judge(credential: str):
        return await authenticator.authenticate(credential, header)

    good = signed_ticket(SERVER_KEY, named, expires)
    assert anyio.run(judge, good) is not None and looked_up == [named], "the exact ticket trusts the header"
    wrong = [*same_length_variants(good).values(), signed_ticket(SERVER_KEY, "b" * 64, expires),
             signed_ticket(SERVER_KEY, named, int(time.time()) - 1), signed_ticket("other-key", named, expires)]
    for ticket in wrong:
        looked_up.clear()
        anyio.run(judge, ticket)
        assert named not in looked_up, ticket


def test_api_key_mode_admits_a_relay_ticket_only_when_exact():
    expires = int(time.time()) + 3600
    authenticator = ApiKeyAuthenticator(SERVER_KEY, relay_key=relay_ticket_key(SERVER_KEY))

    async def judge(credential: str):
        return await authenticator.authenticate(credential, {})

    good = signed_ticket(SERVER_KEY, "", expires)
    assert anyio.run(judge, good).name == "api-key"
    for wrong in same_length_variants(good).values():
        assert anyio.run(judge, wrong) is None, wrong


def test_key_param_is_removed_and_every_other_parameter_kept_as_sent():
    from server.auth import without_key_param

    assert without_key_param(b"a=&key=secret&b=1") == b"a=&b=1", "blank parameters are kept, the key is gone"
    assert without_key_param(b"b=1") == b"b=1"


def test_relay_tickets_malformed_or_at_their_expiry_are_refused_without_error():
    from server.auth import valid_relay_ticket

    key, now = relay_ticket_key(SERVER_KEY), 1_900_000_000
    good = signed_ticket(SERVER_KEY, "", now + 60)
    assert valid_relay_ticket(key, good, "", now)
    assert not valid_relay_ticket(key, signed_ticket(SERVER_KEY, "", now), "", now), "expiring now is expired"
    assert not valid_relay_ticket(key, good + ".x", "", now), "a MAC with a dot is not the MAC"
    assert not valid_relay_ticket(key, good[:-1] + "€", "", now), "a non-Latin-1 MAC is refused, not an error"
    arabic_digits = "\u0661\u0669\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660"  # isdigit(), not ASCII
    assert not valid_relay_ticket(key, f"relay.{arabic_digits}.{'0' * 64}", "", now)
    assert not valid_relay_ticket(key, "other." + good.partition(".")[2], "", now)
    for expiry in ("19000000a0", "1e10", "0x7fffffff", "²"):  # ASCII but not digits; a digit int() refuses
        assert not valid_relay_ticket(key, f"relay.{expiry}.{'0' * 64}", "", now), expiry


def test_without_a_trusted_relay_a_ticket_shaped_key_is_just_a_wrong_key():
    authenticator = ApiKeyAuthenticator(SERVER_KEY)

    async def judge(credential: str):
        return await authenticator.authenticate(credential, {})

    assert anyio.run(judge, signed_ticket(SERVER_KEY, "", int(time.time()) + 60)) is None
