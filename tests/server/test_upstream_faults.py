"""ElevenLabs failures become tool errors a user can act on; retries stay within the time budget."""

from __future__ import annotations

import time

import anyio
import pytest

from tests.server.conftest import UPSTREAM_BUDGET_SECONDS
from tests.server.harness import ELEVENLABS_KEY, call_tool, mcp_client, post_mcp, texts

MODELS = r"^/v1/models$"
SLACK_SECONDS = 2  # scheduling on a busy machine


def list_models(server):
    """The list_models result and how long the call itself took (the client's handshake excluded)."""

    async def timed_call():
        async with mcp_client(server.mcp_url) as client:
            started = time.monotonic()
            result = await client.call_tool("list_models", {})
            return result, time.monotonic() - started

    return anyio.run(timed_call)


def attempts(fake, path="/v1/models") -> int:
    return sum(1 for r in fake.requests if r.path == path)


@pytest.mark.parametrize(
    "status, body, expected",
    [
        (401, None, "rejected this server's ElevenLabs API key (ELEVENLABS_API_KEY) (HTTP 401: Invalid API key)"),
        (401, {"detail": {"status": "quota_exceeded", "message": "Out of credits"}}, "lack of credits or plan"),
        (402, None, "lack of credits or plan (HTTP 402"),
        (403, None, "denied this operation (HTTP 403"),
        (404, None, "found nothing there (HTTP 404"),
        (422, {"detail": [{"loc": ["body", "text"], "msg": "field required"}]}, "text: field required"),
    ],
    ids=["401", "401-quota", "402", "403", "404", "422"],
)
def test_final_errors_are_not_retried_and_explain_themselves(main_server, fake, status, body, expected):
    fake.add_fault(MODELS, status=status, body=body)
    before = attempts(fake)
    result, _ = list_models(main_server)
    assert result.is_error
    assert expected in texts(result)
    assert attempts(fake) - before == 1


def test_429_then_success_is_retried_after_retry_after(main_server, fake):
    fake.add_fault(MODELS, status=429, times=1, retry_after=1)
    before = attempts(fake)
    result, elapsed = list_models(main_server)
    assert not result.is_error, texts(result)
    assert attempts(fake) - before == 2
    assert elapsed >= 1.0  # honoured Retry-After: 1


def test_5xx_exhausted_gives_up_within_budget(main_server, fake):
    fake.add_fault(MODELS, status=500)
    before = attempts(fake)
    result, elapsed = list_models(main_server)
    assert result.is_error
    assert "ElevenLabs had a server error (HTTP 500" in texts(result) and "try again later" in texts(result)
    assert attempts(fake) - before >= 2
    assert elapsed < UPSTREAM_BUDGET_SECONDS + SLACK_SECONDS


def test_429_with_retry_after_beyond_budget_stops_early(main_server, fake):
    fake.add_fault(MODELS, status=429, retry_after=60)
    result, elapsed = list_models(main_server)
    assert result.is_error and "rate limiting this account (HTTP 429" in texts(result)
    assert elapsed < SLACK_SECONDS  # no point waiting 60 s within a 3 s budget


def test_delay_beyond_budget_times_out(main_server, fake):
    fake.add_fault(MODELS, delay=UPSTREAM_BUDGET_SECONDS + 5, times=1)
    result, elapsed = list_models(main_server)
    assert result.is_error
    assert f"did not answer within this call's {UPSTREAM_BUDGET_SECONDS} s budget" in texts(result)
    assert UPSTREAM_BUDGET_SECONDS - 0.5 < elapsed < UPSTREAM_BUDGET_SECONDS + SLACK_SECONDS


def test_connection_reset_once_is_retried(main_server, fake):
    fake.add_fault(MODELS, reset=True, times=1)
    result, _ = list_models(main_server)
    assert not result.is_error, texts(result)


def test_connection_reset_every_time_is_reported(main_server, fake):
    fake.add_fault(MODELS, reset=True)
    result, elapsed = list_models(main_server)
    assert result.is_error and "Could not reach ElevenLabs (connection reset)" in texts(result)
    assert elapsed < UPSTREAM_BUDGET_SECONDS + SLACK_SECONDS


def test_audio_tool_error_and_server_still_healthy(main_server, fake):
    fake.add_fault(r"^/v1/text-to-speech/", status=503, retry_after=0)
    result = call_tool(main_server, "text_to_speech", {"text": "Hello"})
    assert result.is_error and "HTTP 503" in texts(result)
    fake.clear_faults()
    assert not call_tool(main_server, "text_to_speech", {"text": "Hello"}).is_error
    assert post_mcp(main_server, '{"jsonrpc":"2.0","id":1,"method":"tools/list"}').status_code == 200


def test_non_json_error_body_is_described(main_server, fake):
    fake.add_fault(MODELS, status=400, body="upstream says no")
    result, _ = list_models(main_server)
    assert "HTTP 400: upstream says no" in texts(result)


@pytest.mark.parametrize(
    "status, body",
    [
        (400, {"detail": {"status": "invalid", "message": f"key {ELEVENLABS_KEY} is not valid here"}}),
        (401, f"unknown key {ELEVENLABS_KEY}"),
        (500, {"detail": f"internal error for {ELEVENLABS_KEY}"}),
    ],
    ids=["final-400", "final-401", "retried-500"],
)
@pytest.mark.parametrize("mode", ["legacy", "auto"], ids=["2025", "2026"])
def test_an_upstream_error_body_echoing_the_key_reaches_the_client_redacted(main_server, fake, status, body, mode):
    fake.add_fault(MODELS, status=status, body=body, retry_after=0)
    result = call_tool(main_server, "list_models", mode=mode)
    assert result.is_error and "[redacted]" in texts(result), texts(result)
    assert ELEVENLABS_KEY not in texts(result)
    assert ELEVENLABS_KEY not in main_server.stdout()
