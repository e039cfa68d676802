"""Parity with the official elevenlabs-mcp server: its tool list at a pinned commit, and the tools added to match
it, each called with the SDK's MCP client against the fake ElevenLabs API (which checks the requests' shape)."""

from __future__ import annotations

import base64
import json

import anyio
import pytest

from server.tool_names import NOT_OFFERED, REACHES_THIRD_PARTIES, TOOL_NAMES
from tests.server.audio_host import TONE_MP3
from tests.server.harness import ELEVENLABS_KEY, ServerProcess, call_tool, mcp_client, texts
from tests.server.test_tools import check_annotations, single_audio

# Every @mcp.tool in elevenlabs_mcp/server.py of github.com/elevenlabs/elevenlabs-mcp at this commit (4 Aug 2026).
OFFICIAL_COMMIT = "c93b790e8ce163d4793a13d93f539fe824f160e0"
OFFICIAL_TOOLS = {
    "text_to_speech", "speech_to_text", "text_to_sound_effects", "search_voices", "list_models", "get_voice",
    "voice_clone", "isolate_audio", "check_subscription", "create_agent", "add_knowledge_base_to_agent",
    "list_agents", "get_agent", "get_conversation", "simulate_conversation", "list_conversations",
    "speech_to_speech", "text_to_voice", "create_voice_from_preview", "make_outbound_call", "search_voice_library",
    "list_phone_numbers", "play_audio", "compose_music", "create_composition_plan", "video_to_music",
    "upload_music_for_inpainting",
}  # fmt: skip
MAX_INPUT_BYTES = 200_000
TONE_B64 = base64.b64encode(TONE_MP3).decode()


def listed(server: ServerProcess) -> dict:
    async def run():
        async with mcp_client(server.mcp_url) as client:
            return {tool.name: tool for tool in (await client.list_tools()).tools}

    return anyio.run(run)


@pytest.fixture(scope="module")
def world_server(fake, log_dir):
    """A deployment with spec.tools.reachThirdParties: true."""
    server = ServerProcess(log_dir, {"ELEVENLABS_API_KEY": ELEVENLABS_KEY, "ELEVENLABS_BASE_URL": fake.url,
                                     "MCP_TOOLS_REACH_THIRD_PARTIES": "true",
                                     "MCP_MAX_INPUT_BYTES": str(MAX_INPUT_BYTES)}).start()
    yield server
    server.terminate()


def test_every_official_tool_but_play_audio_is_here_and_only_opt_in_ones_need_the_switch(main_server, world_server):
    assert len(OFFICIAL_TOOLS) == 27 and set(NOT_OFFERED) == {"play_audio"}
    assert set(TOOL_NAMES) == OFFICIAL_TOOLS - set(NOT_OFFERED)
    assert set(listed(main_server)) == OFFICIAL_TOOLS - set(NOT_OFFERED) - REACHES_THIRD_PARTIES
    tools = listed(world_server)
    assert set(tools) == OFFICIAL_TOOLS - set(NOT_OFFERED)
    for name, tool in tools.items():
        check_annotations(name, tool)


def test_a_third_party_tool_cannot_be_called_without_the_switch(main_server, fake):
    result = call_tool(main_server, "make_outbound_call", {"agent_id": "agent_fake_0001",
                                                            "agent_phone_number_id": "phnum_fake_0001",
                                                            "to_number": "+15550100002"})
    assert result.is_error and "unknown tool" in texts(result).lower()
    assert not [r for r in fake.requests if "outbound-call" in r.path]


def test_phone_numbers_and_an_outbound_call_sent_once(world_server, fake):
    numbers = json.loads(texts(call_tool(world_server, "list_phone_numbers")))
    assert numbers[0]["phone_number_id"] == "phnum_fake_0001" and numbers[0]["provider"] == "twilio"
    assert numbers[0]["assigned_agent"]["agent_id"] == "agent_fake_0001"
    arguments = {"agent_id": "agent_fake_0001", "agent_phone_number_id": "phnum_fake_0001", "to_number": "+15550100002"}
    result = call_tool(world_server, "make_outbound_call", arguments)
    assert not result.is_error and '"success":true' in texts(result) and "callSid" in texts(result)
    bad = call_tool(world_server, "make_outbound_call", {**arguments, "to_number": "0800 CALL ME"})
    assert bad.is_error
    unknown = call_tool(world_server, "make_outbound_call", {**arguments, "agent_phone_number_id": "phnum_nope"})
    assert unknown.is_error and "list_phone_numbers" in texts(unknown)
    fake.add_fault("/v1/convai/twilio/outbound-call", status=503, times=1)
    before = len([r for r in fake.requests if r.path.endswith("outbound-call")])
    assert call_tool(world_server, "make_outbound_call", arguments).is_error
    assert len([r for r in fake.requests if r.path.endswith("outbound-call")]) == before + 1  # never retried


def test_create_an_agent_give_it_a_knowledge_base_and_simulate_a_conversation(world_server):
    created = json.loads(texts(call_tool(world_server, "create_agent", {
        "name": "Parity agent", "first_message": "Hi!", "system_prompt": "Be brief."})))
    agent_id = created["agent_id"]
    for source in ({"text": "Open 9-5."}, {"url": "https://example.com/faq"},
                   {"file_base64": base64.b64encode(b"Q: hours? A: 9-5").decode(), "file_name": "faq.txt"}):
        result = call_tool(world_server, "add_knowledge_base_to_agent",
                           {"agent_id": agent_id, "knowledge_base_name": "FAQ", **source})
        assert not result.is_error, texts(result)
    agent = json.loads(texts(call_tool(world_server, "get_agent", {"agent_id": agent_id})))
    assert agent["name"] == "Parity agent" and agent["prompt"] == "Be brief." and agent["first_message"] == "Hi!"
    both = call_tool(world_server, "add_knowledge_base_to_agent",
                     {"agent_id": agent_id, "knowledge_base_name": "x", "text": "a", "url": "https://example.com"})
    assert both.is_error and "exactly one" in texts(both)
    simulated = texts(call_tool(world_server, "simulate_conversation", {
        "agent_id": agent_id, "simulated_user_prompt": "You want the opening hours.", "max_turns": 3,
        "extra_evaluation_criteria": [{"id": "answered", "name": "Answered",
                                       "conversation_goal_prompt": "The agent gave the hours."}]}))
    assert "Transcript:" in simulated and '"call_successful":"success"' in simulated


def test_the_knowledge_base_lands_in_the_agent_configuration(world_server, fake):
    created = json.loads(texts(call_tool(world_server, "create_agent", {
        "name": "KB agent", "first_message": "Hello", "system_prompt": "Answer from the docs."})))
    call_tool(world_server, "add_knowledge_base_to_agent",
              {"agent_id": created["agent_id"], "knowledge_base_name": "Hours", "text": "Open 9-5."})
    stored = fake.state.agent(created["agent_id"])
    (locator,) = stored["conversation_config"]["agent"]["prompt"]["knowledge_base"]
    assert locator["type"] == "text" and locator["name"] == "Hours" and locator["id"]
    assert stored["conversation_config"]["agent"]["prompt"]["prompt"] == "Answer from the docs."


def test_music_plan_video_to_music_and_upload(world_server):
    plan = json.loads(texts(call_tool(world_server, "create_composition_plan",
                                      {"prompt": "epic trailer", "music_length_ms": 20000})))
    assert plan
    single_audio(call_tool(world_server, "video_to_music", {"videos_base64": [base64.b64encode(b"\0" * 64).decode()],
                                                            "tags": ["cinematic"]}))
    half = base64.b64encode(b"\0" * (MAX_INPUT_BYTES // 2 + 1)).decode()
    too_much = call_tool(world_server, "video_to_music", {"videos_base64": [half, half]})
    assert too_much.is_error and "together exceed" in texts(too_much)
    none = call_tool(world_server, "video_to_music", {})
    assert none.is_error and "1 to 10 videos" in texts(none)
    uploaded = texts(call_tool(world_server, "upload_music_for_inpainting", {"audio_base64": TONE_B64}))
    assert uploaded.startswith("song_id: song_")
