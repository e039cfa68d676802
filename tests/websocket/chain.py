"""The local chain: MCP client (stdio) -> `python -m server.bridge` -> API Gateway emulator -> authorizer and
relay handlers (DynamoDB in moto) -> `python -m server` -> fake ElevenLabs API. Every part is real."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import boto3
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

from compiler.parts import tokens as tokens_part
from server.token_rows import new_token, to_attribute_values
from server.websocket import authorizer, relay
from tests.localaws import TEST_CREDENTIALS
from tests.server.harness import PROJECT_ROOT, SERVER_KEY, clean_environment
from tests.websocket.emulator import WebSocketApiEmulator

TABLE = "ws-connections"
SECRET = "ws-server-secret"  # the stack's one secret, as compiler/parts/secrets.py shapes it
TOKENS_TABLE = "ws-tokens"  # shaped as compiler/parts/tokens.py builds it
SCHEDULE_NOTE = "It runs MON-FRI 08:00-20:00 (Europe/Berlin) and is scaled to zero outside those hours."


# Set-up through boto3, not the AWS CLI: these run before most websocket tests, and a CLI process costs ~0.5 s of
# CPU each (test_relay.py: 43 s, most of it this; every relay mutant runs it).
def create_table(endpoint: str, name: str = TABLE, key: str = "id") -> None:
    dynamodb(endpoint).create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                                    AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                                    KeySchema=[{"AttributeName": key, "KeyType": "HASH"}])


def create_tokens_table(endpoint: str) -> None:
    create_table(endpoint, TOKENS_TABLE, tokens_part.KEY)


def put_token(endpoint: str, name: str, *, table: str = TOKENS_TABLE, days_old: int = 0, **options) -> str:
    """A row written as `tokens issue` writes it (server/token_rows.py); days_old backdates it, to expire it."""
    revoked = options.pop("revoked", False)
    token, item = new_token(name, now=time.time() - days_old * 86400, **options)
    dynamodb(endpoint).put_item(TableName=table, Item=to_attribute_values({**item, "revoked": revoked}))
    return token


def create_secret(endpoint: str) -> None:
    """The server's secret in moto: the authorizer reads the server key from it (no key in any environment)."""
    moto_client("secretsmanager", endpoint).create_secret(
        Name=SECRET, SecretString=json.dumps({"MCP_SERVER_API_KEY": SERVER_KEY, "ELEVENLABS_API_KEY": ""}))


def handler_environment(moto_endpoint: str, task_port: int, **overrides: str) -> dict[str, str]:
    """The Lambda functions' environment, as the template sets it (both functions in one process here), pointed
    at loopback and moto."""
    return {
        **TEST_CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_DYNAMODB": moto_endpoint,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_endpoint, "SECRET_ARN": SECRET,
        "CONNECTIONS_TABLE": TABLE, "TASK_HOST": "localhost", "TASK_PORT": str(task_port),
        "SCHEDULE_NOTE": SCHEDULE_NOTE, "ALLOWED_CIDRS": "", **overrides,
    }


def apply_environment(monkeypatch, environment: dict[str, str]) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    relay.table.cache_clear()  # the next call builds its client from this environment
    authorizer.client.cache_clear()
    authorizer.secret.cache_clear()  # and reads the secret afresh, as a new Lambda instance does
    relay.ROWS.clear()  # and reads rows afresh, as a new Lambda instance does


def emulator(**options) -> WebSocketApiEmulator:
    return WebSocketApiEmulator(authorizer.handler, relay.handler, **options)


def moto_client(service: str, moto_endpoint: str):
    return boto3.client(service, endpoint_url=moto_endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def dynamodb(moto_endpoint: str):
    return moto_client("dynamodb", moto_endpoint)


def rows(moto_endpoint: str) -> list[dict]:
    return dynamodb(moto_endpoint).scan(TableName=TABLE)["Items"]


@asynccontextmanager
async def bridged_client(url: str, token: str, errlog: Path, mode: str = "legacy") -> AsyncIterator[Client]:
    """The SDK's MCP client talking stdio to a real bridge process; mode "auto" is a 2026-07-28 client (it
    asks `server/discover` first and falls back to `initialize` only if that fails)."""
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "server.bridge", url], cwd=PROJECT_ROOT,
        env={**clean_environment(), "MCP_BRIDGE_TOKEN": token, "PYTHONPATH": os.fspath(PROJECT_ROOT)})
    with errlog.open("a") as stderr:
        async with Client(stdio_client(params, errlog=stderr), mode=mode, read_timeout_seconds=60) as client:
            yield client


async def connect_error(url: str, token: str, errlog: Path) -> str:
    """The MCPError message with which connecting (the initialize request) fails; '' if it succeeds."""
    messages = []
    try:
        async with bridged_client(url, token, errlog) as client:
            await client.list_tools()
    except* MCPError as group:
        messages = [str(error) for error in leaves(group)]
    return "\n".join(messages)


def leaves(error: BaseException):
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from leaves(inner)
    else:
        yield error
