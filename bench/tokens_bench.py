"""Benchmark auth mode tokens (`python -m server` with MCP_AUTH_MODE=tokens); prints JSON (medians over --runs).

Per run, against a moto server holding a tokens table (a token issued by the real CLI), on loopback:
- RSS: the server's VmHWM (peak resident set) after start and after its first token lookup, in tokens mode and,
  for comparison, in api-key mode after the same request (botocore is imported on the first lookup only);
- latency of a tools/list (raw HTTP POST): the server's first lookup (botocore imported, credentials found),
  the same token again (from the cache), then another token (one signed DynamoDB GetItem to moto).

    python -m bench.tokens_bench [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # also runnable as `python bench/tokens_bench.py`

import httpx  # noqa: E402

from tests.localaws import TEST_CREDENTIALS, MotoServer  # noqa: E402
from tests.server.harness import SERVER_KEY, ServerProcess  # noqa: E402
from tests.tokens_stack import create_tokens_stack, token_of, tokens_cli  # noqa: E402

TOOLS_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
ACCEPT = "application/json, text/event-stream"


def peak_rss_mib(server: ServerProcess) -> float:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    return round(kib / 1024, 1)


def timed_post(server: ServerProcess, credential: str) -> float:
    started = time.perf_counter()
    response = httpx.post(server.mcp_url, json=TOOLS_LIST, timeout=30,
                          headers={"Authorization": f"Bearer {credential}", "accept": ACCEPT})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    return elapsed * 1000


def one_run(moto: MotoServer, table: str, log_dir: Path, run: int) -> dict:
    token, other = (token_of(tokens_cli(moto.endpoint, "issue", "voice", "--name", f"bench-{run}-{n}").stdout.strip())
                    for n in (1, 2))
    tokens = ServerProcess(log_dir, {"MCP_AUTH_MODE": "tokens", "MCP_TOKENS_TABLE": table, **TEST_CREDENTIALS,
                                     "AWS_ENDPOINT_URL": moto.endpoint, "AWS_DEFAULT_REGION": "us-east-1"}).start()
    try:
        started = peak_rss_mib(tokens)
        first, cached, uncached = timed_post(tokens, token), timed_post(tokens, token), timed_post(tokens, other)
        after = peak_rss_mib(tokens)
    finally:
        tokens.terminate()
    api_key = ServerProcess(log_dir, {}).start()
    try:
        timed_post(api_key, SERVER_KEY)
        api_key_rss = peak_rss_mib(api_key)
    finally:
        api_key.terminate()
    return {"tokens_rss_start_mib": started, "tokens_rss_after_lookup_mib": after, "api_key_rss_mib": api_key_rss,
            "first_lookup_ms": first, "uncached_ms": uncached, "cached_ms": cached}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with MotoServer() as moto, tempfile.TemporaryDirectory() as logs:
        table = create_tokens_stack(moto.endpoint, "voice")["TokensTable"]
        runs = [one_run(moto, table, Path(logs), run) for run in range(args.runs)]
    medians = {key: round(statistics.median(r[key] for r in runs), 1) for key in runs[0]}
    print(json.dumps({"runs": args.runs, "median": medians}, indent=2))


if __name__ == "__main__":
    main()
