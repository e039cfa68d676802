"""Benchmark `python -m compiler build` on the repo's deployment.yaml; prints JSON (medians over --runs).

cold: empty lint cache and empty output folder (everything compiled, linted and written);
unchanged: warm lint cache and an up-to-date output folder (the everyday rebuild).
Each run is a fresh process, measured with os.wait4 (wall time, peak RSS of that process alone).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_build(out_dir: Path, cache_dir: Path) -> tuple[float, float]:
    env = {**os.environ, "MCPDEPLOY_CACHE_DIR": str(cache_dir)}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "compiler", "build", "--out", str(out_dir)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"build failed: {proc.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss / 1024  # KiB -> MiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    cold, unchanged = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            out_dir, cache_dir = Path(tmp, f"out{run}"), Path(tmp, f"cache{run}")
            cold.append(run_build(out_dir, cache_dir))
            unchanged.append(run_build(out_dir, cache_dir))
    report = {
        "benchmark": "compiler build of deployment.yaml",
        "runs": args.runs,
        "cold_seconds_median": round(statistics.median(t for t, _ in cold), 3),
        "unchanged_seconds_median": round(statistics.median(t for t, _ in unchanged), 3),
        "unchanged_to_cold_ratio": round(statistics.median(u[0] / c[0] for c, u in zip(cold, unchanged)), 3),
        "cold_peak_rss_mib_median": round(statistics.median(m for _, m in cold), 1),
        "peak_rss_mib_max": round(max(m for _, m in cold + unchanged), 1),
        "bars": {"cold_seconds": 1.5, "unchanged_seconds": 0.4, "peak_rss_mib": 200},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
