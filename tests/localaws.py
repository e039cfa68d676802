"""Local AWS for tests: a real `moto_server` process on loopback and the real AWS CLI pointed at it.

    with MotoServer() as moto:
        aws(moto.endpoint, "ec2", "describe-vpcs")["Vpcs"]      # parsed JSON
        moto.reset()                                            # forget every resource

`aws()` returns the CompletedProcess; `.json` holds the parsed stdout (None when it is empty or not JSON, as
for `cloudformation deploy`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
AWS_CLI = VENV_BIN / "aws"
MOTO_SERVER = VENV_BIN / "moto_server"
TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MotoServer:
    """A moto_server on a free loopback port; started on enter, stopped on exit."""

    def __init__(self, start_timeout: float = 30, env: dict[str, str] | None = None,
                 command: list[str] | None = None) -> None:
        self.port = free_port()
        self.command = command or [str(MOTO_SERVER)]  # or a launcher taking moto_server's arguments
        self.start_timeout = start_timeout
        self.env = env or {}  # extra moto settings, e.g. INITIAL_NO_AUTH_ACTION_COUNT
        self.process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> MotoServer:
        self.process = subprocess.Popen([*self.command, "-H", "127.0.0.1", "-p", str(self.port)],
                                        env={**os.environ, **self.env},
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1).close()
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"moto_server did not start on {self.endpoint}")
                time.sleep(0.1)

    def __exit__(self, *exc_info) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def reset(self) -> None:
        """Drop every resource in every service (moto's POST /moto-api/reset)."""
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST"),
                               timeout=30).close()


def aws_env(endpoint: str, region: str) -> dict[str, str]:
    """The environment for a CLI run against moto: test credentials, no user config, the venv's tools first."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    return {**env, **TEST_CREDENTIALS, "AWS_DEFAULT_REGION": region, "AWS_ENDPOINT_URL": endpoint,
            "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_PAGER": "",
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"}


def aws(endpoint: str, *args: str, region: str = "us-east-1", check: bool = True,
        timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real AWS CLI against `endpoint` with JSON output; raise with its stderr when `check` and it fails."""
    command = [str(AWS_CLI), "--endpoint-url", endpoint, "--region", region, "--output", "json", *args]
    result = subprocess.run(command, env=aws_env(endpoint, region), capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)} exited {result.returncode}:\n{result.stderr.strip()}")
    result.json = _parse_json(result.stdout)
    return result


def _parse_json(text: str) -> object:
    """The parsed output, or None for commands that print text (`cloudformation deploy`) or nothing."""
    try:
        return json.loads(text)
    except ValueError:
        return None
