"""The stdio bridge's peak memory (VmHWM, MiB) against a hostile endpoint and a client sending huge lines; prints
JSON. Each case is a fresh `python -m server.bridge` process talking to a WebSocket server on loopback
(tests/websocket/misbehaving.py); `idle` is one ordinary request and reply, the baseline.

    python -m bench.bridge_memory
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # also runnable as `python bench/bridge_memory.py`

from tests.websocket.misbehaving import BridgeProcess, LoopbackServer  # noqa: E402

MiB = 1024 * 1024
REQUEST = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}\n'


async def echo(connection):
    async for message in connection:
        await connection.send(json.dumps({"jsonrpc": "2.0", "id": json.loads(message)["id"], "result": {}}))


async def fragments_200_mb(connection):
    await connection.recv()
    try:
        await connection.send("a" * (64 * 1024) for _ in range(3200))
    except Exception:  # noqa: BLE001 - the bridge closes the connection
        pass


async def frame_200_mb(connection):
    await connection.recv()
    connection.transport.write(b"\x81\x7f" + (200 * MiB).to_bytes(8, "big") + b"a" * (4 * MiB))
    await connection.wait_closed()


def peak(behaviour, stdin: bytes) -> float:
    with LoopbackServer(behaviour) as server:
        bridge = BridgeProcess(server.url)
        bridge.send(stdin)
        bridge.line(timeout=120)
        mib = bridge.peak_rss_mib()
        bridge.finish()
    return round(mib, 1)


def main() -> None:
    line_50_mb = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"a": "' + b"A" * (50 * MiB) + b'"}}\n'
    print(json.dumps({"peak_rss_mib": {
        "idle": peak(echo, REQUEST),
        "server_message_200_mb_in_64_kb_fragments": peak(fragments_200_mb, REQUEST),
        "server_frame_announcing_200_mb": peak(frame_200_mb, REQUEST),
        "stdin_line_50_mb": peak(echo, line_50_mb),
    }}, indent=2))


if __name__ == "__main__":
    main()
