"""End to end: the SDK's MCP client -> stdio bridge -> WebSocket API emulator -> real authorizer and relay
(DynamoDB in moto) -> `python -m server` -> fake ElevenLabs API."""

from __future__ import annotations

import time

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from tests.server.harness import SERVER_KEY, ServerProcess, audio_blocks
from tests.websocket.chain import (SCHEDULE_NOTE, apply_environment, bridged_client, connect_error, emulator,
                                   handler_environment, rows)
from tests.websocket.conftest import server_settings

pytestmark = pytest.mark.timeout(120)


def run(scenario, *args):
    return anyio.run(scenario, *args)


def rows_after_disconnect(endpoint: str, timeout: float = 10) -> list[dict]:
    """The table once $disconnect (run when the bridge has gone) has emptied it, or as it is after `timeout`."""
    deadline = time.monotonic() + timeout
    while (found := rows(endpoint)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


@pytest.mark.parametrize("mode, era", [("legacy", "2025-11-25"), ("auto", "2026-07-28")],
                         ids=["initialize-era", "discover-era"])
def test_tools_work_and_the_connection_has_its_row(table, task, monkeypatch, tmp_path, mode, era):
    apply_environment(monkeypatch, handler_environment(table, task.port))

    async def scenario(url):
        async with bridged_client(url, SERVER_KEY, tmp_path / "bridge.err", mode) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            speech = await client.call_tool("text_to_speech", {"text": "Hello from the relay."})
            models = await client.call_tool("list_models", {})
            return client.protocol_version, names, speech, models, rows(table)

    with emulator() as api:
        version, names, speech, models, during = run(scenario, api.url)
        after = rows_after_disconnect(table)
    assert version == era  # "auto" fell back to initialize if server/discover failed on the way
    assert not models.is_error
    assert {"text_to_speech", "list_models", "search_voices"} <= names
    assert not speech.is_error and audio_blocks(speech)[0].data
    assert len(during) == 1 and during[0]["principal"] == {"S": "api-key"}
    assert during[0]["task"] == {"S": "127.0.0.1"} and int(during[0]["expires"]["N"]) > time.time() + 7000
    assert after == []
    forwarded = [r for r in task.access_records() if r.get("path") == "/mcp"]
    assert forwarded and all(r.get("status") in (200, 202) for r in forwarded)


@pytest.mark.parametrize("token, cidrs", [("wrong-key-0123456789", ""), (SERVER_KEY, "10.0.0.0/8")],
                         ids=["bad-token", "disallowed-ip"])
def test_refused_connections_fail_the_request_with_a_reason(table, task, monkeypatch, tmp_path, token, cidrs):
    apply_environment(monkeypatch, handler_environment(table, task.port, ALLOWED_CIDRS=cidrs))

    with emulator() as api:
        assert "HTTP 403" in run(connect_error, api.url, token, tmp_path / "bridge.err")
    assert "HTTP 403" in (tmp_path / "bridge.err").read_text()
    assert token not in (tmp_path / "bridge.err").read_text()
    assert rows(table) == []


def test_no_task_running_says_when_the_schedule_brings_it_back(table, monkeypatch, tmp_path):
    # Cloud Map has no record while the service is scaled to zero: the name does not resolve.
    apply_environment(monkeypatch, handler_environment(table, 8080, TASK_HOST="tasks.scaled-to-zero.invalid"))

    with emulator() as api:
        message = run(connect_error, api.url, SERVER_KEY, tmp_path / "bridge.err")
    assert "No server task is running" in message and SCHEDULE_NOTE in message


def test_a_restarted_task_takes_over_the_same_session(table, fake, monkeypatch, tmp_path):
    task = ServerProcess(tmp_path, server_settings(fake)).start()
    apply_environment(monkeypatch, handler_environment(table, task.port))

    async def scenario(url):
        async with bridged_client(url, SERVER_KEY, tmp_path / "bridge.err") as client:
            before = await client.call_tool("list_models", {})
            task.process.kill()
            task.process.wait()
            with pytest.raises(MCPError, match="No server task is running"):
                await client.call_tool("list_models", {})
            task.start()  # a new task on the same address, as a replacement task would register
            after = await client.call_tool("list_models", {})
            return before, after, rows(table)

    try:
        with emulator() as api:
            before, after, during = run(scenario, api.url)
    finally:
        task.terminate()
    assert not before.is_error and not after.is_error
    assert len(during) == 1 and during[0]["task"] == {"S": "127.0.0.1"}


def test_a_reply_over_128_kb_becomes_an_error_and_the_connection_stays(table, task, monkeypatch, tmp_path):
    apply_environment(monkeypatch, handler_environment(table, task.port))
    long_text = "This sentence makes many seconds of audio. " * 8  # ~23 s of 128 kbit/s MP3, inline

    async def scenario(url):
        async with bridged_client(url, SERVER_KEY, tmp_path / "bridge.err") as client:
            with pytest.raises(MCPError, match="over 128 KB"):
                await client.call_tool("text_to_speech", {"text": long_text})
            return await client.call_tool("list_models", {})

    with emulator() as api:
        afterwards = run(scenario, api.url)
    assert not afterwards.is_error


@pytest.mark.parametrize("limit", [{"max_connection_seconds": 1}, {"idle_seconds": 1}],
                         ids=["2-hour-limit", "10-minute-idle"])
def test_the_bridge_reconnects_after_api_gateway_closes_the_connection(table, task, monkeypatch, tmp_path, limit):
    apply_environment(monkeypatch, handler_environment(table, task.port))

    async def scenario(url):
        async with bridged_client(url, SERVER_KEY, tmp_path / "bridge.err") as client:
            first = await client.call_tool("list_models", {})
            await anyio.sleep(1.5)  # past the emulator's limit, scaled down from hours and minutes to a second
            return first, await client.call_tool("list_models", {})

    with emulator(**limit) as api:
        first, second = run(scenario, api.url)
    assert not first.is_error and not second.is_error
    log = (tmp_path / "bridge.err").read_text()
    assert "connection closed (1001 Going away)" in log and log.count("connected to") == 2
