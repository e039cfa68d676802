"""A Debian base image made locally with debootstrap, since no registry is reachable.

The root file system is bootstrapped once and cached as a tarball in the cache
directory, in a folder keyed by the recipe: change the recipe and a new tarball
is made; rerun with the same recipe and the 45-second bootstrap is skipped.
"""

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

RECIPE = {
    "suite": "bookworm",
    "variant": "minbase",
    "include": ["python3", "python3-venv", "python3-pip", "ca-certificates"],
    # Emptied after bootstrapping: package caches the image does not need.
    "prune": ["var/cache/apt/archives", "var/lib/apt/lists"],
    "containerfile": 'FROM scratch\nADD rootfs.tar /\nCMD ["/usr/bin/python3"]\n',
}
MIRROR = os.environ.get("MCPDEPLOY_DEBIAN_MIRROR", "http://deb.debian.org/debian")
BOOTSTRAP_TIMEOUT_SECONDS = 600
# debootstrap lives in /usr/sbin, which a non-login shell's PATH may lack.
SYSTEM_PATH = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"


def recipe_key() -> str:
    return hashlib.sha256(json.dumps(RECIPE, sort_keys=True).encode()).hexdigest()[:16]


IMAGE_NAME = f"localhost/mcpdeploy-test-base:{RECIPE['suite']}-{recipe_key()}"


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "mcpdeploy-test"
    path = Path(os.environ.get("MCPDEPLOY_TEST_CACHE", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


def build_context() -> Path:
    """A build context holding the cached rootfs tarball and the Containerfile importing it."""
    context = cache_dir() / f"debian-{RECIPE['suite']}-{recipe_key()}"
    context.mkdir(exist_ok=True)
    tarball = context / "rootfs.tar"
    if not tarball.exists():
        _bootstrap_into(tarball)
    (context / "Containerfile").write_text(RECIPE["containerfile"])
    return context


def _bootstrap_into(tarball: Path) -> None:
    rootfs = tarball.parent / "rootfs"
    shutil.rmtree(rootfs, ignore_errors=True)
    try:
        _run(
            "debootstrap",
            f"--variant={RECIPE['variant']}",
            "--include=" + ",".join(RECIPE["include"]),
            RECIPE["suite"],
            str(rootfs),
            MIRROR,
        )
        for relative in RECIPE["prune"]:
            for entry in (rootfs / relative).glob("*"):
                if entry.is_file():
                    entry.unlink()
        partial = tarball.parent / "rootfs.tar.partial"
        _run("tar", "-C", str(rootfs), "-cf", str(partial), ".")
        partial.rename(tarball)  # atomic: a cancelled run never leaves a half tarball behind
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)


def _run(*command: str) -> None:
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=BOOTSTRAP_TIMEOUT_SECONDS,
        env={**os.environ, "PATH": SYSTEM_PATH},
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command[:2])} failed (exit {result.returncode}):\n{result.stderr[-4000:]}"
        )
