"""What a newcomer runs before anything else: the server's --help, and the fake ElevenLabs API of docs/server.md."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_server_help_lists_its_environment_variables_instead_of_a_config_error():
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MCP_", "ELEVENLABS_"))}
    script = Path(sys.executable).with_name("elevenlabs-mcp-server")
    result = subprocess.run([script, "--help"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: elevenlabs-mcp-server ") and "config error" not in result.stderr
    assert "MCP_SERVER_API_KEY" in result.stdout and "ELEVENLABS_API_KEY" in result.stdout
    bogus = subprocess.run([sys.executable, "-m", "server", "--bogus"], env=env, capture_output=True, text=True,
                           timeout=60)
    assert bogus.returncode == 2 and "usage: python -m server" in bogus.stderr


def test_the_documented_fake_api_command_starts_without_a_warning():
    """docs/server.md runs `python -m tests.fakes.elevenlabs_api`: runpy must not warn that the package imported
    the module already."""
    assert "python -m tests.fakes.elevenlabs_api" in (ROOT / "docs" / "server.md").read_text()
    result = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", "tests.fakes.elevenlabs_api",
                             "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and result.stdout.startswith("usage: python -m tests.fakes.elevenlabs_api")
