"""Start-up and shutdown of the real process: configuration errors, SIGTERM drain, port conflicts."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from tests.server.harness import PROJECT_ROOT, SERVER_KEY, ServerProcess, clean_environment, post_mcp

SUBSCRIPTION = "/v1/user/subscription"


def run_server(settings: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**clean_environment(), "MCP_HOST": "127.0.0.1", **settings}
    return subprocess.run(
        [sys.executable, "-m", "server"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=30
    )


def test_missing_key_is_one_clear_line_and_exit_2():
    result = run_server({})
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "elevenlabs-mcp-server: config error: MCP_SERVER_API_KEY: required when MCP_AUTH_MODE is api-key"
    ]
    assert result.stdout == ""


def test_every_problem_is_reported_at_once_without_traceback_or_secret():
    result = run_server(
        {
            "MCP_SERVER_API_KEY": "short-secret",
            "MCP_PORT": "eighty",
            "MCP_ALLOWED_CIDRS": "10.0.0.0/8,not-a-cidr",
            "MCP_UPSTREAM_BUDGET_SECONDS": "30",
            "MCP_DRAIN_SECONDS": "150",
            "MCP_LOG_LEVEL": "LOUD",
            "MCP_OUTPUT_BUCKET": "Bad_Bucket",
            "MCP_ALLOWED_HOSTS": "bad host",
            "ELEVENLABS_BASE_URL": "api.elevenlabs.io",
            "MCP_SSE": "sometimes",
        }
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    variables = [line.split(": ")[2] for line in lines]
    assert sorted(variables) == sorted(
        [
            "MCP_SERVER_API_KEY", "MCP_PORT", "MCP_ALLOWED_CIDRS", "MCP_UPSTREAM_BUDGET_SECONDS",
            "MCP_DRAIN_SECONDS", "MCP_LOG_LEVEL", "MCP_OUTPUT_BUCKET", "MCP_ALLOWED_HOSTS",
            "ELEVENLABS_BASE_URL", "MCP_SSE",
        ]
    )  # fmt: skip
    assert all(line.startswith("elevenlabs-mcp-server: config error: ") for line in lines)
    assert "Traceback" not in result.stderr and "short-secret" not in result.stderr


def test_tokens_mode_needs_its_table():
    result = run_server({"MCP_AUTH_MODE": "tokens"})
    assert result.returncode == 2
    assert "config error: MCP_TOKENS_TABLE: required when MCP_AUTH_MODE is tokens" in result.stderr


def test_port_in_use_exits_non_zero_without_traceback():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = run_server({"MCP_SERVER_API_KEY": SERVER_KEY, "MCP_PORT": str(busy.getsockname()[1])})
    assert result.returncode not in (0, 2)  # uvicorn's start-up failure status (3), not a config error
    assert "Traceback" not in result.stderr + result.stdout
    assert "address already in use" in result.stdout.lower()


@pytest.fixture
def draining_server(fake, log_dir, request):
    server = ServerProcess(
        log_dir,
        {"ELEVENLABS_API_KEY": "sk_fake_valid_key", "ELEVENLABS_BASE_URL": fake.url, **request.param},
    ).start()
    yield server
    if server.process.poll() is None:
        server.process.kill()


def start_slow_call(server, fake, delay: float) -> tuple[threading.Thread, dict]:
    """A check_subscription call that ElevenLabs answers after `delay` s; returns once it is in flight.

    Sent as one raw POST (the server is stateless): the SDK client would also open a GET stream in
    the background, whose reconnection attempts during shutdown are not what is tested here.
    """
    fake.add_fault(f"^{SUBSCRIPTION}$", delay=delay, times=1)
    seen = sum(1 for r in fake.requests if r.path == SUBSCRIPTION)
    outcome: dict = {}

    def call() -> None:
        try:
            call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "check_subscription"}}
            outcome["result"] = post_mcp(server, json.dumps(call))
        except BaseException as error:  # the client's failure is the outcome under test
            outcome["error"] = error

    thread = threading.Thread(target=call)
    thread.start()
    deadline = time.monotonic() + 10
    while sum(1 for r in fake.requests if r.path == SUBSCRIPTION) == seen:
        assert time.monotonic() < deadline, "the slow call never reached the fake"
        time.sleep(0.01)
    return thread, outcome


def refuses_connections_soon(base_url: str, within: float = 2.5) -> bool:
    """True once /health stops answering: refused, or reset when the listener closes under it.

    A connection the kernel accepted into the backlog just before the listener closed is reset
    (ECONNRESET, httpx.ReadError) rather than refused; both mean the server no longer serves.
    """
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base_url}/health", timeout=1)
        except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("draining_server", [{"MCP_DRAIN_SECONDS": "10"}], indirect=True)
def test_sigterm_lets_the_in_flight_call_finish_then_exits_0(draining_server, fake):
    thread, outcome = start_slow_call(draining_server, fake, delay=3)
    draining_server.process.send_signal(signal.SIGTERM)
    assert refuses_connections_soon(draining_server.base_url)
    assert thread.is_alive()  # the listener closed while the call was still in flight

    thread.join(15)
    assert "error" not in outcome, outcome.get("error")
    response = outcome["result"]
    assert response.status_code == 200
    result = response.json()["result"]
    assert not result["isError"] and json.loads(result["content"][0]["text"])["tier"] == "creator"
    assert draining_server.process.wait(10) == 0
    messages = [r["msg"] for r in draining_server.log_records()]
    assert "signal received, draining" in messages
    assert "Traceback" not in draining_server.stderr()


@pytest.mark.parametrize("draining_server", [{"MCP_DRAIN_SECONDS": "1"}], indirect=True)
def test_drain_period_caps_the_wait(draining_server, fake):
    thread, outcome = start_slow_call(draining_server, fake, delay=8)
    signalled = time.monotonic()
    draining_server.process.send_signal(signal.SIGTERM)
    assert draining_server.process.wait(10) == 0
    assert time.monotonic() - signalled < 6  # 1 s of drain, plus shutdown on a busy machine
    thread.join(15)
    # Cut off when the drain period ended: uvicorn answers 500 for a cancelled request.
    assert outcome["result"].status_code == 500
