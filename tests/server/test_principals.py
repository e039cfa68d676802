"""The auth seam: another Authenticator (like future per-user tokens) plugs in, and tools use the
principal's own ElevenLabs key. The real app is served by uvicorn on loopback inside the test process."""

from __future__ import annotations

import asyncio
import threading
import time

import anyio
import httpx
import pytest
import uvicorn

from server.app import build_app
from server.auth import Principal
from server.config import load_settings
from tests.server.harness import ELEVENLABS_KEY, free_port, mcp_client, texts

ALICE = "alice-token-000000000000"  # has her own, valid ElevenLabs key
BOB = "bob-token-1111111111111111"  # has a key ElevenLabs rejects
CAROL = "carol-token-22222222222222"  # has none: falls back to the server's (absent) key


class TokenTable:
    """What a token mode would look like: a lookup from token to principal."""

    def __init__(self, principals: dict[str, Principal]):
        self.principals = principals

    async def authenticate(self, credential: str, headers) -> Principal | None:
        return self.principals.get(credential)


@pytest.fixture(scope="module")
def token_server(fake):
    settings = load_settings(
        {"MCP_SERVER_API_KEY": "unused-in-this-mode-0000", "ELEVENLABS_BASE_URL": fake.url, "MCP_HOST": "127.0.0.1"}
    )
    app = build_app(
        settings,
        authenticator=TokenTable(
            {
                ALICE: Principal("alice", elevenlabs_api_key=ELEVENLABS_KEY),
                BOB: Principal("bob", elevenlabs_api_key="sk_revoked_key_of_bob"),
                CAROL: Principal("carol"),
            }
        ),
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    thread = threading.Thread(target=asyncio.run, args=(server.serve(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "in-process server did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}/mcp"
    server.should_exit = True
    thread.join(10)


def call(url: str, token: str, tool: str):
    async def run():
        async with mcp_client(url, {"Authorization": f"Bearer {token}"}) as client:
            return await client.call_tool(tool, {})

    return anyio.run(run)


def test_each_principal_uses_its_own_elevenlabs_key(token_server, fake):
    assert not call(token_server, ALICE, "check_subscription").is_error

    rejected = call(token_server, BOB, "check_subscription")
    assert rejected.is_error and "rejected your ElevenLabs API key (HTTP 401" in texts(rejected)
    assert fake.requests[-1].headers["xi-api-key"] == "<invalid>"

    fallback = call(token_server, CAROL, "check_subscription")
    assert fallback.is_error and "no ElevenLabs API key configured" in texts(fallback)


def test_unknown_token_is_refused(token_server):
    response = httpx.post(token_server, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                          headers={"Authorization": "Bearer nobody-0000000000"})
    assert response.status_code == 401
