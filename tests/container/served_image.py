"""The server image running in a container, in front of a fake ElevenLabs API."""

import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from tests.container.buildah import Buildah
from tests.fakes.elevenlabs_api import FAKE_API_KEY, FakeElevenLabs
from tests.load.harness import LOOPBACK, free_port, new_api_key, server_env, wait_for_health


@dataclass
class RunningContainer:
    container: str
    base_url: str
    server_key: str
    fake: FakeElevenLabs
    env: dict[str, str]
    process: subprocess.Popen  # `buildah run`, whose exit status is the server's


@contextmanager
def running(buildah: Buildah, image: str, log_path: Path) -> Iterator[RunningContainer]:
    """The image's own CMD in a container on the host network, bound to loopback, its
    ElevenLabs base URL pointing at a fake API in this process; yielded once healthy."""
    with FakeElevenLabs(port=0) as fake:
        port = free_port()
        env = server_env(fake.url, FAKE_API_KEY, new_api_key(), port)
        with buildah.serving(image, env, log_path) as served:
            base_url = f"http://{LOOPBACK}:{port}"
            wait_for_health(base_url, served.process, log_path, timeout=90)
            yield RunningContainer(served.container, base_url, env["MCP_SERVER_API_KEY"],
                                   fake, env, served.process)
