"""Real processes for the chain: moto (DynamoDB), the fake ElevenLabs API, the MCP server."""

from __future__ import annotations

import pytest

from tests.fakes.elevenlabs_api import FakeElevenLabs
from tests.server.harness import ELEVENLABS_KEY, ServerProcess
from tests.websocket.chain import create_secret, create_table


@pytest.fixture
def table(moto):
    moto.reset()
    create_table(moto.endpoint)
    create_secret(moto.endpoint)
    return moto.endpoint


def server_settings(fake: FakeElevenLabs) -> dict[str, str]:
    """A task as the template configures it: behind the relay (the VPC; here loopback) as trusted proxy, taking
    the relay's tickets."""
    return {"ELEVENLABS_API_KEY": ELEVENLABS_KEY, "ELEVENLABS_BASE_URL": fake.url, "MCP_ALLOWED_HOSTS": "localhost",
            "MCP_TRUSTED_PROXY_CIDRS": "127.0.0.1/32", "MCP_ALLOWED_CIDRS": "127.0.0.0/8", "MCP_TRUST_RELAY": "true"}


@pytest.fixture(scope="session")
def task(fake, tmp_path_factory):
    server = ServerProcess(tmp_path_factory.mktemp("task-logs"), server_settings(fake)).start()
    yield server
    server.terminate()
