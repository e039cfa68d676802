"""Thin wrapper around the buildah CLI, the way this machine can run it.

No Docker daemon and no registry here: buildah with vfs storage (no overlay
mounts needed), chroot isolation (no user namespaces needed) and the host's
network (the build reaches the package index; the container serves on loopback).
"""

import json
import os
import signal
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

BUILD_TIMEOUT_SECONDS = 900

# The host's pip set-up (index, find-links, CA bundle), lent read-only to RUN
# steps so `pip install` in the build reaches the same package index as the host.
HOST_PIP_MOUNTS = (
    "/etc/pip.conf",
    "/etc/xdg/pip",
    "/opt/wheels",
    "/opt/pypi",
    "/opt/pypi-more",
    "/etc/ssl/certs/ca-certificates.crt",
)


@dataclass
class Served:
    container: str
    process: subprocess.Popen  # `buildah run`, whose exit status is the command's


class Buildah:
    def __init__(self, storage_root: Path):
        self.global_args = [
            "buildah",
            "--storage-driver=vfs",
            f"--root={storage_root / 'root'}",
            f"--runroot={storage_root / 'run'}",
        ]

    def run_cli(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run(
            [*self.global_args, *args], capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"buildah {args[0]} failed (exit {result.returncode}):\n{result.stderr[-6000:]}"
            )
        return result.stdout

    def has_image(self, name: str) -> bool:
        names = self.run_cli("images", "--format", "{{.Name}}:{{.Tag}}").split()
        return name in names

    def build(self, context: Path, tag: str, containerfile: Path | None = None,
              build_args: dict[str, str] | None = None, timestamp: int | None = None,
              image_format: str = "docker") -> None:
        """`timestamp` (seconds since the epoch) dates the image and every file of the layers it commits,
        instead of now: what makes a rebuild bit for bit the same."""
        args = ["build", "--pull=never", "--isolation=chroot", "--network=host", f"--format={image_format}",
                "-t", tag]
        if timestamp is not None:
            args += [f"--timestamp={timestamp}"]
        if containerfile:
            args += ["-f", str(containerfile)]
        for key, value in (build_args or {}).items():
            args += ["--build-arg", f"{key}={value}"]
        for path in HOST_PIP_MOUNTS:
            if os.path.exists(path):
                args += ["--volume", f"{path}:{path}:ro"]
        self.run_cli(*args, str(context), timeout=BUILD_TIMEOUT_SECONDS)

    def image_digests(self, name: str) -> tuple[str, str]:
        """(image ID, manifest digest): the ID is the config's SHA-256, which names every layer's content."""
        inspected = json.loads(self.run_cli("inspect", "--type", "image", name))
        return inspected["FromImageID"], inspected["FromImageDigest"]

    def layers(self, name: str) -> list[str]:
        """The SHA-256 of each layer's uncompressed content, whatever the image's format."""
        return json.loads(self.run_cli("inspect", "--type", "image", name))["OCIv1"]["rootfs"]["diff_ids"]

    def image_config(self, name: str) -> dict:
        """The image's Docker-format config (Cmd, Entrypoint, Env, User, Healthcheck...)."""
        inspected = json.loads(self.run_cli("inspect", "--type", "image", name))
        return inspected["Docker"]["config"]

    def create_container(self, image: str) -> str:
        return self.run_cli("from", "--pull=never", image).strip()

    def run_args(self, container: str, command: list[str], env: dict[str, str]) -> list[str]:
        """Command line running `command` in the container (as the image's USER, with its Env)."""
        args = [*self.global_args, "run", "--isolation=chroot", "--network=host"]
        for key, value in env.items():
            args += ["--env", f"{key}={value}"]
        return [*args, container, "--", *command]

    @contextmanager
    def serving(self, image: str, env: dict[str, str], log_path: Path) -> Iterator[Served]:
        """Run the image's own CMD in a new container; stop and remove it after."""
        container = self.create_container(image)
        try:
            process = self.start(container, self.image_config(image)["Cmd"], env, log_path)
            try:
                yield Served(container, process)
            finally:
                stop(process)
        finally:
            self.remove_container(container)

    def start(self, container: str, command: list[str], env: dict[str, str],
              log_path: Path) -> subprocess.Popen:
        """Start `command` in the container in the background, its output to `log_path`."""
        with log_path.open("wb") as log:
            return subprocess.Popen(
                self.run_args(container, command, env),
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def remove_all_containers(self) -> None:
        """Clear working containers a cancelled run left in this (test-only) storage."""
        self.run_cli("rm", "--all")

    def remove_container(self, container: str) -> None:
        self.run_cli("rm", container)

    def remove_image(self, name: str) -> None:
        self.run_cli("rmi", "--force", name)


def stop(process: subprocess.Popen, timeout: float = 40) -> int:
    """Stop a `buildah run` the way ECS stops a task: SIGTERM to the command itself.

    `buildah run` answers a signal of its own by SIGKILLing the command, so the signal
    goes to the innermost process of the chain buildah -> chroot runtime -> command.
    Whatever is left after `timeout` (above the server's drain time) is SIGKILLed.
    """
    if process.poll() is None:
        os.kill(innermost_descendant(process.pid), signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the group we started (start_new_session)
            process.wait(timeout=10)
    return process.returncode


def innermost_descendant(pid: int) -> int:
    """Follow the first child of each process down from `pid`; the last one found."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            after_name = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(after_name[1]), []).append(int(stat.parent.name))
    while parents.get(pid):
        pid = min(parents[pid])
    return pid
