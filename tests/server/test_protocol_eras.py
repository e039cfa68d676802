"""What the server advertises and how it answers, the same in both protocol eras: 2025 clients (initialize) and
2026-07-28 clients (server/discover), each through the SDK's real client."""

from __future__ import annotations

import signal
import time

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from tests.server.conftest import _upstream
from tests.server.harness import ServerProcess, mcp_client, texts

ERAS = pytest.mark.parametrize("mode", ["legacy", "auto"], ids=["2025", "2026"])
INVALID_PARAMS = -32602
METHOD_NOT_FOUND = -32601


def run(main_server, mode, action):
    async def go():
        async with mcp_client(main_server.mcp_url, mode=mode) as client:
            return await action(client)

    return anyio.run(go)


def advertised(main_server, mode) -> dict:
    async def capabilities(client):
        return client.server_capabilities.model_dump(by_alias=True, exclude_none=True)

    return run(main_server, mode, capabilities)


def test_both_eras_advertise_the_same_capabilities_and_no_change_notifications(main_server):
    """Nothing this server offers ever changes, and no front door can hold a listen stream: no listChanged, no
    subscribe, in initialize and in server/discover alike."""
    legacy, modern = advertised(main_server, "legacy"), advertised(main_server, "auto")
    assert legacy == modern, (legacy, modern)
    assert {name: bool(value.get("listChanged")) for name, value in modern.items() if isinstance(value, dict)
            and "listChanged" in value} == {"prompts": False, "resources": False, "tools": False}
    assert not modern["resources"].get("subscribe")


def test_subscriptions_listen_is_not_served(main_server):
    async def listen(client):
        started = time.monotonic()
        with pytest.raises(MCPError) as raised:
            async with client.listen(tools_list_changed=True):
                pass
        return raised.value, time.monotonic() - started

    error, elapsed = run(main_server, "auto", listen)
    assert error.error.code == METHOD_NOT_FOUND and elapsed < 2  # at once, not held until a proxy's timeout


def test_sigterm_after_a_listen_attempt_exits_at_once(fake, log_dir):
    server = ServerProcess(log_dir, _upstream(fake)).start()

    async def attempt():
        async with mcp_client(server.mcp_url, mode="auto") as client:
            with pytest.raises(MCPError):
                async with client.listen(tools_list_changed=True):
                    pass
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            await anyio.to_thread.run_sync(server.process.wait, 20)
            return time.monotonic() - started

    elapsed = anyio.run(attempt)
    assert server.process.returncode == 0 and elapsed < 3, elapsed
    assert '"level": "ERROR"' not in server.stdout() and "Traceback" not in server.stdout() + server.stderr()


@ERAS
def test_an_unknown_prompt_is_invalid_params_without_a_traceback(main_server, mode):
    async def get(client):
        with pytest.raises(MCPError) as raised:
            await client.get_prompt("no-such-prompt", {})
        return raised.value

    error = run(main_server, mode, get)
    assert error.error.code == INVALID_PARAMS and "no-such-prompt" in error.error.message
    assert "Traceback" not in main_server.stdout()


@ERAS
def test_invalid_arguments_are_described_in_plain_words(main_server, mode):
    async def call(client):
        return await client.call_tool("text_to_speech", {"text": "", "stability": 7, "output_format": "flac"})

    result = run(main_server, mode, call)
    message = texts(result)
    assert result.is_error and message.startswith("Invalid arguments for text_to_speech: text: ")
    assert "stability: Input should be less than or equal to 1" in message and "output_format: " in message
    assert "pydantic" not in message and "Arguments" not in message and "input_value" not in message
