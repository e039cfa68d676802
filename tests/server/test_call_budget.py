"""One budget per tool call (server.call_budget): inputs and ElevenLabs share one deadline, a call's inputs are
capped in all, and the input memory of all calls together answers 'busy, retry' when full. Each in both eras."""

from __future__ import annotations

import base64
import time

import anyio
import pytest

from tests.server.audio_host import MID_FILE_BYTES, SLOW_SECONDS
from tests.server.conftest import _running, _upstream
from tests.server.harness import call_tool, mcp_client, texts

BUDGET_SECONDS = 3
MAX_CALL_INPUT_BYTES = 2 * MID_FILE_BYTES + 40_000  # two mid-size inputs fit, three do not
MEMORY_MIB = 193  # leaves 1/3 MiB of input memory (a third of what is above 192 MiB): one call of two inputs, not two
SLACK_SECONDS = 1.5
ERAS = pytest.mark.parametrize("mode", ["legacy", "auto"], ids=["2025", "2026"])


@pytest.fixture(scope="module")
def budget_server(fake, log_dir):
    yield from _running(
        log_dir,
        {
            **_upstream(fake),
            "MCP_ALLOW_INSECURE_INPUT_URLS": "true",
            "MCP_UPSTREAM_BUDGET_SECONDS": str(BUDGET_SECONDS),
            "MCP_MAX_INPUT_BYTES": str(MID_FILE_BYTES + 1000),
            "MCP_MAX_CALL_INPUT_BYTES": str(MAX_CALL_INPUT_BYTES),
            "MCP_MEMORY_MIB": str(MEMORY_MIB),
        },
    )


def clone(urls: list[str]) -> dict:
    return {"name": "Budget", "sample_urls": urls}


def uploads(fake) -> int:
    return sum(1 for request in fake.requests if request.path == "/v1/voices/add")


@ERAS
def test_the_inputs_of_one_call_are_capped_in_all(budget_server, fake, audio_host, mode):
    before = uploads(fake)
    three = [f"{audio_host.url}/mid.mp3?{i}" for i in range(3)]
    result = call_tool(budget_server, "voice_clone", clone(three), mode=mode)
    assert result.is_error and f"limited to {MAX_CALL_INPUT_BYTES} bytes in all" in texts(result)
    assert uploads(fake) == before  # refused before spending anything upstream
    result = call_tool(budget_server, "voice_clone", clone(three[:2]), mode=mode)
    assert not result.is_error, texts(result)


@ERAS
def test_a_call_past_the_servers_input_memory_is_told_to_retry(budget_server, fake, audio_host, mode):
    """Two calls of two inputs at once need more than the 1/3 MiB of input memory: one is served, one is busy."""
    fake.add_fault(r"^/v1/voices/add$", delay=1.0)  # holds the first call's inputs while the second arrives
    results = []

    async def one_call(delay: float):
        await anyio.sleep(delay)
        async with mcp_client(budget_server.mcp_url, mode=mode) as client:
            urls = [f"{audio_host.url}/mid.mp3?{delay}{i}" for i in range(2)]
            results.append(await client.call_tool("voice_clone", clone(urls)))

    async def both():
        async with anyio.create_task_group() as group:
            group.start_soon(one_call, 0.0)
            group.start_soon(one_call, 0.5)

    anyio.run(both)
    errors = [texts(r) for r in results if r.is_error]
    assert len(results) == 2 and len(errors) == 1, [texts(r) for r in results]
    assert "busy" in errors[0] and "Retry" in errors[0] and "MCP_MEMORY_MIB" in errors[0], errors
    fake.clear_faults()
    again = call_tool(budget_server, "voice_clone", clone([f"{audio_host.url}/mid.mp3?again{i}" for i in range(2)]),
                      mode=mode)
    assert not again.is_error, texts(again)  # the memory was given back when the calls ended


@ERAS
def test_slow_inputs_draw_on_the_calls_deadline(budget_server, fake, audio_host, mode):
    """Three inputs of 2 s each took 6 s one after another; the call now ends at its 3 s budget."""
    before = uploads(fake)
    started = time.monotonic()
    result = call_tool(budget_server, "voice_clone", clone([f"{audio_host.url}/slow.mp3?{i}" for i in range(3)]),
                       mode=mode)
    elapsed = time.monotonic() - started
    assert result.is_error and "time budget" in texts(result) and "MCP_UPSTREAM_BUDGET_SECONDS" in texts(result)
    assert elapsed < BUDGET_SECONDS + SLACK_SECONDS, elapsed
    assert uploads(fake) == before


@ERAS
def test_input_time_and_upstream_time_add_up_to_one_budget(budget_server, fake, audio_host, mode):
    """A 2 s input then a 2 s ElevenLabs answer: 4 s before, now cut at the call's 3 s."""
    fake.add_fault(r"^/v1/speech-to-text$", delay=SLOW_SECONDS)
    started = time.monotonic()
    result = call_tool(budget_server, "speech_to_text", {"audio_url": f"{audio_host.url}/slow.mp3"}, mode=mode)
    elapsed = time.monotonic() - started
    assert result.is_error and f"this call's {BUDGET_SECONDS} s budget" in texts(result), texts(result)
    assert elapsed < BUDGET_SECONDS + SLACK_SECONDS, elapsed


@ERAS
def test_a_large_body_past_the_servers_input_memory_is_told_to_retry(budget_server, fake, mode):
    """A 300 KB base64 body costs the SDK ~6x its size while handled; the 1/3 MiB of input memory has no room."""
    before = len(fake.requests)
    audio = base64.b64encode(b"\xff" * 300_000).decode()
    try:
        result = call_tool(budget_server, "speech_to_text", {"audio_base64": audio}, mode=mode)
        message = texts(result)
    except Exception as error:  # noqa: BLE001 (what the SDK's client raises for the 503 is part of what we check)
        message = repr(error)
    assert "busy" in message and "Retry" in message, message
    assert len(fake.requests) == before
    small = call_tool(budget_server, "speech_to_text", {"audio_base64": base64.b64encode(b"\xff" * 1000).decode()},
                      mode=mode)
    assert not small.is_error, texts(small)  # the memory was given back
