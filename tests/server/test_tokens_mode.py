"""MCP_AUTH_MODE=tokens end to end: tokens issued by the real CLI into moto DynamoDB, `python -m server` as a real
process looking them up there, the SDK's MCP client calling it, the fake ElevenLabs API behind it."""

from __future__ import annotations

import hashlib
import time

import anyio
import httpx
import pytest

from server.auth import AuthUnavailable
from server.tokens import TokenAuthenticator
from tests.localaws import TEST_CREDENTIALS, MotoServer, aws, aws_env, free_port
from tests.server.harness import ELEVENLABS_KEY, ServerProcess, mcp_client, texts
from tests.tokens_stack import create_tokens_stack, token_of, tokens_cli

CACHE_SECONDS = 6  # MCP_TOKENS_CACHE_SECONDS for this server: the revocation bound under test
SERVER_ELEVENLABS_KEY = "sk_server_key_the_fake_rejects"
EXPIRED_TOKEN = "mcpt_expired_token_000000000000"


@pytest.fixture(scope="module")
def moto():
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="module")
def stack(moto):
    return create_tokens_stack(moto.endpoint, "voice")


def issue(moto, name: str, *args: str, env=None) -> str:
    result = tokens_cli(moto.endpoint, "issue", "voice", "--name", name, *args, env=env)
    assert result.returncode == 0, result.stderr
    return token_of(result.stdout.strip())


@pytest.fixture(scope="module")
def tokens(moto, stack):
    past = str(int(time.time()) - 60)
    aws(moto.endpoint, "dynamodb", "put-item", "--table-name", stack["TokensTable"], "--item",
        f'{{"hash": {{"S": "{hashlib.sha256(EXPIRED_TOKEN.encode()).hexdigest()}"}}, "name": {{"S": "old"}}, '
        f'"created": {{"N": "{past}"}}, "expires": {{"N": "{past}"}}, "revoked": {{"BOOL": false}}}}')
    return {
        "alice": issue(moto, "alice", "--elevenlabs-key-env", "ALICE_KEY", env={"ALICE_KEY": ELEVENLABS_KEY}),
        "carol": issue(moto, "carol", "--expires-days", "30"),
        "bob": issue(moto, "bob"),
    }


@pytest.fixture(scope="module")
def server(fake, moto, stack, tokens, tmp_path_factory):
    process = ServerProcess(tmp_path_factory.mktemp("tokens-server"), {
        "MCP_AUTH_MODE": "tokens",
        "MCP_TOKENS_TABLE": stack["TokensTable"],
        "MCP_TOKENS_CACHE_SECONDS": str(CACHE_SECONDS),
        "ELEVENLABS_API_KEY": SERVER_ELEVENLABS_KEY,
        "ELEVENLABS_BASE_URL": fake.url,
        "AWS_ENDPOINT_URL": moto.endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        **TEST_CREDENTIALS,
    }).start()
    yield process
    process.terminate()


def call(url: str, tool: str = "check_subscription", headers: dict | None = None):
    async def run():
        async with mcp_client(url, headers or {}) as client:
            return await client.call_tool(tool, {})

    return anyio.run(run)


def status(server: ServerProcess, token: str) -> int:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Authorization": f"Bearer {token}", "accept": "application/json, text/event-stream"}
    return httpx.post(server.mcp_url, json=body, headers=headers, timeout=30).status_code


def test_a_token_with_its_own_key_reaches_elevenlabs_with_that_key(server, tokens, fake):
    result = call(f"{server.mcp_url}?key={tokens['alice']}")  # the URL `tokens issue` prints
    assert not result.is_error, texts(result)
    assert fake.requests[-1].headers["xi-api-key"] == "<valid>"


def test_a_token_without_a_key_uses_the_servers(server, tokens, fake):
    result = call(server.mcp_url, headers={"X-API-Key": tokens["carol"]})
    assert result.is_error and "rejected this server's ElevenLabs API key" in texts(result)
    assert fake.requests[-1].headers["xi-api-key"] == "<invalid>"


def test_wrong_and_expired_tokens_are_refused(server, tokens):
    assert status(server, tokens["carol"]) == 200
    assert status(server, tokens["carol"][:-1]) == 401
    assert status(server, "mcpt_never_issued_0000000000000") == 401
    assert status(server, EXPIRED_TOKEN) == 401


def test_a_revoked_token_stops_working_within_the_cache_bound(server, moto, tokens):
    assert status(server, tokens["bob"]) == 200
    looked_up = time.monotonic()
    revoke = tokens_cli(moto.endpoint, "revoke", "voice", "bob")
    assert revoke.returncode == 0, revoke.stderr
    if time.monotonic() - looked_up < CACHE_SECONDS - 1:
        assert status(server, tokens["bob"]) == 200, "within the bound the cached answer may still be used"
    time.sleep(max(0.0, looked_up + CACHE_SECONDS + 0.5 - time.monotonic()))
    assert status(server, tokens["bob"]) == 401


def test_no_token_nor_user_key_in_the_logs(server, tokens):
    call(f"{server.mcp_url}?key={tokens['alice']}")
    logs = server.stdout() + server.stderr()
    assert logs.strip(), "the server logs every request"
    for secret in [*tokens.values(), ELEVENLABS_KEY, SERVER_ELEVENLABS_KEY]:
        assert secret not in logs


def test_the_default_bound_is_60_seconds_and_expiry_is_exact(moto, stack, monkeypatch):
    """In-process, against the same moto table, with the clocks under the test's control."""
    monkeypatch.setattr("os.environ", aws_env(moto.endpoint, "us-east-1"))
    now = {"monotonic": 1000.0, "wall": time.time()}
    authenticator = TokenAuthenticator(stack["TokensTable"], clock=lambda: now["monotonic"],
                                       wall_clock=lambda: now["wall"])
    dave, erin = issue(moto, "dave"), issue(moto, "erin", "--expires-days", "1")
    assert anyio.run(authenticator.authenticate, dave, {}).name == "token:dave"
    assert anyio.run(authenticator.authenticate, erin, {}).elevenlabs_api_key is None

    assert tokens_cli(moto.endpoint, "revoke", "voice", "dave").returncode == 0
    now["monotonic"] += 59.9
    assert anyio.run(authenticator.authenticate, dave, {}) is not None, "the cached row is used for up to 60 s"
    now["monotonic"] += 0.1
    assert anyio.run(authenticator.authenticate, dave, {}) is None, "revoked: refused once its cached row is 60 s old"

    now["monotonic"] -= 30  # erin's row is still cached, yet her expiry counts at once
    now["wall"] += 86400 + 5
    assert anyio.run(authenticator.authenticate, erin, {}) is None


def test_a_table_that_does_not_answer_is_503_with_retry_after_not_401(fake, stack, tokens, tmp_path):
    """The token may be good: clients should retry, not drop it. Nothing is cached, nothing secret logged."""
    process = ServerProcess(tmp_path, {
        "MCP_AUTH_MODE": "tokens", "MCP_TOKENS_TABLE": stack["TokensTable"], "ELEVENLABS_BASE_URL": fake.url,
        "ELEVENLABS_API_KEY": SERVER_ELEVENLABS_KEY, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1", **TEST_CREDENTIALS,
    }).start()
    try:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        headers = {"Authorization": f"Bearer {tokens['carol']}", "accept": "application/json, text/event-stream"}
        for _ in range(2):  # the second asks again: a failure is not remembered
            answer = httpx.post(process.mcp_url, json=body, headers=headers, timeout=30)
            assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
            assert answer.json()["error"] == "auth_unavailable"
        anonymous = httpx.post(process.mcp_url, json=body, headers={"accept": headers["accept"]}, timeout=30)
        assert anonymous.status_code == 401, "no credential at all is still the caller's problem"
        logs = process.stdout() + process.stderr()
        assert logs.count("token lookup failed") == 2 and tokens["carol"] not in logs
    finally:
        process.terminate()


def test_the_authenticator_raises_auth_unavailable_rather_than_refusing(monkeypatch):
    monkeypatch.setattr("os.environ", {**aws_env(f"http://127.0.0.1:{free_port()}", "us-east-1"),
                                       "AWS_MAX_ATTEMPTS": "1"})
    authenticator = TokenAuthenticator("no-table")
    with pytest.raises(AuthUnavailable):
        anyio.run(authenticator.authenticate, "mcpt_any_token_00000000000000", {})
    anyio.run(authenticator.aclose)
