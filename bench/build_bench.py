"""Benchmark `python -m compiler build` on the repo's deployment.yaml; prints JSON (medians over --runs).

cold: empty caches and empty output folder (everything compiled, linted and written);
unchanged: nothing changed since the last build (the build record says so: no compile, no lint);
edited: a comment added to deployment.yaml, so everything is validated and compiled again, but every template
        is unchanged and its clean lint result comes from the lint cache.
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


def run_build(out_dir: Path, cache_dir: Path, source: Path = ROOT / "deployment.yaml") -> tuple[float, float]:
    env = {**os.environ, "MCPDEPLOY_CACHE_DIR": str(cache_dir)}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "compiler", "build", "-f", str(source), "--out", str(out_dir)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"build failed: {proc.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss / 1024  # KiB -> MiB on Linux


def stack_templates() -> list[str]:
    """The templates the repo's build writes (the manifest lists them beside parameters and docs)."""
    files = json.loads((ROOT / "generated" / "manifest.json").read_text())["files"]
    return [name for name in files if name.endswith(".json") and not name.endswith(".parameters.json")
            and name != "manifest.json"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    cold, unchanged, edited, cold_alb = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            out_dir, cache_dir = Path(tmp, f"out{run}"), Path(tmp, f"cache{run}")
            source = Path(tmp, f"deployment{run}.yaml")
            source.write_bytes((ROOT / "deployment.yaml").read_bytes())
            cold.append(run_build(out_dir, cache_dir, source))
            unchanged.append(run_build(out_dir, cache_dir, source))
            source.write_text(source.read_text() + f"# edited {run}\n")
            edited.append(run_build(out_dir, cache_dir, source))
            alb_only = Path(tmp, f"alb{run}.yaml")  # the file as it was when the bar was set: repository + alb
            alb_only.write_text("\n---\n".join(source.read_text().split("\n---\n")[:2]) + "\n")
            cold_alb.append(run_build(Path(tmp, f"alb-out{run}"), Path(tmp, f"alb-cache{run}"), alb_only))
    report = {
        "benchmark": "compiler build of deployment.yaml",
        "runs": args.runs,
        "cold_seconds_median": round(statistics.median(t for t, _ in cold), 3),
        "unchanged_seconds_median": round(statistics.median(t for t, _ in unchanged), 3),
        "cold_repository_and_alb_only_seconds_median": round(statistics.median(t for t, _ in cold_alb), 3),
        "edited_seconds_median": round(statistics.median(t for t, _ in edited), 3),
        "unchanged_to_cold_ratio": round(statistics.median(u[0] / c[0] for c, u in zip(cold, unchanged)), 3),
        "stacks": len(stack_templates()),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cold_peak_rss_mib_median": round(statistics.median(m for _, m in cold), 1),
        "peak_rss_mib_max": round(max(m for _, m in cold + unchanged + edited), 1),
        "bars": {"cold_seconds": 1.5, "unchanged_seconds": 0.4, "peak_rss_mib": 200},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
