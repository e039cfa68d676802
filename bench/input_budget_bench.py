"""Benchmark the server against the worst audio inputs its tools accept; prints JSON.

Each scenario runs on a fresh `python -m server` (default limits: MCP_MEMORY_MIB=512 like the smallest task,
MCP_MAX_INPUT_BYTES 20 MiB, MCP_MAX_CALL_INPUT_BYTES 40 MiB, a 25 s budget per call) in front of the fake
ElevenLabs API (its own process), with input URLs served from loopback (the test-only switch
MCP_ALLOW_INSECURE_INPUT_URLS lets the server fetch them). Per scenario: the server's peak RSS (VmHWM), whether it
survived, the slowest call's duration, and how the calls ended (served, refused at the per-call cap, told the
server is busy, cut at the call's time budget, other errors).

The bars (issue 16): one worst call keeps the server under the task's 512 MiB and answers within the front
door's 29 s; ten at once leave it alive, some told to retry.

    python -m bench.input_budget_bench [--only NAME]
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # also runnable as `python bench/input_budget_bench.py`

import anyio  # noqa: E402

from tests.fakes.elevenlabs_api import FAKE_API_KEY  # noqa: E402

from tests.load.harness import (  # noqa: E402
    fake_upstream_process, free_port, mcp_client, new_api_key, server_env, server_process, wait_for_health,
)

MiB = 1024 * 1024
INPUT_BYTES = 20 * MiB - 1024  # just under the default MCP_MAX_INPUT_BYTES
TASK_MEMORY_MIB = 512
FRONT_DOOR_SECONDS = 29
CHUNK = b"\xff" * 65536
BASE64_INPUT = base64.b64encode(b"\xff" * (3 * MiB - 4096)).decode()  # the largest under the 4 MiB body limit


class InputHost:
    """/big?<n>: INPUT_BYTES of audio-ish bytes; /slow?<n>: 100 KB trickled over 8 s (a slow host)."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, kind: str, i: int) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{kind}?{i}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        slow = self.path.startswith("/slow")
        size = 100_000 if slow else INPUT_BYTES
        self.send_response(200)
        self.send_header("Content-Type", "audio/mpeg")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        try:
            for start in range(0, size, len(CHUNK)):
                self.wfile.write(CHUNK[: min(len(CHUNK), size - start)])
                if slow:
                    time.sleep(8 / (size / len(CHUNK)))
        except OSError:
            pass  # the server stopped reading: what a cap or a deadline does

    def log_message(self, *args) -> None:
        pass


def scenarios(host: InputHost) -> dict[str, tuple[str, callable, int]]:
    """name -> (tool, arguments for call i, number of concurrent calls)."""
    def clone(count: int, kind: str = "big"):
        return lambda i: {"name": f"v{i}", "sample_urls": [host.url(kind, i * 100 + j) for j in range(count)]}

    worst_clone, two_clone, slow_clone = clone(25), clone(2), clone(6, "slow")
    transcribe = lambda i: {"audio_url": host.url("big", i)}  # noqa: E731
    inline = lambda i: {"audio_base64": BASE64_INPUT}  # noqa: E731
    return {
        "voice_clone_25x20MiB_x1": ("voice_clone", worst_clone, 1),
        "voice_clone_2x20MiB_x1": ("voice_clone", two_clone, 1),
        "speech_to_text_20MiB_x1": ("speech_to_text", transcribe, 1),
        "voice_clone_6_slow_urls_x1": ("voice_clone", slow_clone, 1),
        "voice_clone_25x20MiB_x10": ("voice_clone", worst_clone, 10),
        "voice_clone_2x20MiB_x10": ("voice_clone", two_clone, 10),
        "speech_to_text_20MiB_x10": ("speech_to_text", transcribe, 10),
        "speech_to_text_base64_3MiB_x10": ("speech_to_text", inline, 10),
    }


def outcome(result) -> str:
    text = " ".join(block.text for block in result.content if block.type == "text")
    return "served" if not result.is_error else classify(text)


def outcome_of_error(error: BaseException) -> str:
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return classify(f"{type(error).__name__}: {error}")


def classify(text: str) -> str:
    for marker, name in (("busy", "busy_retry"), ("in all", "per_call_cap"), ("budget", "time_budget")):
        if marker in text:
            return name
    return "other_error: " + text[:120]


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def run_scenario(upstream: str, host: InputHost, tool: str, arguments, calls: int, log_dir: Path) -> dict:
    server_key, port = new_api_key(), free_port()
    env = server_env(upstream, FAKE_API_KEY, server_key, port, MCP_ALLOW_INSECURE_INPUT_URLS="true")
    log_path = log_dir / f"server-{port}.log"
    with server_process(env, log_path) as process:
        wait_for_health(f"http://127.0.0.1:{port}", process, log_path)
        started_rss = peak_rss_mib(process.pid)
        durations, outcomes = [], []

        async def one(i: int) -> None:
            started = time.monotonic()
            try:
                async with mcp_client(f"http://127.0.0.1:{port}/mcp", server_key) as client:
                    started = time.monotonic()
                    outcomes.append(outcome(await client.call_tool(tool, arguments(i))))
            except Exception as error:  # noqa: BLE001 (a 503 busy reaches the SDK's client as an MCPError)
                outcomes.append(outcome_of_error(error))
            durations.append(time.monotonic() - started)

        async def all_calls() -> None:
            async with anyio.create_task_group() as group:
                for i in range(calls):
                    group.start_soon(one, i)

        try:
            anyio.run(all_calls)
        except Exception as error:  # noqa: BLE001 (a dead server is a result, not a crash of the bench)
            outcomes.append(f"client_error: {type(error).__name__}")
        alive = process.poll() is None
        peak = peak_rss_mib(process.pid) if alive else float("nan")
    counts: dict[str, int] = {}
    for item in outcomes:
        counts[item] = counts.get(item, 0) + 1
    slowest = round(max(durations), 2) if durations else None
    return {
        "calls": calls,
        "outcomes": counts,
        "server_alive": alive,
        "server_peak_rss_mib": peak,
        "server_rss_after_start_mib": started_rss,
        "slowest_call_s": slowest,
        "under_task_memory": alive and peak < TASK_MEMORY_MIB,
        "within_front_door": slowest is not None and slowest < FRONT_DOOR_SECONDS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run one scenario by name")
    args = parser.parse_args()
    host = InputHost()
    results = {}
    try:
        with fake_upstream_process("--latency", "0") as upstream, tempfile.TemporaryDirectory() as logs:
            for name, (tool, arguments, calls) in scenarios(host).items():
                if args.only and name != args.only:
                    continue
                results[name] = run_scenario(upstream, host, tool, arguments, calls, Path(logs))
                print(f"{name}: {json.dumps(results[name])}", file=sys.stderr)
    finally:
        host.close()
    print(json.dumps({"input_bytes_each": INPUT_BYTES, "task_memory_mib": TASK_MEMORY_MIB, "scenarios": results},
                     indent=2))


if __name__ == "__main__":
    main()
