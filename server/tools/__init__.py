"""The MCP tools, one module per area. Each module lists its tools with their annotations in TOOLS."""

from __future__ import annotations

import inspect

from mcp.server.mcpserver import MCPServer

from server.config import Settings
from server.tool_names import exposed
from server.tools import account, agents, audio, music, phone, voices

ALL_TOOLS = [*audio.TOOLS, *music.TOOLS, *voices.TOOLS, *account.TOOLS, *agents.TOOLS, *phone.TOOLS]


def register_tools(mcp: MCPServer, settings: Settings) -> None:
    """Register the tools this deployment offers (MCP_TOOLS_*): one left out is neither listed nor callable."""
    offered = set(exposed(settings.tools_allow, settings.tools_deny, settings.tools_reach_third_parties))
    for function, hints in ALL_TOOLS:
        if function.__name__ not in offered:
            continue
        # Tool output is text and content blocks, not structured data, so no output schema.
        description = inspect.cleandoc(function.__doc__ or "")
        mcp.add_tool(function, description=description, annotations=hints, structured_output=False)
