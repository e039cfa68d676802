"""A WebSocket server on loopback that behaves as told (an async function of each connection), and the bridge as
a process one can watch: its stdout lines as they come, its stderr, its peak memory."""

from __future__ import annotations

import asyncio
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable

from websockets.asyncio.server import ServerConnection, serve

from tests.server.harness import PROJECT_ROOT, clean_environment

TOKEN = "secret-token-123"
Behaviour = Callable[[ServerConnection], Awaitable[None]]


class LoopbackServer:
    def __init__(self, behaviour: Behaviour):
        self.behaviour = behaviour
        self.paths: list[str] = []
        self.port = 0
        self._ready = threading.Event()
        self._stop: asyncio.Future | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True).start()
        if not self._ready.wait(10):
            raise RuntimeError("the loopback WebSocket server did not start")

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/mcp"

    async def _main(self):
        self._loop = asyncio.get_running_loop()
        self._stop = self._loop.create_future()

        async def handle(connection: ServerConnection):
            self.paths.append(connection.request.path)
            await self.behaviour(connection)

        async with serve(handle, "127.0.0.1", 0, max_size=None, ping_interval=None) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop

    def close(self):
        self._loop.call_soon_threadsafe(self._stop.set_result, None)

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def run_bridge(*args: str, token: str | None = TOKEN, stdin: str = "") -> subprocess.CompletedProcess:
    """`python -m server.bridge ...` to its end, the token (if any) in the environment."""
    env = {**clean_environment(), "PYTHONPATH": os.fspath(PROJECT_ROOT)}
    if token is not None:
        env["MCP_BRIDGE_TOKEN"] = token
    return subprocess.run([sys.executable, "-m", "server.bridge", *args], input=stdin, capture_output=True,
                          text=True, env=env, cwd=PROJECT_ROOT, timeout=30)


class BridgeProcess:
    """`python -m server.bridge URL ...` with the token in the environment; stdout read line by line."""

    def __init__(self, *args: str):
        env = {**clean_environment(), "PYTHONPATH": os.fspath(PROJECT_ROOT), "MCP_BRIDGE_TOKEN": TOKEN}
        self.process = subprocess.Popen([sys.executable, "-m", "server.bridge", *args], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=PROJECT_ROOT)
        self._lines: queue.Queue[bytes] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            self._lines.put(line)

    def send(self, data: bytes) -> None:
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def line(self, timeout: float = 20) -> bytes:
        """The next stdout line, raw (newline included)."""
        return self._lines.get(timeout=timeout)

    def peak_rss_mib(self) -> float:
        """The process's peak resident memory so far (VmHWM)."""
        with open(f"/proc/{self.process.pid}/status") as status:
            kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
        return kib / 1024

    def finish(self, timeout: float = 30) -> tuple[list[bytes], str]:
        """Close stdin; (the stdout lines not read yet, all of stderr) once the bridge has exited."""
        self.process.stdin.close()
        stderr = self.process.stderr.read().decode()
        self.process.wait(timeout)
        self._reader.join(5)
        rest = []
        while not self._lines.empty():
            rest.append(self._lines.get())
        return rest, stderr
