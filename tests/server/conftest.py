"""Session-scoped real processes: the fake ElevenLabs API, moto S3, and a few configurations of the server.

Each server configuration starts once per test session (about a second each).
"""

from __future__ import annotations

import pytest

from tests.server.audio_host import AudioHost
from tests.server.harness import ELEVENLABS_KEY, ServerProcess
from tests.server.moto import MotoServer

BUCKET = "mcp-test-audio"
SMALL_INLINE_LIMIT = 1000  # bytes: every generated tone is larger
MAX_INPUT_BYTES = 200_000
MAX_REQUEST_BYTES = 1_000_000
UPSTREAM_BUDGET_SECONDS = 3


@pytest.fixture(autouse=True)
def _no_leftover_faults(request):
    yield
    if "fake" in request.fixturenames:
        request.getfixturevalue("fake").clear_faults()


@pytest.fixture(scope="session")
def audio_host():
    with AudioHost() as host:
        yield host


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("server-logs")


def _running(log_dir, settings: dict[str, str]):
    server = ServerProcess(log_dir, settings).start()
    try:
        yield server
    finally:
        server.terminate()


def _upstream(fake) -> dict[str, str]:
    return {"ELEVENLABS_API_KEY": ELEVENLABS_KEY, "ELEVENLABS_BASE_URL": fake.url}


@pytest.fixture(scope="session")
def main_server(fake, log_dir):
    """The usual configuration; URL inputs may come from loopback (the test-only switch)."""
    yield from _running(
        log_dir,
        {
            **_upstream(fake),
            "MCP_ALLOW_INSECURE_INPUT_URLS": "true",
            "MCP_UPSTREAM_BUDGET_SECONDS": str(UPSTREAM_BUDGET_SECONDS),
            "MCP_MAX_INPUT_BYTES": str(MAX_INPUT_BYTES),
            "MCP_MAX_REQUEST_BYTES": str(MAX_REQUEST_BYTES),
        },
    )


BEHIND_A_PROXY = {"MCP_ALLOWED_CIDRS": "203.0.113.0/24", "MCP_TRUSTED_PROXY_CIDRS": "127.0.0.1/32"}


@pytest.fixture(scope="session")
def edge_server(log_dir):
    """Behind a proxy at 127.0.0.1 with a CIDR allow-list and cloud host names; no ElevenLabs key."""
    yield from _running(log_dir, {**BEHIND_A_PROXY, "MCP_ALLOWED_HOSTS": "*.elb.amazonaws.com,mcp.example.com"})


@pytest.fixture(scope="session")
def http_api_server(log_dir):
    """As on nat-instance: the front door names the client in x-mcp-client-ip (HTTP API parameter mapping)."""
    yield from _running(log_dir, {**BEHIND_A_PROXY, "MCP_CLIENT_IP_HEADER": "x-mcp-client-ip", "MCP_ALLOWED_HOSTS": "*"})


@pytest.fixture(scope="session")
def moto():
    with MotoServer() as server:
        server.set_up(BUCKET)
        yield server


def _s3_settings(fake, aws_environment: dict[str, str]) -> dict[str, str]:
    return {
        **_upstream(fake),
        **aws_environment,
        "MCP_OUTPUT_BUCKET": BUCKET,
        "MCP_MAX_INLINE_AUDIO_BYTES": str(SMALL_INLINE_LIMIT),
    }


@pytest.fixture(scope="session")
def s3_server(fake, moto, log_dir):
    """Large audio goes to S3 (moto, checking signatures); inputs follow the production SSRF rules."""
    yield from _running(log_dir, _s3_settings(fake, moto.environment()))


@pytest.fixture(scope="session")
def s3_server_with_wrong_secret(fake, moto, log_dir):
    yield from _running(log_dir, _s3_settings(fake, moto.environment(secret="not-the-secret-key")))


@pytest.fixture(scope="session")
def sse_server(fake, log_dir):
    """SSE responses, and a tiny inline limit with no bucket: large audio cannot be delivered."""
    yield from _running(
        log_dir, {**_upstream(fake), "MCP_SSE": "true", "MCP_MAX_INLINE_AUDIO_BYTES": str(SMALL_INLINE_LIMIT)}
    )
