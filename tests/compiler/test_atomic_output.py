"""The README's promise that a failed build leaves `generated/` exactly as it was, for failures that happen
after validation: a disk that fills while the files are being written, and a template cfn-lint refuses.

Each build runs in its own `python -c` process with a fault planted before `compiler.cli.main` runs, so the
test does not depend on how `compiler/emit.py` writes (staged files, in place, or anything else): every way of
opening a file for writing inside the output folder counts, and the third one fails with ENOSPC."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.compiler.test_cli import ROOT, snapshot

FILL_DISK_ON_THIRD_WRITE = r"""
import builtins, errno, io, os, sys
out = os.path.realpath(sys.argv[1])
writes = []

def inside(path):
    try:
        return os.path.realpath(os.fspath(path)).startswith(out + os.sep)
    except TypeError:
        return False

def check(path, writing):
    if writing and inside(path):
        writes.append(path)
        if len(writes) >= 3:
            raise OSError(errno.ENOSPC, "No space left on device", os.fspath(path))

real_open, real_os_open = builtins.open, os.open
def patched_open(file, mode="r", *args, **kwargs):
    check(file, any(c in mode for c in "wax+"))
    return real_open(file, mode, *args, **kwargs)
def patched_os_open(path, flags, *args, **kwargs):
    check(path, bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)))
    return real_os_open(path, flags, *args, **kwargs)
builtins.open = io.open = patched_open
os.open = patched_os_open

from compiler.cli import main
raise SystemExit(main(["build", "--no-cache"]))
"""

LINT_REFUSES_EVERYTHING = r"""
import compiler.lint
from compiler.lint import Finding

class RefusingLinter:
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return False
    def lint(self, templates, use_cache=True):
        return [Finding(template=name, path="Resources", rule="E3002", level="error",
                        message="planted compiler bug") for name in templates]

compiler.lint.WarmLinter = RefusingLinter
from compiler.cli import main
raise SystemExit(main(["build", "--no-cache"]))
"""


@pytest.fixture
def edited_project(tmp_path):
    """The repo's deployment.yaml with an edit that changes every deployment's files, over the repo's
    generated/: a successful build would rewrite most files."""
    text = (ROOT / "deployment.yaml").read_text().replace("retentionDays: 7", "retentionDays: 14")
    assert text != (ROOT / "deployment.yaml").read_text()
    (tmp_path / "deployment.yaml").write_text(text)
    shutil.copytree(ROOT / "generated", tmp_path / "generated")
    return tmp_path


def run_planted(script: str, project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MCPDEPLOY_CACHE_DIR": str(project / "cache"), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", script, *args], cwd=project, env=env, capture_output=True,
                          text=True, timeout=300)


def test_disk_full_midway_leaves_generated_byte_identical(edited_project):
    before = snapshot(edited_project / "generated")
    result = run_planted(FILL_DISK_ON_THIRD_WRITE, edited_project, str(edited_project / "generated"))
    assert result.returncode == 5, result.stderr
    assert "No space left on device" in result.stderr and "Traceback" not in result.stderr
    assert snapshot(edited_project / "generated") == before, "a write that fails midway must change nothing"


def test_the_planted_fault_does_fire_on_a_real_write(edited_project):
    """Guards the test above: without the fault the same edit really rewrites files (so 'unchanged' is news)."""
    before = snapshot(edited_project / "generated")
    env = {**os.environ, "MCPDEPLOY_CACHE_DIR": str(edited_project / "cache")}
    result = subprocess.run([sys.executable, "-m", "compiler", "build"], cwd=edited_project, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    changed = [name for name, data in snapshot(edited_project / "generated").items() if before.get(name) != data]
    assert len(changed) >= 3, changed


def test_lint_failure_exits_3_and_writes_nothing(edited_project):
    before = snapshot(edited_project / "generated")
    result = run_planted(LINT_REFUSES_EVERYTHING, edited_project)
    assert result.returncode == 3, result.stderr
    assert "planted compiler bug" in result.stderr + result.stdout and "Traceback" not in result.stderr
    assert snapshot(edited_project / "generated") == before
