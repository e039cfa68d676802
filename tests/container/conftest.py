"""Fixtures building the real Dockerfile with buildah over a debootstrapped Debian base."""

import fcntl
import functools
import os
import subprocess
import time
import uuid

import pytest

from tests.container import base_image
from tests.container.buildah import Buildah
from tests.container.served_image import running
from tests.load.harness import PROJECT_ROOT
from tests.system_tools import require


def require_container_tools() -> None:
    """Skip (fail under CI) saying why, when this machine cannot build images (tests/system_tools.py)."""
    require("buildah", "debootstrap", root="debootstrap and buildah's chroot isolation")


@pytest.fixture(scope="session")
def buildah():
    """buildah on a test-only storage in the cache dir, held under a lock for the session:
    parallel pytest runs on one machine take turns instead of corrupting it."""
    require_container_tools()
    cache = base_image.cache_dir()
    with open(cache / "buildah.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        tool = Buildah(cache / "buildah-storage")
        tool.remove_all_containers()
        yield tool


@pytest.fixture(scope="session")
def debian_base(buildah) -> str:
    if not buildah.has_image(base_image.IMAGE_NAME):
        context = base_image.build_context()
        buildah.build(context, base_image.IMAGE_NAME, containerfile=context / "Containerfile")
    return base_image.IMAGE_NAME


@functools.cache
def source_date_epoch() -> int:
    """$SOURCE_DATE_EPOCH, else the time of the commit checked out (docs/container.md builds with it), else now
    (outside a git checkout): one value for the whole session."""
    if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        return int(os.environ["SOURCE_DATE_EPOCH"])
    result = subprocess.run(["git", "-C", str(PROJECT_ROOT), "log", "-1", "--format=%ct"], capture_output=True,
                            text=True)
    return int(result.stdout) if result.returncode == 0 and result.stdout.strip() else int(time.time())


def build_app_image(buildah, base: str, image_format: str = "docker") -> str:
    """The Dockerfile built as docs/container.md says for a reproducible build."""
    tag = f"localhost/mcpdeploy-test-app:{uuid.uuid4().hex[:12]}"
    epoch = source_date_epoch()
    buildah.build(PROJECT_ROOT, tag, build_args={"BASE": base, "SOURCE_DATE_EPOCH": str(epoch)}, timestamp=epoch,
                  image_format=image_format)
    return tag


@pytest.fixture(scope="session")
def app_image(buildah, debian_base):
    tag = build_app_image(buildah, debian_base)
    yield tag
    buildah.remove_image(tag)


@pytest.fixture(scope="session")
def running_container(buildah, app_image, tmp_path_factory):
    with running(buildah, app_image, tmp_path_factory.mktemp("container") / "server.log") as ctr:
        yield ctr
