"""Benchmark the MCP server (`python -m server`); prints JSON (medians over --runs).

Per run, a fresh server process in front of the fake ElevenLabs API (its own process,
zero added latency), all on loopback:
- start: process spawn to the first successful tools/list (the SDK's client, streamable HTTP),
  in wall time and in the server's CPU time (steadier on a busy machine);
- RSS: the server's VmHWM (peak resident set) after start, and after all the calls below;
- overhead: p50/p90 latency of a list_models tool call through the server minus p50/p90 of
  the same upstream request (GET /v1/models) sent directly. Both are sent with a
  keep-alive httpx2 client (what the server itself uses upstream), so the difference is
  the server's; the SDK client's latency is reported alongside (it adds its own processing);
- throughput: list_models calls per second from --concurrency concurrent requests (one
  server worker), and the server's CPU time per call (the per-core capacity is its inverse).
For comparison, the official stdio-only `elevenlabs-mcp` (PyPI, installed into its own venv
in the cache dir): spawn to the first tools/list over stdio, and its peak RSS.

With --as-image, our server runs with only the image's packages (a venv in the cache dir made as the Dockerfile
makes /opt/venv: server/requirements.lock, hash-checked, then byte-compiled), as the official server runs with
only its own: the development venv holds test tools that change what the SDKs import at start (e.g. `rich`).

    python -m bench.server_bench [--runs 5] [--skip-official] [--as-image]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # also runnable as `python bench/server_bench.py`

import httpx2  # noqa: E402
from mcp import Client, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

from tests.fakes.elevenlabs_api import FAKE_API_KEY  # noqa: E402
from tests.load.harness import (  # noqa: E402
    LOOPBACK, fake_upstream_process, free_port, mcp_client, new_api_key, server_env, server_process,
)

BARS = {"start_seconds": 1.0, "peak_rss_mib": 90, "overhead_ms_p50": 3.0, "calls_per_second": 300}
WARM_UP_CALLS = 20
TOOL_CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
             "params": {"name": "list_models", "arguments": {}}}
OFFICIAL_PACKAGE = "elevenlabs-mcp==0.12.2"
CACHE = Path.home() / ".cache" / "mcpdeploy-bench"
# Any request the official server might try goes to a closed loopback port, never the internet.
NO_INTERNET = {"HTTP_PROXY": f"http://{LOOPBACK}:9", "HTTPS_PROXY": f"http://{LOOPBACK}:9"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency-calls", type=int, default=300)
    parser.add_argument("--throughput-calls", type=int, default=1600)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--skip-official", action="store_true")
    parser.add_argument("--as-image", action="store_true", help="run our server with the image's packages only")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    args.python = str(image_venv_python()) if args.as_image else sys.executable
    official = None if args.skip_official else official_command_or_error()
    runs, official_runs = [], []
    with fake_upstream_process("--latency", "0") as upstream_url:
        for _ in range(args.runs):
            runs.append(measure_our_server(upstream_url, args))
            if isinstance(official, Path):  # right after ours, so both starts see the same machine load
                official_runs.append(asyncio.run(official_start(official)))
    report = {"benchmark": "MCP server (python -m server)", "runs": args.runs, "python": args.python,
              "cpus": os.cpu_count(), "load_average_1m": [load_before, os.getloadavg()[0]],
              **summarize(runs), "bars": BARS}
    report["bars_missed_by"] = missed_bars(report)
    if report["bars_missed_by"]:
        report["slowest_imports_cumulative_ms"] = slowest_imports()
    if official_runs:
        report["official_elevenlabs_mcp"] = summarize_official(official_runs)
        report["start_vs_official"] = start_ratios(runs, official_runs)
    elif official is not None:
        report["official_elevenlabs_mcp"] = {"error": official}
    print(json.dumps(report, indent=2))


def measure_our_server(upstream_url: str, args: argparse.Namespace) -> dict:
    port = free_port()
    env = server_env(upstream_url, FAKE_API_KEY, new_api_key(), port)
    mcp_url, key = f"http://{LOOPBACK}:{port}/mcp", env["MCP_SERVER_API_KEY"]
    with tempfile.TemporaryDirectory() as tmp:
        # The client's HTTP client (its CA bundle alone takes ~0.1 s) is made before the clock starts:
        # the start time is the server's.
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60)
        spawned = time.perf_counter()
        with server_process(env, Path(tmp) / "server.log", python=args.python) as process:
            asyncio.run(first_tools_list(mcp_url, port, http, process))
            run = {"start_seconds": time.perf_counter() - spawned,
                   "start_cpu_seconds": cpu_seconds(process.pid),
                   "rss_after_start_mib": peak_rss_mib(process.pid)}
            run.update(asyncio.run(latencies(upstream_url, mcp_url, key, args.latency_calls)))
            cpu_before = cpu_seconds(process.pid)
            run["calls_per_second"] = asyncio.run(throughput(mcp_url, key, args))
            calls = args.throughput_calls // args.concurrency * args.concurrency
            run["server_cpu_ms_per_call"] = (cpu_seconds(process.pid) - cpu_before) * 1000 / calls
            run["peak_rss_mib"] = peak_rss_mib(process.pid)
    return run


async def first_tools_list(mcp_url: str, port: int, http: httpx2.AsyncClient, process: subprocess.Popen) -> None:
    """Wait (cheaply) until the port accepts connections, then until tools/list succeeds."""
    async with http:
        while not port_accepts(port):
            if process.poll() is not None:
                raise SystemExit(f"server exited with {process.returncode} before answering")
            await asyncio.sleep(0.005)
        for _attempt in range(100):
            try:
                async with Client(streamable_http_client(mcp_url, http_client=http), cache=None) as client:
                    if (await client.list_tools()).tools:
                        return
            except Exception:  # listening but not serving yet (lifespan start-up): try again
                await asyncio.sleep(0.005)
    raise SystemExit("the server listens but never answered tools/list")


def port_accepts(port: int) -> bool:
    try:
        socket.create_connection((LOOPBACK, port), timeout=0.1).close()
        return True
    except OSError:
        return False


async def latencies(upstream_url: str, mcp_url: str, key: str, calls: int) -> dict:
    async with httpx2.AsyncClient(headers={"xi-api-key": FAKE_API_KEY}) as upstream, \
            httpx2.AsyncClient(headers=mcp_headers(key)) as server, \
            mcp_client(mcp_url, key) as sdk:
        direct = await sample(lambda: checked_get(upstream, f"{upstream_url}/v1/models"), calls)
        raw = await sample(lambda: checked_tool_call(server, mcp_url), calls)
        via_sdk = await sample(lambda: checked_sdk_call(sdk), calls)
    return {
        "direct_ms_p50": percentile(direct, 50), "direct_ms_p90": percentile(direct, 90),
        "call_ms_p50": percentile(raw, 50), "call_ms_p90": percentile(raw, 90),
        "sdk_call_ms_p50": percentile(via_sdk, 50),
    }


async def sample(send, calls: int) -> list[float]:
    """Milliseconds each of `calls` sequential sends took, after a warm-up."""
    for _ in range(WARM_UP_CALLS):
        await send()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        await send()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def checked_get(http: httpx2.AsyncClient, url: str) -> None:
    (await http.get(url)).raise_for_status()


async def checked_tool_call(http: httpx2.AsyncClient, mcp_url: str) -> None:
    response = await http.post(mcp_url, json=TOOL_CALL)
    response.raise_for_status()
    answer = response.json()
    if "error" in answer or answer["result"].get("isError"):
        raise SystemExit(f"list_models failed during the benchmark: {answer}")


async def checked_sdk_call(client: Client) -> None:
    if (await client.call_tool("list_models", {})).is_error:
        raise SystemExit("list_models failed during the benchmark (SDK client)")


def mcp_headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Accept": "application/json, text/event-stream"}


async def throughput(mcp_url: str, key: str, args: argparse.Namespace) -> float:
    per_worker = args.throughput_calls // args.concurrency
    limits = httpx2.Limits(max_connections=args.concurrency)
    async with httpx2.AsyncClient(headers=mcp_headers(key), limits=limits) as http:

        async def worker() -> None:
            for _ in range(per_worker):
                await checked_tool_call(http, mcp_url)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        return per_worker * args.concurrency / (time.perf_counter() - started)


def image_venv_python() -> Path:
    """A venv with the image's packages only, made once per requirements.lock (as the Dockerfile's builder does)."""
    lock = ROOT / "server" / "requirements.lock"
    venv = CACHE / f"server-image-venv-{hashlib.sha256(lock.read_bytes()).hexdigest()[:12]}"
    python = venv / "bin" / "python"
    if not python.exists():
        steps = [[sys.executable, "-m", "venv", str(venv)],
                 [str(venv / "bin" / "pip"), "install", "-q", "--require-hashes", "--only-binary", ":all:",
                  "-r", str(lock)],
                 [str(python), "-m", "compileall", "-q", str(venv / "lib")]]
        for step in steps:
            result = subprocess.run(step, capture_output=True, text=True, timeout=900)
            if result.returncode != 0:
                shutil.rmtree(venv, ignore_errors=True)
                raise SystemExit(f"cannot make the image's venv: {result.stderr[-1000:]}")
    return python


def official_command_or_error() -> Path | str:
    try:
        return official_server_command()
    except RuntimeError as error:
        return str(error)


def start_ratios(ours: list[dict], official: list[dict]) -> dict:
    """Our start over the official server's, per pair of starts run back to back: below 1 means ours is faster.
    The CPU ratio is the steadier one on a shared machine (it does not count time spent waiting for a core)."""
    def median_ratio(our_key: str, their_key: str) -> float:
        return round(statistics.median(o[our_key] / t[their_key] for o, t in zip(ours, official)), 3)

    return {"wall_ratio_median": median_ratio("start_seconds", "seconds"),
            "cpu_ratio_median": median_ratio("start_cpu_seconds", "cpu_seconds"),
            "pairs_faster_in_cpu": sum(o["start_cpu_seconds"] < t["cpu_seconds"] for o, t in zip(ours, official)),
            "pairs": len(official)}


def summarize_official(samples: list[dict]) -> dict:
    return {
        "package": OFFICIAL_PACKAGE,
        "transport": "stdio",
        "start_seconds_median": round(statistics.median(s["seconds"] for s in samples), 3),
        "start_cpu_seconds_median": round(statistics.median(s["cpu_seconds"] for s in samples), 3),
        "peak_rss_mib_median": round(statistics.median(s["rss_mib"] for s in samples), 1),
    }


def official_server_command() -> Path:
    """The official server's console script, installed into a venv in the cache dir once."""
    venv = CACHE / "elevenlabs-mcp-venv"
    script = venv / "bin" / "elevenlabs-mcp"
    if not script.exists():
        steps = [[sys.executable, "-m", "venv", str(venv)],
                 [str(venv / "bin" / "pip"), "install", "-q", OFFICIAL_PACKAGE]]
        for step in steps:
            result = subprocess.run(step, capture_output=True, text=True, timeout=600)
            if result.returncode != 0:
                raise RuntimeError(f"cannot install {OFFICIAL_PACKAGE}: {result.stderr[-1000:]}")
    return script


async def official_start(command: Path) -> dict[str, float]:
    """Seconds (wall and CPU) from spawn to the first tools/list answer over stdio; peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:  # its cwd: it loads a .env from there
        env = {"ELEVENLABS_API_KEY": FAKE_API_KEY, "PATH": "/usr/bin:/bin", **NO_INTERNET}
        params = StdioServerParameters(command=str(command), env=env, cwd=tmp)
        started = time.perf_counter()
        with open(os.devnull, "w") as quiet:  # its log lines go to stderr
            async with Client(stdio_client(params, errlog=quiet), cache=None) as client:
                await client.list_tools()
                elapsed = time.perf_counter() - started
                pid = child_pid_started_from(command)
                return {"seconds": elapsed, "cpu_seconds": cpu_seconds(pid), "rss_mib": peak_rss_mib(pid)}


def child_pid_started_from(command: Path) -> int:
    """PID of our child process running `command` (the stdio client does not expose it)."""
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            ppid = next(line for line in status.read_text().splitlines() if line.startswith("PPid:"))
            cmdline = (status.parent / "cmdline").read_bytes()
        except (OSError, StopIteration):
            continue
        if int(ppid.split()[1]) == os.getpid() and str(command).encode() in cmdline:
            return int(status.parent.name)
    raise SystemExit(f"cannot find the process started from {command}")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no VmHWM for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (fields 14 and 15 of /proc/PID/stat)."""
    after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(after_name[11]) + int(after_name[12])) / os.sysconf("SC_CLK_TCK")


def percentile(samples: list[float], pct: int) -> float:
    return statistics.quantiles(samples, n=100)[pct - 1]


def summarize(runs: list[dict]) -> dict:
    def median(values) -> float:
        return statistics.median(values)

    def median_of(key: str, digits: int = 3) -> float:
        return round(median(run[key] for run in runs), digits)

    return {
        "start_seconds_median": median_of("start_seconds"),
        "start_cpu_seconds_median": median_of("start_cpu_seconds"),
        "rss_after_start_mib_median": median_of("rss_after_start_mib", 1),
        "peak_rss_mib_median": median_of("peak_rss_mib", 1),
        "direct_ms_p50_median": median_of("direct_ms_p50"),
        "call_ms_p50_median": median_of("call_ms_p50"),
        "sdk_client_call_ms_p50_median": median_of("sdk_call_ms_p50"),
        "overhead_ms_p50_median": round(median(r["call_ms_p50"] - r["direct_ms_p50"] for r in runs), 3),
        "overhead_ms_p90_median": round(median(r["call_ms_p90"] - r["direct_ms_p90"] for r in runs), 3),
        "calls_per_second_median": median_of("calls_per_second", 1),
        "server_cpu_ms_per_call_median": median_of("server_cpu_ms_per_call"),
    }


def missed_bars(report: dict) -> dict:
    """For each bar missed, by how much (in the bar's unit)."""
    excess = {
        "start_seconds": report["start_seconds_median"] - BARS["start_seconds"],
        "peak_rss_mib": report["peak_rss_mib_median"] - BARS["peak_rss_mib"],
        "overhead_ms_p50": report["overhead_ms_p50_median"] - BARS["overhead_ms_p50"],
        "calls_per_second": BARS["calls_per_second"] - report["calls_per_second_median"],
    }
    return {bar: round(amount, 3) for bar, amount in excess.items() if amount > 0}


def slowest_imports(count: int = 10) -> list[tuple[str, float]]:
    """Cumulative import times (ms) of what the server imports at start, slowest first."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import server.cli, server.app, server.runner"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    rows = []
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "cumulative" not in line:
            _self_us, cumulative_us, module = line.removeprefix("import time:").split("|")
            rows.append((module.strip(), int(cumulative_us) / 1000))
    return sorted(rows, key=lambda row: row[1], reverse=True)[:count]


if __name__ == "__main__":
    main()
