"""Benchmark the WebSocket relay handler's overhead per message; prints JSON (medians over --runs).

The local chain minus the WebSocket hop: the real relay handler (server/websocket/relay.py) with DynamoDB in
a moto server and a real `python -m server` task in front of the fake ElevenLabs API, all on loopback.
Per message, overhead = the handler's wall time minus the time of its HTTP exchange with the task (`post`,
timed around the real function): DNS lookup, JSON parsing, building the reply, and DynamoDB: the row is
read once per connection and Lambda instance (the first message; reported on its own) and written when the
task or session changes. The bar (issue 4) is p50 <= 5 ms.

    python -m bench.relay_bench [--runs 5] [--messages 200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # also runnable as `python bench/relay_bench.py`

from server.websocket import relay  # noqa: E402
from tests.fakes.elevenlabs_api import FakeElevenLabs  # noqa: E402
from tests.localaws import MotoServer  # noqa: E402
from tests.server.harness import ELEVENLABS_KEY, ServerProcess  # noqa: E402
from tests.websocket.chain import create_table, handler_environment  # noqa: E402

BAR_P50_MS = 5.0
MESSAGE = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def one_run(messages: int) -> dict:
    """Connect, send `messages` tools/list messages, disconnect; per-message timings in ms."""
    exchange: list[float] = []
    real_post = relay.post

    def timed_post(*args):
        started = time.perf_counter()
        try:
            return real_post(*args)
        finally:
            exchange.append(time.perf_counter() - started)

    relay.post = timed_post
    try:
        context = {"connectionId": f"bench-{time.monotonic_ns()}", "identity": {"sourceIp": "127.0.0.1"}}
        relay.handler({"requestContext": {**context, "routeKey": "$connect", "authorizer": {"principal": "x"}}}, None)
        totals = []
        for _ in range(messages):
            event = {"requestContext": {**context, "routeKey": "$default"}, "body": MESSAGE}
            started = time.perf_counter()
            reply = relay.handler(event, None)
            totals.append(time.perf_counter() - started)
            assert "result" in json.loads(reply["body"]), reply
        relay.handler({"requestContext": {**context, "routeKey": "$disconnect"}}, None)
    finally:
        relay.post = real_post
    overhead = [(total - upstream) * 1000 for total, upstream in zip(totals, exchange)]
    return {"overhead_p50_ms": percentile(overhead, 0.5), "overhead_p90_ms": percentile(overhead, 0.9),
            "first_message_overhead_ms": overhead[0],
            "handler_p50_ms": percentile([t * 1000 for t in totals], 0.5),
            "task_exchange_p50_ms": percentile([t * 1000 for t in exchange], 0.5)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as logs, FakeElevenLabs(port=0, latency=0) as fake, MotoServer() as moto:
        create_table(moto.endpoint)
        task = ServerProcess(Path(logs), {"ELEVENLABS_API_KEY": ELEVENLABS_KEY, "ELEVENLABS_BASE_URL": fake.url,
                                          "MCP_TRUSTED_PROXY_CIDRS": "127.0.0.1/32"}).start()
        try:
            os.environ.update(handler_environment(moto.endpoint, task.port))
            relay.table.cache_clear()
            one_run(20)  # warm-up: imports, boto3 client, the server's first requests
            runs = [one_run(args.messages) for _ in range(args.runs)]
        finally:
            task.terminate()
    result = {key: round(statistics.median(run[key] for run in runs), 3) for key in runs[0]}
    result |= {"runs": args.runs, "messages_per_run": args.messages, "bar_overhead_p50_ms": BAR_P50_MS,
               "meets_bar": result["overhead_p50_ms"] <= BAR_P50_MS}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
