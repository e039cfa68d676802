"""Bounded load on loopback: 50 concurrent MCP clients x 20 tool calls against `python -m server`,
with the fake ElevenLabs API failing a share of requests with 429/503, which the server retries."""

import asyncio
import time
from collections import Counter

import anyio
import httpx

from tests.fakes.elevenlabs_api import FAKE_API_KEY
from tests.load.harness import (
    LOOPBACK, fake_upstream_process, free_port, mcp_client, new_api_key,
    server_env, server_process, wait_for_health,
)

CLIENTS = 50
CALLS_PER_CLIENT = 20
TIME_LIMIT_SECONDS = 120
# The server makes up to 4 attempts per upstream call, so a call fails only if all 4
# attempts draw a fault: at 10% that happens to ~1 in 10 runs of 1,000 calls (a flaky
# test); at 3% to ~1 in 1,200 runs, while ~30 calls still go through a retry.
FAULT_RATE = 0.03
# Alternating a small JSON answer and an audio answer: (tool, arguments, upstream path).
CALLS = [
    ("list_models", {}, "/v1/models"),
    ("text_to_speech", {"text": "Load test.", "voice_id": "JBFqnCBsd6RMkjVDRZzb"},
     "/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb"),
]


def test_fifty_clients_see_no_errors_despite_upstream_faults(tmp_path):
    fault_args = ("--fault-rate", str(FAULT_RATE), "--fault-statuses", "429,503", "--latency", "0")
    with fake_upstream_process(*fault_args) as upstream_url:
        port = free_port()
        env = server_env(upstream_url, FAKE_API_KEY, new_api_key(), port)
        log_path = tmp_path / "server.log"
        with server_process(env, log_path) as process:
            base_url = f"http://{LOOPBACK}:{port}"
            wait_for_health(base_url, process, log_path)
            started = time.monotonic()
            failures = asyncio.run(run_clients(f"{base_url}/mcp", env["MCP_SERVER_API_KEY"]))
            elapsed = time.monotonic() - started
        upstream_calls = Counter(
            request["path"] for request in httpx.get(f"{upstream_url}/_fake/requests").json()
        )

    assert failures == []
    assert elapsed < TIME_LIMIT_SECONDS
    calls_per_tool = CLIENTS * CALLS_PER_CLIENT // len(CALLS)
    for _tool, _arguments, path in CALLS:
        assert upstream_calls[path] >= calls_per_tool
    # Faults were injected and retried: more upstream requests than tool calls.
    assert sum(upstream_calls.values()) > CLIENTS * CALLS_PER_CLIENT


async def run_clients(mcp_url: str, server_key: str) -> list[str]:
    failures: list[str] = []
    async with anyio.create_task_group() as group:
        for client_number in range(CLIENTS):
            group.start_soon(one_client, mcp_url, server_key, client_number, failures)
    return failures


async def one_client(mcp_url: str, server_key: str, client_number: int, failures: list[str]):
    try:
        async with mcp_client(mcp_url, server_key) as client:
            for call_number in range(CALLS_PER_CLIENT):
                tool, arguments, _path = CALLS[call_number % len(CALLS)]
                result = await client.call_tool(tool, arguments)
                if result.is_error or not result.content:
                    failures.append(f"client {client_number} call {call_number} {tool}: {result.content}")
    except Exception as error:  # any transport or protocol failure is a client-visible error
        failures.append(f"client {client_number}: {type(error).__name__}: {error}")
