"""`python -m server` serving the auth page in tokens mode against moto DynamoDB and the fake ElevenLabs API;
shared by tests/server/test_authpage.py and the browser tests."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from pathlib import Path

import httpx

from server.authpage import core

from tests.fakes.elevenlabs_api import FakeElevenLabs
from tests.localaws import TEST_CREDENTIALS, MotoServer, aws
from tests.server.harness import ServerProcess
from tests.tokens_stack import create_tokens_stack

SIGNUP_CODE = "open-sesame-4242"
SERVER_ELEVENLABS_KEY = "sk_server_key_the_fake_rejects"  # so a call that works used the user's key
TOKEN_DAYS = 30
ADMITTED_NETWORK = "203.0.113.0/24"  # besides loopback, inside MCP_ALLOWED_CIDRS
OUTSIDE_CLIENT = "198.51.100.7"


def auth_page_settings(fake: FakeElevenLabs, moto: MotoServer, table: str, **overrides: str) -> dict[str, str]:
    return {
        "MCP_AUTH_MODE": "tokens",
        "MCP_TOKENS_TABLE": table,
        "MCP_AUTH_PAGE": "true",
        "MCP_SIGNUP_CODE": SIGNUP_CODE,
        "MCP_AUTH_PAGE_TOKEN_DAYS": str(TOKEN_DAYS),
        "MCP_AUTH_PAGE_ATTEMPTS_PER_HOUR": "10",
        "MCP_ALLOWED_CIDRS": f"127.0.0.0/8,{ADMITTED_NETWORK}",
        "MCP_TRUSTED_PROXY_CIDRS": "127.0.0.1/32",
        "ELEVENLABS_API_KEY": SERVER_ELEVENLABS_KEY,
        "ELEVENLABS_BASE_URL": fake.url,
        "AWS_ENDPOINT_URL": moto.endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        **TEST_CREDENTIALS,
        **overrides,
    }


@contextmanager
def auth_page_server(fake: FakeElevenLabs, log_dir: Path, stack_name: str = "voice", **overrides: str):
    """(server, moto, tokens table): a fresh moto with a tokens stack, and the server in front of it."""
    with MotoServer() as moto:
        table = create_tokens_stack(moto.endpoint, stack_name)["TokensTable"]
        server = ServerProcess(log_dir, auth_page_settings(fake, moto, table, **overrides)).start()
        try:
            yield server, moto, table
        finally:
            server.terminate()


def stored_rows(moto: MotoServer, table: str) -> list[dict]:
    """The token rows (not the attempt counts sharing the table)."""
    rows = aws(moto.endpoint, "dynamodb", "scan", "--table-name", table).json["Items"]
    return [row for row in rows if not row["hash"]["S"].startswith(core.SHARED_COUNT_PREFIX)]


def row_of(moto: MotoServer, table: str, token: str) -> dict | None:
    digest = hashlib.sha256(token.encode()).hexdigest()
    return next((row for row in stored_rows(moto, table) if row["hash"]["S"] == digest), None)


def sign_up(server: ServerProcess, body: dict | bytes, *, client: str | None = None,
            headers: dict | None = None) -> httpx.Response:
    """POST /auth/token, as from `client` (via X-Forwarded-For from the trusted loopback proxy)."""
    sent = {"content-type": "application/json", **({"x-forwarded-for": client} if client else {}), **(headers or {})}
    content = body if isinstance(body, bytes) else None
    return httpx.post(f"{server.base_url}/auth/token", json=None if content is not None else body, content=content,
                      headers=sent, timeout=30)
