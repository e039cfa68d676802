"""The README's test command on a fresh machine: a test needing a missing system command skips naming it and
how to get it, and under CI (CI=true) fails instead; the README and .ci/run name every package the tests use."""

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.system_tools import APT_PACKAGES

ROOT = Path(__file__).resolve().parents[1]

NEEDS_JQ = """
import pytest
from tests.system_tools import require

def test_with_a_fixture_call():
    require("jq")

@pytest.mark.needs("jq")
def test_with_the_marker():
    pass
"""


def apt_packages_of_ci() -> list[str]:
    text = (ROOT / ".ci" / "run").read_text()
    return re.search(r"^APT_PACKAGES=\(([^)]*)\)", text, re.M).group(1).split()


def test_readme_and_ci_install_the_same_debian_packages():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"`apt-get install ([^`]+)`", readme)
    assert len(commands) == 1, commands
    assert commands[0].split() == apt_packages_of_ci()


def test_every_package_a_test_asks_for_is_installed_by_ci():
    wanted = {package for packages in APT_PACKAGES.values() for package in packages}
    assert wanted and wanted <= set(apt_packages_of_ci())


def run_without_jq(tmp_path, ci: str | None) -> subprocess.CompletedProcess:
    """pytest (with this suite's conftest: the marker) on a file needing jq, with a PATH without jq."""
    (tmp_path / "test_needs_jq.py").write_text(NEEDS_JQ)
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env.update({"PATH": str(empty), "PYTHONPATH": str(ROOT), **({"CI": ci} if ci else {})})
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "tests.conftest",
                           "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path / "test_needs_jq.py")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_missing_command_skips_naming_it_and_how_to_get_it(tmp_path):
    result = run_without_jq(tmp_path, ci=None)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 skipped" in result.stdout
    assert re.search(r"SKIPPED \[2\] .*: missing jq \(apt-get install jq\)$", result.stdout, re.M), \
        result.stdout


def test_missing_command_fails_under_ci(tmp_path):
    result = run_without_jq(tmp_path, ci="true")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "skipped" not in result.stdout
    assert "cannot run under CI=true: missing jq (apt-get install jq)" in result.stdout
