"""auth.mode tokens through the whole chain: tokens issued and revoked by the real CLI into moto DynamoDB, the
URL it prints given to the stdio bridge as it is, the API Gateway emulator running the real authorizer (reading
the tokens table) and relay, `python -m server` with MCP_TRUST_RELAY reading the same table, the fake ElevenLabs
API behind it."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import anyio
import httpx
import pytest
from mcp.shared.exceptions import MCPError

from server.websocket import authorizer, relay
from tests.localaws import TEST_CREDENTIALS, aws
from tests.server.harness import ELEVENLABS_KEY, SERVER_KEY, ServerProcess, texts
from tests.tokens_stack import TEMPLATE, tokens_cli
from tests.websocket.chain import (apply_environment, bridged_client, connect_error, emulator, handler_environment,
                                   put_token, rows)
from tests.websocket.conftest import server_settings
from tests.websocket.emulator import WebSocketApiEmulator

pytestmark = pytest.mark.timeout(120)

STACK = "ws-tokens"
CACHE_SECONDS = 3  # the server's MCP_TOKENS_CACHE_SECONDS: how long a revocation takes on open connections
SERVER_ELEVENLABS_KEY = "sk_server_key_the_fake_rejects"


@dataclass
class Deployment:
    api: WebSocketApiEmulator
    task: ServerProcess
    table: str  # the tokens table
    moto: str

    def issue(self, name: str, *args: str, env: dict[str, str] | None = None) -> str:
        """The URL `tokens issue` prints: the endpoint with ?key=<token>."""
        result = tokens_cli(self.moto, "issue", STACK, "--name", name, *args, env=env)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def revoke(self, name: str) -> None:
        result = tokens_cli(self.moto, "revoke", STACK, name)
        assert result.returncode == 0, result.stderr


def create_stack(moto: str, endpoint_url: str) -> dict[str, str]:
    """A deployed stack as the CLI sees it: the TokensTable output, and EndpointUrl the emulator's wss URL."""
    template = {**TEMPLATE, "Outputs": {**TEMPLATE["Outputs"], "EndpointUrl": {"Value": endpoint_url}}}
    aws(moto, "cloudformation", "create-stack", "--stack-name", STACK, "--template-body", json.dumps(template))
    stack = aws(moto, "cloudformation", "describe-stacks", "--stack-name", STACK).json["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


@contextmanager
def deployment(moto: str, fake, tmp_path, monkeypatch, **authorizer_env: str) -> Iterator[Deployment]:
    """The emulator, the stack naming its URL, a task and the handlers' environment as the template sets them."""
    with emulator() as api:
        table = create_stack(moto, api.url)["TokensTable"]
        task = ServerProcess(tmp_path, {
            **server_settings(fake), "MCP_AUTH_MODE": "tokens", "MCP_TOKENS_TABLE": table, "MCP_TRUST_RELAY": "true",
            "MCP_TOKENS_CACHE_SECONDS": str(CACHE_SECONDS), "ELEVENLABS_API_KEY": SERVER_ELEVENLABS_KEY,
            "AWS_ENDPOINT_URL": moto, "AWS_DEFAULT_REGION": "us-east-1", **TEST_CREDENTIALS,
        }).start()
        environment = handler_environment(moto, task.port, AUTH_MODE="tokens", TOKENS_TABLE=table, **authorizer_env)
        apply_environment(monkeypatch, environment)
        try:
            yield Deployment(api, task, table, moto)
        finally:
            task.terminate()


def run(scenario, *args):
    return anyio.run(scenario, *args)


@pytest.mark.parametrize("mode, era", [("legacy", "2025-11-25"), ("auto", "2026-07-28")],
                         ids=["initialize-era", "discover-era"])
def test_an_issued_token_reaches_elevenlabs_with_the_users_own_key(table, fake, monkeypatch, tmp_path, mode, era):
    with deployment(table, fake, tmp_path, monkeypatch) as d:
        url = d.issue("alice", "--elevenlabs-key-env", "ALICE_KEY", env={"ALICE_KEY": ELEVENLABS_KEY})
        assert url.startswith(d.api.url + "?key=mcpt_")

        async def scenario():
            async with bridged_client(url, "", tmp_path / "bridge.err", mode) as client:  # the printed URL
                return await client.call_tool("check_subscription", {}), rows(table), client.protocol_version

        result, during, version = run(scenario)
    assert version == era
    assert not result.is_error, texts(result)
    assert fake.requests[-1].headers["xi-api-key"] == "<valid>"  # alice's key, not the server's
    [row] = during
    assert row["principal"] == {"S": "token:alice"} and len(row["hash"]["S"]) == 64
    token = url.split("?key=")[1]
    assert row["hash"]["S"] == hashlib.sha256(token.encode()).hexdigest()
    logs = d.task.stdout() + d.task.stderr() + (tmp_path / "bridge.err").read_text()
    assert token not in logs and ELEVENLABS_KEY not in logs


def test_revoked_expired_and_unknown_tokens_are_refused_at_connect(table, fake, monkeypatch, tmp_path):
    with deployment(table, fake, tmp_path, monkeypatch) as d:
        revoked = d.issue("bob")
        d.revoke("bob")
        expired = put_token(table, "old", table=d.table, expires_days=1, days_old=2)
        for token in [revoked.split("?key=")[1], expired, "mcpt_never_issued_00000000", SERVER_KEY]:
            assert "HTTP 403" in run(connect_error, d.api.url, token, tmp_path / "bridge.err")
    assert rows(table) == []


def test_an_address_outside_the_allow_list_is_refused_with_a_valid_token(table, fake, monkeypatch, tmp_path):
    with deployment(table, fake, tmp_path, monkeypatch, ALLOWED_CIDRS="10.0.0.0/8") as d:
        url = d.issue("carol")
        assert "HTTP 403" in run(connect_error, url, "", tmp_path / "bridge.err")
    assert rows(table) == []


def test_revoking_stops_an_open_connection_within_the_cache_bound(table, fake, monkeypatch, tmp_path):
    with deployment(table, fake, tmp_path, monkeypatch) as d:
        url = d.issue("dave")

        async def scenario():
            async with bridged_client(url, "", tmp_path / "bridge.err") as client:
                before = await client.list_tools()
                looked_up = time.monotonic()  # the server cached dave's row by now
                d.revoke("dave")
                await anyio.sleep(max(0.0, looked_up + CACHE_SECONDS + 0.5 - time.monotonic()))
                with pytest.raises(MCPError, match="The server refused the request") as refused:
                    await client.list_tools()
                return before, str(refused.value)

        before, refusal = run(scenario)
    assert before.tools
    assert "revoked or expired" in refusal
    assert "the server refused a message" in (tmp_path / "bridge.err").read_text()


def test_the_server_trusts_the_relay_only_with_a_ticket_for_that_hash(table, fake, monkeypatch, tmp_path):
    with deployment(table, fake, tmp_path, monkeypatch) as d:
        token = d.issue("erin").split("?key=")[1]
        digest = hashlib.sha256(token.encode()).hexdigest()
        revoked = d.issue("frank").split("?key=")[1]
        revoked_hash = hashlib.sha256(revoked.encode()).hexdigest()
        d.revoke("frank")

        def status(credential: str, **headers: str) -> int:
            body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
            return httpx.post(d.task.mcp_url, json=body, timeout=30, headers={
                "Authorization": f"Bearer {credential}", "Accept": "application/json, text/event-stream",
                "Host": "localhost", **headers}).status_code

        ticket = authorizer.ticket(digest)  # as the authorizer signs it, with the key it reads from the secret
        assert status(ticket, **{"X-MCP-Token-Hash": digest}) == 200
        assert status(ticket) == 401, "a ticket alone names nobody"
        assert status(ticket, **{"X-MCP-Token-Hash": digest.upper()}) == 401
        assert status(ticket, **{"X-MCP-Token-Hash": revoked_hash}) == 401, "signed for another user"
        assert status(authorizer.ticket(revoked_hash), **{"X-MCP-Token-Hash": revoked_hash}) == 401, "revoked"
        last_changed = ticket[:-1] + ("1" if ticket.endswith("0") else "0")  # always a different MAC
        assert status(last_changed, **{"X-MCP-Token-Hash": digest}) == 401
        assert status(SERVER_KEY, **{"X-MCP-Token-Hash": digest}) == 401, "the server key is no relay credential"
        assert status(digest) == 401, "a hash is not a token"
        assert status(token) == 200, "a token presented directly works as in mode tokens elsewhere"


def test_the_relay_without_a_hash_gets_the_servers_401(table, fake, monkeypatch, tmp_path):
    """A connection row without a hash (an authorizer of mode api-key, say) names nobody: the server refuses."""
    with deployment(table, fake, tmp_path, monkeypatch):
        context = {"routeKey": "$connect", "connectionId": "conn-x", "identity": {"sourceIp": "127.0.0.1"},
                   "authorizer": {"principal": "api-key", "principalId": "api-key"}}
        relay.handler({"requestContext": context}, None)
        message = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        reply = relay.handler({"requestContext": {**context, "routeKey": "$default"}, "body": message}, None)
    assert json.loads(reply["body"])["error"] == "unauthorized"
