"""Run `python -m server` as a real process and talk to it with the SDK's MCP client."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
import httpx2
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

from tests.fakes.elevenlabs_api import FAKE_API_KEY
from tests.localaws import free_port

SERVER_KEY = "test-server-key-6f1d0c2b9a"
ELEVENLABS_KEY = FAKE_API_KEY
BEARER = {"Authorization": f"Bearer {SERVER_KEY}"}
PROJECT_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 20


def clean_environment() -> dict[str, str]:
    """The test process's environment without anything that configures the server or AWS."""
    prefixes = ("MCP_", "ELEVENLABS_", "AWS_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


class ServerProcess:
    """`python -m server` on a free loopback port; stdout (the JSON logs) and stderr go to files."""

    def __init__(self, log_dir: Path, settings: dict[str, str]):
        self.port = free_port()
        self.env = {
            **clean_environment(),
            "MCP_HOST": "127.0.0.1",
            "MCP_PORT": str(self.port),
            "MCP_SERVER_API_KEY": SERVER_KEY,
            **settings,
        }
        self.stdout_path = log_dir / f"server-{self.port}.out"
        self.stderr_path = log_dir / f"server-{self.port}.err"
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"

    def start(self) -> ServerProcess:
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server"], cwd=PROJECT_ROOT, env=self.env, stdout=out, stderr=err
            )
        self._wait_until_healthy()
        return self

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.stderr()}\n{self.stdout()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.02)
        raise RuntimeError(f"server not healthy within {READY_TIMEOUT_SECONDS} s:\n{self.stdout()}")

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, then the exit status (the process is killed if it does not exit in time)."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def log_records(self) -> list[dict]:
        """Every stdout line parsed as JSON (a line that is not JSON fails the test)."""
        return [json.loads(line) for line in self.stdout().splitlines() if line.strip()]

    def access_records(self) -> list[dict]:
        return [r for r in self.log_records() if r.get("logger") == "server.access"]


@asynccontextmanager
async def mcp_client(url: str, headers: dict[str, str] | None = None, mode: str = "legacy") -> AsyncIterator[Client]:
    """The SDK's real client over streamable HTTP. mode "legacy" = 2025 handshake, "auto" = 2026 protocol."""
    http = httpx2.AsyncClient(headers=BEARER if headers is None else headers, timeout=60)
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        yield client


def call_tool(
    server: ServerProcess, name: str, arguments: dict | None = None, *, headers: dict | None = None, mode="legacy"
) -> CallToolResult:
    async def call() -> CallToolResult:
        async with mcp_client(server.mcp_url, headers, mode) as client:
            return await client.call_tool(name, arguments or {})

    return anyio.run(call)


def texts(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


def audio_blocks(result: CallToolResult) -> list:
    return [block for block in result.content if block.type == "audio"]


def post_mcp(server: ServerProcess, body: bytes | str, headers: dict | None = None, **kwargs) -> httpx.Response:
    """A raw POST to /mcp, for checks below the MCP client (status codes, headers, malformed bodies)."""
    base = {"content-type": "application/json", "accept": "application/json, text/event-stream", **BEARER}
    return httpx.post(server.mcp_url, content=body, headers={**base, **(headers or {})}, timeout=30, **kwargs)


TOOLS_LIST = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
