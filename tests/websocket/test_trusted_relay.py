"""The server's side of the relay contract, in process with the clocks under the test's control: the relay's key
plus X-MCP-Token-Hash is looked up like the token itself (same cache, expiry and revocation), against rows in moto."""

from __future__ import annotations

import hashlib
import time

import anyio
import pytest

from server.tokens import TokenAuthenticator
from tests.localaws import aws_env
from tests.websocket.chain import TOKENS_TABLE, create_tokens_table, dynamodb, put_token

RELAY_KEY = "relay-key-0123456789abcdef"


@pytest.fixture
def rows(moto, monkeypatch):
    moto.reset()
    create_tokens_table(moto.endpoint)
    monkeypatch.setattr("os.environ", aws_env(moto.endpoint, "us-east-1"))
    return moto.endpoint


def authenticator(now: dict) -> TokenAuthenticator:
    return TokenAuthenticator(TOKENS_TABLE, cache_seconds=60, relay_key=RELAY_KEY, clock=lambda: now["monotonic"],
                              wall_clock=lambda: now["wall"])


def as_relay(auth: TokenAuthenticator, token_hash: str | None, key: str = RELAY_KEY):
    headers = {} if token_hash is None else {b"x-mcp-token-hash": token_hash.encode()}
    return anyio.run(auth.authenticate, key, headers)


def test_the_relay_names_a_user_who_gets_their_own_key(rows):
    token = put_token(rows, "alice", elevenlabs_key="sk_alice")
    auth = authenticator({"monotonic": 0.0, "wall": time.time()})
    principal = as_relay(auth, hashlib.sha256(token.encode()).hexdigest())
    assert principal.name == "token:alice" and principal.elevenlabs_api_key == "sk_alice"


@pytest.mark.parametrize("named", [None, "", "ab" * 31, "AB" * 32, "zz" * 32, "ab" * 32 + "\n", "ab" * 32])
def test_the_relay_key_alone_or_with_a_bad_or_unknown_hash_is_nobody(rows, named):
    put_token(rows, "bob")
    assert as_relay(authenticator({"monotonic": 0.0, "wall": time.time()}), named) is None


def test_a_wrong_relay_key_is_looked_up_as_a_token_and_fails(rows):
    token = put_token(rows, "carol")
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert as_relay(authenticator({"monotonic": 0.0, "wall": time.time()}), digest, key=RELAY_KEY + "x") is None


def test_revocation_reaches_relayed_requests_within_the_cache_bound_and_expiry_at_once(rows):
    now = {"monotonic": 1000.0, "wall": time.time()}
    auth = authenticator(now)
    dave, erin = put_token(rows, "dave"), put_token(rows, "erin", expires_days=1)
    dave_hash, erin_hash = (hashlib.sha256(t.encode()).hexdigest() for t in (dave, erin))
    assert as_relay(auth, dave_hash).name == "token:dave" and as_relay(auth, erin_hash).name == "token:erin"

    dynamodb(rows).update_item(TableName=TOKENS_TABLE, Key={"hash": {"S": dave_hash}},
                               UpdateExpression="SET revoked = :yes",
                               ExpressionAttributeValues={":yes": {"BOOL": True}})
    now["monotonic"] += 59.9
    assert as_relay(auth, dave_hash) is not None, "the cached row serves for up to 60 s"
    assert anyio.run(auth.authenticate, dave, {}) is not None, "the token and its hash share one cache entry"
    now["monotonic"] += 0.1
    assert as_relay(auth, dave_hash) is None

    now["wall"] += 86400 + 1  # erin's row is cached, her expiry still counts at once
    now["monotonic"] -= 30
    assert as_relay(auth, erin_hash) is None
