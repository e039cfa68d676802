"""Benchmark the update preview (compiler/changes.py + updates.py) on an edit of the repo's deployment.yaml; prints
JSON (medians over --runs, each in a fresh process so the schema reads are counted).

The edit touches three stacks at once: auth.mode tokens -> api-key and no auth page (voice-nat), the NAT instance
type (voice-nat), the task size (voice-alb) and the image tag (voice-ws). Measured: `updates.warnings` over the
compiled files against a folder holding the unedited build (what `build` adds before it writes), and how many
resource schemas it read.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ONE_RUN = r"""
import json, sys, tempfile, time
from pathlib import Path
from compiler import changes, emit, updates
from compiler.build import compile_config
from compiler.validation import load_config

root = Path(sys.argv[1])
text = (root / "deployment.yaml").read_text()
folder = Path(tempfile.mkdtemp())
(folder / "deployment.yaml").write_text(text)
emit.write_outputs(folder / "generated", compile_config(load_config(str(folder / "deployment.yaml")))[0])
page = text[text.index("    authPage:                   # the server"):text.index("  alerts:", text.index("name: voice-nat"))]
for old, new in [("    mode: tokens\n", "    mode: api-key\n"), (page, ""), ("instanceType: t4g.nano", "instanceType: t3.nano"),
                 ("    cpu: 256                    # CPU", "    cpu: 512                    # CPU"),
                 ("    memory: 512                 # MiB", "    memory: 1024                # MiB")]:
    text = text.replace(old, new, 1)
text = text[:text.rindex('tag: "0.1.0"')] + 'tag: "0.2.0"' + text[text.rindex('tag: "0.1.0"') + 12:]
(folder / "deployment.yaml").write_text(text)
config = load_config(str(folder / "deployment.yaml"))
files, _ = compile_config(config)
start = time.perf_counter()
warnings = updates.warnings(config, folder / "generated", files)
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "warnings": len(warnings), "schemas_read": changes._schema.cache_info().currsize,
                  "cfnlint_imported": any(name.startswith("cfnlint") for name in sys.modules)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    results = [json.loads(subprocess.run([sys.executable, "-c", ONE_RUN, str(ROOT)], cwd=ROOT, capture_output=True,
                                         text=True, check=True, timeout=120).stdout) for _ in range(args.runs)]
    print(json.dumps({
        "benchmark": "update preview (changes.classify + updates.warnings) of a three-stack edit",
        "runs": args.runs,
        "preview_seconds_median": round(statistics.median(r["seconds"] for r in results), 4),
        "warnings": results[0]["warnings"],
        "schemas_read": results[0]["schemas_read"],
        "cfnlint_imported": any(r["cfnlint_imported"] for r in results),
    }, indent=2))


if __name__ == "__main__":
    main()
