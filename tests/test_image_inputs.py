"""What the image is built from is pinned: the base image by digest, every dependency by version and hash in
server/requirements.lock, which matches pyproject.toml and is made by the command docs/container.md gives.
(tests/container/test_reproducible.py builds the image twice and compares digests;
tests/container/test_lock_wheels.py fetches the locked wheels for arm64 and x86_64 and checks their hashes.)"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "server" / "requirements.lock"
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
# The image's interpreter: markers are judged for it.
IMAGE_ENVIRONMENT = {"python_version": "3.11", "python_full_version": "3.11.2", "sys_platform": "linux",
                     "platform_system": "Linux", "os_name": "posix", "implementation_name": "cpython",
                     "platform_python_implementation": "CPython"}


def locked() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes), from the lock's `name==version ; marker \\ --hash=...` entries."""
    entries = {}
    text = re.sub(r"\\\n\s*", " ", LOCK.read_text())  # one line per entry
    for line in text.splitlines():
        if not line or line.startswith((" ", "#")):
            continue
        requirement = Requirement(line.split(" --hash=")[0].strip())
        [specifier] = requirement.specifier
        entries[canonicalize_name(requirement.name)] = (specifier.version, re.findall(r"--hash=(\S+)", line))
    return entries


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_base_image_is_pinned_by_digest_and_every_stage_uses_it():
    dockerfile = (ROOT / "Dockerfile").read_text()
    [base] = re.findall(r"^ARG BASE=(\S+)$", dockerfile, re.MULTILINE)
    assert DIGEST.search(base), f"{base}: pin the base by digest (docs/container.md, 'Bumping the base image')"
    assert re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE) == ["${BASE}", "${BASE}"]
    assert base.split("@")[0] in (ROOT / "docs" / "container.md").read_text()


def test_every_dependency_and_build_requirement_is_locked_at_a_version_it_allows_with_hashes():
    entries = locked()
    project = pyproject()
    wanted = [Requirement(text) for text in [*project["project"]["dependencies"],
                                             *project["build-system"]["requires"]]]
    for requirement in wanted:
        if requirement.marker is not None and not requirement.marker.evaluate(IMAGE_ENVIRONMENT):
            continue
        name = canonicalize_name(requirement.name)
        assert name in entries, f"{name} is not in {LOCK.name}: regenerate it (docs/container.md)"
        version, _ = entries[name]
        assert requirement.specifier.contains(version, prereleases=True), \
            f"{name}=={version} in {LOCK.name} is outside pyproject.toml's {requirement.specifier}: regenerate it"
    for name, (version, hashes) in entries.items():
        assert hashes and all(h.startswith("sha256:") for h in hashes), f"{name}=={version} has no hash"


def test_the_lock_is_made_by_the_documented_command():
    header = re.search(r"^#    (pip-compile .+)$", LOCK.read_text(), re.MULTILINE).group(1)
    assert "--generate-hashes" in header and "--all-build-deps" in header and "--allow-unsafe" in header
    assert header in (ROOT / "docs" / "container.md").read_text()
    assert "--require-hashes" in (ROOT / "Dockerfile").read_text()
