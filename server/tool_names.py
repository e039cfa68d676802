"""The names of the server's tools, as plain data: the compiler checks `spec.tools` against this module without
importing the server's MCP modules, and the server filters what it registers with `exposed`.

tests/server/test_tool_selection.py checks that TOOL_NAMES is exactly what server/tools registers.
"""

from __future__ import annotations

TOOL_NAMES: tuple[str, ...] = (
    # audio
    "text_to_speech", "speech_to_text", "text_to_sound_effects", "speech_to_speech", "isolate_audio",
    "compose_music",
    # music
    "create_composition_plan", "video_to_music", "upload_music_for_inpainting",
    # voices
    "search_voices", "get_voice", "search_voice_library", "voice_clone", "text_to_voice",
    "create_voice_from_preview",
    # account
    "list_models", "check_subscription",
    # agents
    "list_agents", "get_agent", "list_conversations", "get_conversation", "create_agent",
    "add_knowledge_base_to_agent", "simulate_conversation",
    # phone
    "list_phone_numbers", "make_outbound_call",
)  # fmt: skip

# Tools that send something to people or services outside ElevenLabs and this account (a phone call rings a
# stranger's phone). Off unless the deployment sets spec.tools.reachThirdParties (MCP_TOOLS_REACH_THIRD_PARTIES).
REACHES_THIRD_PARTIES: frozenset[str] = frozenset({"make_outbound_call"})

# Official elevenlabs-mcp tools this server leaves out, and why (the compiler says so when one is named).
NOT_OFFERED: dict[str, str] = {
    "play_audio": "it plays a file on the machine running the server; clients play the audio the tools return",
}


def exposed(allow: tuple[str, ...] | None, deny: tuple[str, ...], reach_third_parties: bool) -> tuple[str, ...]:
    """The tools a deployment offers, in TOOL_NAMES order: the allow-list (or all) minus the deny-list, and the
    third-party tools only with the switch on. Names are assumed checked."""
    chosen = TOOL_NAMES if allow is None else tuple(name for name in TOOL_NAMES if name in allow)
    return tuple(name for name in chosen
                 if name not in deny and (reach_third_parties or name not in REACHES_THIRD_PARTIES))
