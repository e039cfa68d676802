"""Mutation testing of the modules where a silent bug is a security or data-loss bug.

    python -m tests.mutation                 # every scope below (tens of minutes on 2 cores)
    python -m tests.mutation server/auth.py  # one scope
    python -m tests.mutation --jobs 2 --json report.json

For each scope, a copy of the working tree (tracked and untracked files, `git ls-files -co --exclude-standard`) is
made in a temporary folder and mutmut (https://github.com/boxed/mutmut) mutates that one module there, running the
scope's tests against every mutant. mutmut picks, per mutant, only the tests that called the mutated function in
process: a test that reaches it in a subprocess (the CLI's builds, the server process) is not picked. So every
mutant mutmut did not kill ("survived", "no tests", "not checked", "timeout") is run again by this runner against
the scope's whole test selection, with the mutant switched on through MUTANT_UNDER_TEST and the mutated copy first on
PYTHONPATH, which subprocesses inherit. A mutant is killed when some test fails (or the tests hang: timeout); the
selection must pass without a mutant first, or nothing is judged.

The report lists every survivor with its diff line. A survivor that cannot be killed (the mutant behaves exactly as
the original) belongs in tests/mutation/equivalent.toml with a one-line reason, keyed by the module and the
mutated line as the report prints it; the score leaves those out: killed / (mutants - equivalent).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EQUIVALENT_FILE = Path(__file__).with_name("equivalent.toml")

SERVER_HTTP = ["tests/server/test_gate.py", "tests/server/test_network_policy.py", "tests/server/test_auth.py",
               "tests/server/test_key_compare.py", "tests/server/test_units.py", "tests/server/test_principals.py",
               "tests/server/test_http_protocol.py", "tests/server/test_ssrf.py"]
COMPILER_CLI = ["tests/compiler/test_atomic_output.py", "tests/compiler/test_cli.py"]
CHECKS = ["tests/compiler/test_diagnostics.py", "tests/compiler/test_cli.py::test_failed_build_leaves_generated_byte_identical",
          "tests/compiler/test_goldens.py", "tests/test_cost.py"]

# module -> the tests that guard it
SCOPES: dict[str, list[str]] = {
    "server/auth.py": SERVER_HTTP,
    "server/http/gate.py": SERVER_HTTP,
    "server/audio_inputs.py": ["tests/server/test_audio_inputs.py", "tests/server/test_ssrf.py",
                               "tests/server/test_inputs.py", "tests/server/test_units.py",
                               "tests/server/test_call_budget.py"],
    "server/network.py": ["tests/server/test_ssrf.py", "tests/server/test_network_policy.py", "tests/server/test_units.py"],
    "compiler/emit.py": ["tests/compiler/test_emit.py", *COMPILER_CLI],
    "compiler/checks.py": CHECKS,
    "compiler/validation.py": ["tests/compiler/test_validation_paths.py", *CHECKS],
    "compiler/cost.py": ["tests/test_cost_by_hand.py", "tests/test_cost_report.py", "tests/test_cost.py"],
    # Not tests/websocket/ whole: test_template measures the modules' source, which mutmut's trampolines inflate;
    # nor the chain tests (test_chain*.py, 1.5 min): every mutant they cover would run them all, and a survivor
    # twice, so a scope took hours on 2 cores. The handlers' own tests call them in process with moto and real HTTP.
    "server/websocket/relay.py": ["tests/websocket/test_relay.py"],
    "server/websocket/authorizer.py": ["tests/websocket/test_authorizer_answers.py",
                                       "tests/websocket/test_authorizer.py"],
    "compiler/rules": ["tests/compiler/test_project_rules.py"],  # the deploy-time lint rules E9001-E9005
}

STATUS_LINE = re.compile(r"^\s*(?P<name>\S+): (?P<status>.+)$")


@dataclass
class Survivor:
    name: str
    change: str          # the mutated line, as `+ ...` in mutmut's diff
    equivalent: str = ""  # the reason, when listed in equivalent.toml


@dataclass
class ScopeReport:
    module: str
    mutants: int = 0
    killed: int = 0
    killed_on_rerun: dict[str, int] = field(default_factory=dict)  # mutmut's verdict -> how many the re-run killed
    survivors: list[Survivor] = field(default_factory=list)

    @property
    def equivalent(self) -> int:
        return sum(bool(s.equivalent) for s in self.survivors)

    @property
    def score(self) -> float:
        judged = self.mutants - self.equivalent
        return 1.0 if judged == 0 else self.killed / judged


def copy_tree(destination: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def configure(workdir: Path, module: str, tests: list[str]) -> None:
    quoted = lambda items: "[" + ", ".join(json.dumps(i) for i in items) + "]"  # noqa: E731
    also_copy = ["compiler/", "server/", "bench/", "deployment.yaml", "generated/", "Dockerfile", "docs/", "README.md"]
    with (workdir / "pyproject.toml").open("a", encoding="utf-8") as fh:
        fh.write(f"\n[tool.mutmut]\nsource_paths = {quoted([module])}\n"
                 f"pytest_add_cli_args_test_selection = {quoted(tests)}\n"
                 f"pytest_add_cli_args = {quoted(['-x', '-q', '-p', 'no:cacheprovider'])}\n"
                 f"also_copy = {quoted(also_copy)}\n")


def mutants_first(workdir: Path) -> dict[str, str]:
    """Subprocesses the tests start (`python -m compiler` in a temporary folder, the server) must import the mutated
    copy, not the editable install of the checkout: PYTHONPATH comes before the editable finder."""
    return {"PYTHONPATH": str(workdir / "mutants"), "PYTHONWARNINGS": "ignore"}


def mutmut(workdir: Path, *args: str, check: bool = True) -> str:
    # not mutants_first: mutmut's own stats and forced-failure runs break with it (mutmut 3.8)
    result = subprocess.run([sys.executable, "-m", "mutmut", *args], cwd=workdir, capture_output=True, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if check and result.returncode != 0:
        raise SystemExit(f"mutmut {' '.join(args)} failed in {workdir}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def statuses(workdir: Path) -> dict[str, str]:
    found = {}
    for line in mutmut(workdir, "results", "--all", "true").splitlines():
        match = STATUS_LINE.match(line)
        if match and "__mutmut_" in match["name"]:
            found[match["name"]] = match["status"].strip()
    return found


def mutated_line(workdir: Path, name: str) -> str:
    diff = mutmut(workdir, "show", name, check=False)
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return " | ".join(line[1:].strip() for line in added)[:200]


TESTS_FAILED = 1  # pytest's exit code when some test failed; others (no tests, usage, internal error) judge nothing


def run_with_mutant(workdir: Path, name: str, tests: list[str], timeout: float) -> bool:
    """True when some test fails, or the tests hang, with `name` switched on (in this process and every
    subprocess); `name` "" runs them without a mutant."""
    env = {**os.environ, **mutants_first(workdir), "MUTANT_UNDER_TEST": name}
    try:
        result = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                                cwd=workdir / "mutants", env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return True
    if result.returncode not in (0, TESTS_FAILED):
        raise SystemExit(f"pytest exited {result.returncode} with mutant {name!r}, judging nothing:\n"
                         f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.returncode == TESTS_FAILED


def clean_run_seconds(workdir: Path, tests: list[str]) -> float:
    """How long the selection takes without a mutant; it must pass, or every mutant would count as killed."""
    started = time.monotonic()
    if run_with_mutant(workdir, "", tests, timeout=3600):
        raise SystemExit(f"the tests {' '.join(tests)} fail without a mutant in {workdir}: fix them first")
    return time.monotonic() - started


def run_scope(module: str, jobs: int, equivalents: dict[str, str]) -> ScopeReport:
    tests = SCOPES[module]
    with tempfile.TemporaryDirectory(prefix="mcpdeploy-mutation-") as tmp:
        workdir = Path(tmp)
        copy_tree(workdir)
        configure(workdir, module, tests)
        mutmut(workdir, "run", "--max-children", str(jobs), check=False)
        found = statuses(workdir)
        # "survived": mutmut ran only the tests that reach the function in process, not those that reach it in a
        # subprocess; "no tests": only subprocesses run the function; "not checked": mutmut stopped before it (its
        # stats run fails when a subprocess that runs mutated code has no mutmut configuration in its working folder);
        # "timeout": mutmut's CPU-time limit, which equivalent mutants hit too on a loaded machine (the authorizer's
        # `int(time.time() / 300)` did): judged again here, where only a wall-clock timeout counts as a kill
        unjudged = [name for name, status in found.items()
                    if status in ("survived", "no tests", "not checked", "timeout")]
        said = dict(found)
        timeout = 5 * clean_run_seconds(workdir, tests) + 60 if unjudged else 0
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            judged = pool.map(lambda n: run_with_mutant(workdir, n, tests, timeout), unjudged)
            for name, killed in zip(unjudged, judged):
                found[name] = "killed" if killed else "survived"
        report = ScopeReport(module, killed_on_rerun=dict(Counter(said[n] for n in unjudged if found[n] == "killed")))
        for name, status in sorted(found.items()):
            report.mutants += 1
            if status == "killed":
                report.killed += 1
            else:
                change = mutated_line(workdir, name)
                report.survivors.append(Survivor(name, change, equivalents.get(change, "")))
        return report


def load_equivalents(module: str) -> dict[str, str]:
    if not EQUIVALENT_FILE.exists():
        return {}
    table = tomllib.loads(EQUIVALENT_FILE.read_text(encoding="utf-8"))
    return {entry["line"]: entry["reason"] for entry in table.get(module, [])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation", description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help="default: all of " + ", ".join(SCOPES))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="mutants tested at once")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.modules) - set(SCOPES))
    if unknown:
        parser.error(f"no scope for {', '.join(unknown)}; scopes: {', '.join(SCOPES)}")
    reports = [run_scope(module, args.jobs, load_equivalents(module)) for module in (args.modules or SCOPES)]
    for report in reports:
        print(f"{report.module}: {report.killed}/{report.mutants - report.equivalent} killed "
              f"({report.score:.0%}), {report.equivalent} equivalent, {report.mutants} mutants; "
              f"killed only when run again with the whole selection: {report.killed_on_rerun or 'none'}")
        for survivor in report.survivors:
            tag = f"equivalent: {survivor.equivalent}" if survivor.equivalent else "SURVIVED"
            print(f"  {tag}: {survivor.name}: {survivor.change}")
    if args.json:
        args.json.write_text(json.dumps([{**asdict(r), "score": r.score, "equivalent": r.equivalent} for r in reports],
                                        indent=2) + "\n")
    return 0 if all(s.equivalent for r in reports for s in r.survivors) else 1


if __name__ == "__main__":
    raise SystemExit(main())
