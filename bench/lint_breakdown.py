"""Where a cold build's time goes, measured piece by piece in fresh processes; prints JSON (medians over --runs).

A cold build cannot end before: the parent's start-up until it forks the lint child (measured as a process doing
just that work), plus the child's import of cfn-lint and its rules, plus linting every template on the machine's
cores (at best the larger of the biggest template and the sum over the cores). This measures those pieces the way the build runs them (garbage collector
off, each template linted first thing in a fork of a process that has loaded the rules), so the printed
`cold_floor_seconds` is what the current design could reach with perfect packing and no overhead.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MEASURE = r"""
import gc, json, os, sys, time
gc.disable()
started = time.perf_counter()
from compiler import lint
lint._rules()
loaded = time.perf_counter() - started
from compiler.build import compile_config
from compiler.validation import load_config
_, templates = compile_config(load_config(sys.argv[1], "deployment.yaml"))
seconds = {}
for name, (text, region) in sorted(templates.items()):
    read, write = os.pipe()
    if os.fork() == 0:
        begin = time.perf_counter()
        lint._lint_one(name, text, region)
        os.write(write, str(time.perf_counter() - begin).encode())
        os._exit(0)
    os.close(write)
    seconds[name] = float(os.read(read, 64))
    os.wait()
print(json.dumps({"import_and_rules": loaded, "lint": seconds}))
"""


# What the parent does before it forks the lint child: start Python, import the command line, the build record
# and the linter, and look the build up (cli._build, up to `with WarmLinter()`).
BEFORE_FORK = r"""
import sys
from compiler import buildcache, cli, lint
buildcache.lookup(buildcache.key(sys.argv[1], "deployment.yaml"), buildcache.cache_root() / "none")
"""


def seconds_before_fork(source: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", BEFORE_FORK, str(source)], cwd=ROOT, check=True)
    return time.perf_counter() - start


def measure(source: Path) -> dict:
    result = subprocess.run([sys.executable, "-c", MEASURE, str(source)], cwd=ROOT, capture_output=True, text=True,
                            check=True)
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    source = ROOT / "deployment.yaml"
    runs = [measure(source) for _ in range(args.runs)]
    before_fork = statistics.median(seconds_before_fork(source) for _ in range(args.runs))
    imports = statistics.median(run["import_and_rules"] for run in runs)
    lint = {name: statistics.median(run["lint"][name] for run in runs) for name in runs[0]["lint"]}
    cores = os.cpu_count() or 1
    packed = max(max(lint.values()), sum(lint.values()) / cores)
    print(json.dumps({
        "benchmark": "cold build, piece by piece",
        "runs": args.runs,
        "cores": cores,
        "before_fork_seconds_median": round(before_fork, 3),
        "cfnlint_import_and_rules_seconds_median": round(imports, 3),
        "lint_seconds_median_by_template": {name: round(value, 3) for name, value in lint.items()},
        "lint_seconds_total": round(sum(lint.values()), 3),
        "cold_floor_seconds": round(before_fork + imports + packed, 3),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }, indent=2))


if __name__ == "__main__":
    main()
