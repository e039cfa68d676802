"""Driving real processes on loopback: the fake ElevenLabs API, `python -m server`, an MCP client.

Shared by the load test, the container test and bench/server_bench.py.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import AsyncIterator, Iterator

import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from tests.localaws import free_port  # noqa: F401  (re-exported: tests import it from here)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"


def new_api_key() -> str:
    return secrets.token_urlsafe(32)


def server_env(upstream_url: str, elevenlabs_key: str, server_key: str, port: int,
               **overrides: str) -> dict[str, str]:
    """Environment for the server, following the server's env contract."""
    return {
        "ELEVENLABS_BASE_URL": upstream_url,
        "ELEVENLABS_API_KEY": elevenlabs_key,
        "MCP_SERVER_API_KEY": server_key,
        "MCP_AUTH_MODE": "api-key",
        "MCP_HOST": LOOPBACK,
        "MCP_PORT": str(port),
        "MCP_LOG_LEVEL": "WARNING",
        **overrides,
    }


@contextmanager
def fake_upstream_process(*cli_args: str) -> Iterator[str]:
    """Run `python -m tests.fakes.elevenlabs_api` in its own process; yields its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.elevenlabs_api", "--port", "0", *cli_args],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline().strip()
        if not line.startswith("LISTENING http://127.0.0.1:"):
            raise RuntimeError(f"fake ElevenLabs API did not start (first line: {line!r})")
        yield line.split(" ", 1)[1]
    finally:
        stop_process(process)


@contextmanager
def server_process(env: dict[str, str], log_path: Path, python: str = sys.executable) -> Iterator[subprocess.Popen]:
    """Run `python -m server` (this project's code, with `python`'s packages) with `env` added to ours; output goes
    to `log_path`."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [python, "-m", "server"], cwd=PROJECT_ROOT,
            env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            stop_process(process)


def stop_process(process: subprocess.Popen, timeout: float = 40) -> None:
    """SIGTERM, then SIGKILL if it outlives `timeout` (above the server's drain time)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait_for_health(base_url: str, process: subprocess.Popen, log_path: Path,
                    timeout: float = 60) -> None:
    """Poll GET /health until 200; fail early with the log if the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode}):\n{tail(log_path)}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server not healthy after {timeout} s:\n{tail(log_path)}")


def tail(log_path: Path, chars: int = 4000) -> str:
    return log_path.read_text(errors="replace")[-chars:] if log_path.exists() else ""


@asynccontextmanager
async def mcp_client(mcp_url: str, server_key: str) -> AsyncIterator[Client]:
    """The SDK's Client over streamable HTTP, authenticated with the server's API key."""
    headers = {"Authorization": f"Bearer {server_key}"}
    async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
        async with Client(streamable_http_client(mcp_url, http_client=http), cache=None) as client:
            yield client
