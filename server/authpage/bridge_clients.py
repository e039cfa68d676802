"""Client configurations for a `websocket` deployment, which MCP clients reach through the stdio bridge
(`elevenlabs-mcp-bridge <wss URL>`, the token in MCP_BRIDGE_TOKEN): the `clients` of the auth page's answer.

Standard library only (the auth Lambda imports it at cold start); the names match the pyproject script and
server/bridge.py, which tests/authpage_lambda checks.
"""

from __future__ import annotations

import json
import shlex

from .core import client_name

BRIDGE_COMMAND = "elevenlabs-mcp-bridge"
TOKEN_ENV = "MCP_BRIDGE_TOKEN"
INSTALL_HINT = "needs elevenlabs-mcp-bridge on PATH: pip install . in the mcpdeploy repository"


def clients_for_bridge(bridge_url: str, token: str, deployment: str) -> list[dict]:
    """Claude Code, Cursor and Claude Desktop, each running the bridge as a local command with the token."""
    name = client_name(deployment)
    stdio = {"command": BRIDGE_COMMAND, "args": [bridge_url], "env": {TOKEN_ENV: token}}
    config = json.dumps({"mcpServers": {name: stdio}}, indent=2)
    claude_code = (f"claude mcp add {name} -e {TOKEN_ENV}={shlex.quote(token)} -- "
                   f"{BRIDGE_COMMAND} {shlex.quote(bridge_url)}")
    return [
        {"title": f"Claude Code ({INSTALL_HINT})", "kind": "command", "text": claude_code},
        {"title": "Cursor (~/.cursor/mcp.json)", "kind": "json", "text": config},
        {"title": "Claude Desktop (claude_desktop_config.json)", "kind": "json", "text": config},
    ]
