"""The image builds for arm64 and x86_64 alike (Dockerfile: `pip install --require-hashes --only-binary :all:`),
so server/requirements.lock must hold the hash of a wheel for each: pip fetches, for each architecture, the wheels
the image would install from the package index the build uses, and checks every one against the lock."""

import subprocess
import sys
from pathlib import Path

import pytest

LOCK = Path(__file__).resolve().parents[2] / "server" / "requirements.lock"


@pytest.mark.parametrize("platform", ["manylinux2014_aarch64", "manylinux2014_x86_64"])
def test_the_lock_has_the_hashed_wheels_of_both_architectures(platform, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes", "--only-binary", ":all:",
         "--platform", platform, "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
         "--dest", str(tmp_path), "-r", str(LOCK)],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list(tmp_path.glob("*.whl"))) == LOCK.read_text().count("\n    # via")
