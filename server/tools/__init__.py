"""The MCP tools, one module per area. Each module lists its tools with their annotations in TOOLS."""

from __future__ import annotations

import inspect

from mcp.server.mcpserver import MCPServer

from server.tools import account, agents, audio, voices

ALL_TOOLS = [*audio.TOOLS, *voices.TOOLS, *account.TOOLS, *agents.TOOLS]


def register_tools(mcp: MCPServer) -> None:
    for function, hints in ALL_TOOLS:
        # Tool output is text and content blocks, not structured data, so no output schema.
        description = inspect.cleandoc(function.__doc__ or "")
        mcp.add_tool(function, description=description, annotations=hints, structured_output=False)
