"""The server's side of the relay contract, in process with the clocks under the test's control: the relay's
ticket (signed by the authorizer for one token hash) plus X-MCP-Token-Hash is looked up like the token itself
(same cache, expiry and revocation), against rows in moto; in mode api-key the ticket alone names the key's
principal. The relay holds no key: the server's own key is refused from it in mode tokens, as before."""

from __future__ import annotations

import hashlib
import time
from unittest import mock

import anyio
import pytest

from server.auth import ApiKeyAuthenticator, relay_ticket_key
from server.tokens import TokenAuthenticator
from server.websocket import authorizer
from tests.localaws import aws_env
from tests.websocket.chain import TOKENS_TABLE, create_tokens_table, dynamodb, put_token

SERVER_KEY = "server-key-0123456789abcdef"
RELAY_KEY = relay_ticket_key(SERVER_KEY)


def ticket(token_hash: str, at: float | None = None) -> str:
    """What the authorizer signs (its own code, with the server key it would read from the secret)."""
    when = time.time() if at is None else at
    with mock.patch.object(authorizer, "server_key", return_value=SERVER_KEY), \
            mock.patch.object(authorizer.time, "time", return_value=when):
        return authorizer.ticket(token_hash)


@pytest.fixture
def rows(moto, monkeypatch):
    moto.reset()
    create_tokens_table(moto.endpoint)
    monkeypatch.setattr("os.environ", aws_env(moto.endpoint, "us-east-1"))
    return moto.endpoint


def authenticator(now: dict) -> TokenAuthenticator:
    return TokenAuthenticator(TOKENS_TABLE, cache_seconds=60, relay_key=RELAY_KEY, clock=lambda: now["monotonic"],
                              wall_clock=lambda: now["wall"])


def as_relay(auth, token_hash: str | None, credential: str):
    headers = {} if token_hash is None else {b"x-mcp-token-hash": token_hash.encode()}
    return anyio.run(auth.authenticate, credential, headers)


def relayed(auth, token_hash: str):
    return as_relay(auth, token_hash, ticket(token_hash))


def test_the_relay_names_a_user_who_gets_their_own_key(rows):
    token = put_token(rows, "alice", elevenlabs_key="sk_alice")
    auth = authenticator({"monotonic": 0.0, "wall": time.time()})
    principal = relayed(auth, hashlib.sha256(token.encode()).hexdigest())
    assert principal.name == "token:alice" and principal.elevenlabs_api_key == "sk_alice"


@pytest.mark.parametrize("named", [None, "", "ab" * 31, "AB" * 32, "zz" * 32, "ab" * 32 + "\n", "ab" * 32])
def test_a_ticket_alone_or_with_a_bad_or_unknown_hash_is_nobody(rows, named):
    put_token(rows, "bob")
    signed_for = named if named and len(named) == 64 else "ab" * 32
    assert as_relay(authenticator({"monotonic": 0.0, "wall": time.time()}), named, ticket(signed_for)) is None


def test_a_ticket_names_only_the_user_it_was_signed_for(rows):
    """The hash header is bound by the ticket: a relay (or anyone inside the VPC) cannot name another user."""
    alice, bob = put_token(rows, "alice"), put_token(rows, "bob")
    alice_hash, bob_hash = (hashlib.sha256(t.encode()).hexdigest() for t in (alice, bob))
    auth = authenticator({"monotonic": 0.0, "wall": time.time()})
    assert as_relay(auth, bob_hash, ticket(alice_hash)) is None
    assert as_relay(auth, alice_hash, ticket(alice_hash)).name == "token:alice"


@pytest.mark.parametrize("credential", [SERVER_KEY, "relay.", "relay.9999999999.", "relay.x.y",
                                        "relay.9999999999." + "00" * 32, "relay.9999999999.é"])
def test_the_server_key_or_a_forged_ticket_is_nobody(rows, credential):
    token = put_token(rows, "carol")
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert as_relay(authenticator({"monotonic": 0.0, "wall": time.time()}), digest, credential) is None


def test_an_expired_ticket_is_nobody(rows):
    token = put_token(rows, "dora")
    digest = hashlib.sha256(token.encode()).hexdigest()
    now = time.time()
    old = ticket(digest, at=now - 7301)
    assert as_relay(authenticator({"monotonic": 0.0, "wall": now}), digest, old) is None
    assert as_relay(authenticator({"monotonic": 0.0, "wall": now}), digest, ticket(digest, at=now - 7200)) is not None


def test_in_mode_api_key_a_ticket_is_the_keys_principal_and_the_key_still_works():
    auth = ApiKeyAuthenticator(SERVER_KEY, relay_key=RELAY_KEY)
    assert anyio.run(auth.authenticate, ticket(""), {}).name == "api-key"
    assert anyio.run(auth.authenticate, SERVER_KEY, {}).name == "api-key"
    assert anyio.run(auth.authenticate, ticket("ab" * 32), {}) is None
    assert anyio.run(ApiKeyAuthenticator(SERVER_KEY).authenticate, ticket(""), {}) is None, "only with the relay"


def test_revocation_reaches_relayed_requests_within_the_cache_bound_and_expiry_at_once(rows):
    now = {"monotonic": 1000.0, "wall": time.time()}
    auth = authenticator(now)
    dave, erin = put_token(rows, "dave"), put_token(rows, "erin", expires_days=1)
    dave_hash, erin_hash = (hashlib.sha256(t.encode()).hexdigest() for t in (dave, erin))
    assert relayed(auth, dave_hash).name == "token:dave" and relayed(auth, erin_hash).name == "token:erin"

    dynamodb(rows).update_item(TableName=TOKENS_TABLE, Key={"hash": {"S": dave_hash}},
                               UpdateExpression="SET revoked = :yes",
                               ExpressionAttributeValues={":yes": {"BOOL": True}})
    now["monotonic"] += 59.9
    assert relayed(auth, dave_hash) is not None, "the cached row serves for up to 60 s"
    assert anyio.run(auth.authenticate, dave, {}) is not None, "the token and its hash share one cache entry"
    now["monotonic"] += 0.1
    assert relayed(auth, dave_hash) is None

    now["wall"] += 86400 + 1  # erin's row is cached, her expiry still counts at once
    now["monotonic"] -= 30
    assert as_relay(auth, erin_hash, ticket(erin_hash, at=now["wall"])) is None
