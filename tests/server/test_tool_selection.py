"""server/tool_names.py is the one list of the server's tools (the compiler reads it without importing the
server): it must be exactly what server/tools registers, and MCP_TOOLS_* must be checked against it."""

from __future__ import annotations

import pytest

from server.config import ConfigError, load_settings
from server.tool_names import NOT_OFFERED, REACHES_THIRD_PARTIES, TOOL_NAMES, exposed
from server.tools import ALL_TOOLS

KEY = {"MCP_SERVER_API_KEY": "k" * 32}


def test_the_name_list_is_exactly_what_the_server_registers_in_order():
    assert [function.__name__ for function, _ in ALL_TOOLS] == list(TOOL_NAMES)
    assert REACHES_THIRD_PARTIES <= set(TOOL_NAMES)
    assert not set(NOT_OFFERED) & set(TOOL_NAMES)


def test_the_compiler_reads_the_names_without_importing_the_server(tmp_path):
    import subprocess
    import sys

    code = ("import sys, compiler.checks, compiler.docs, compiler.model; "
            "print(sorted(m for m in sys.modules if m == 'mcp' or m.startswith(('mcp.', 'server.tools', 'httpx'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(("environment", "message"), [
    ({"MCP_TOOLS_ALLOW": "text_to_speech,text_to_speach"}, "MCP_TOOLS_ALLOW: unknown tools text_to_speach"),
    ({"MCP_TOOLS_DENY": "play_audio"}, "MCP_TOOLS_DENY: unknown tools play_audio"),
    ({"MCP_TOOLS_ALLOW": "list_models", "MCP_TOOLS_DENY": "get_voice"}, "not both"),
])
def test_a_wrong_selection_stops_the_server_with_the_variable_named(environment, message):
    with pytest.raises(ConfigError) as raised:
        load_settings({**KEY, **environment})
    assert any(message in problem for problem in raised.value.problems), raised.value.problems


def test_allow_deny_and_the_third_party_switch():
    settings = load_settings({**KEY, "MCP_TOOLS_ALLOW": "get_voice, list_models"})
    assert exposed(settings.tools_allow, settings.tools_deny, False) == ("get_voice", "list_models")
    settings = load_settings({**KEY, "MCP_TOOLS_DENY": "voice_clone"})
    assert "voice_clone" not in exposed(None, settings.tools_deny, False)
    assert len(exposed(None, settings.tools_deny, False)) == len(TOOL_NAMES) - 1 - len(REACHES_THIRD_PARTIES)
    for name in REACHES_THIRD_PARTIES:
        assert name not in exposed((name,), (), False) and name in exposed((name,), (), True)
    assert load_settings(KEY).tools_allow is None  # unset: every tool


def test_no_tool_argument_pattern_uses_a_unicode_class():
    r"""pydantic-core compiles patterns with Rust's regex, where \w, \d and \s are Unicode classes: one
    `[\w .-]{1,100}` cost the server 14 MiB of RSS at start-up. Tool argument patterns spell ASCII classes out."""
    import json

    from mcp.server.mcpserver import MCPServer

    from server.tools import register_tools

    mcp = MCPServer("t")
    register_tools(mcp, load_settings({**KEY, "MCP_TOOLS_REACH_THIRD_PARTIES": "true"}))
    schemas = json.dumps([tool.parameters for tool in mcp._tool_manager.list_tools()])
    assert "pattern" in schemas
    for unicode_class in (r"\\w", r"\\d", r"\\s"):
        assert unicode_class not in schemas
