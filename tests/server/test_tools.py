"""Every tool, called with the SDK's MCP client over streamable HTTP against the fake ElevenLabs API."""

from __future__ import annotations

import base64
import json

import anyio
import pytest

from server.tool_names import REACHES_THIRD_PARTIES, TOOL_NAMES
from server.tools import ALL_TOOLS
from tests.server.audio_host import TONE_MP3
from tests.server.harness import audio_blocks, call_tool, mcp_client, texts

EXPECTED_TOOLS = set(TOOL_NAMES) - REACHES_THIRD_PARTIES  # a default deployment: every tool but make_outbound_call
READ_ONLY_TOOLS = {
    "search_voices", "get_voice", "search_voice_library", "list_models", "check_subscription",
    "list_agents", "get_agent", "list_conversations", "get_conversation", "list_phone_numbers",
}  # fmt: skip
FREE_BUT_NOT_REPEATABLE = {"create_composition_plan"}  # asks a model: changes nothing, answers may differ
CHANGES_OR_SENDS = {"add_knowledge_base_to_agent", "make_outbound_call"}  # destructiveHint
NO_CREDITS_OF_THEIR_OWN = {"create_agent", "add_knowledge_base_to_agent", "upload_music_for_inpainting"}
TONE_B64 = base64.b64encode(TONE_MP3).decode()


def is_mp3(data: bytes) -> bool:
    return data[:3] == b"ID3" or (data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


def single_audio(result) -> bytes:
    assert not result.is_error, texts(result)
    [block] = audio_blocks(result)
    assert block.mime_type == "audio/mpeg"
    data = base64.b64decode(block.data)
    assert is_mp3(data)
    return data


def fake_paths(fake, method: str) -> list[str]:
    return [r.path for r in fake.requests if r.method == method]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_tools_list_has_every_tool_with_honest_annotations(main_server, mode):
    async def list_tools():
        async with mcp_client(main_server.mcp_url, mode=mode) as client:
            return (await client.list_tools()).tools

    tools = {tool.name: tool for tool in anyio.run(list_tools)}
    assert set(tools) == EXPECTED_TOOLS
    for name, tool in tools.items():
        check_annotations(name, tool)


def check_annotations(name, tool):
    hints = tool.annotations
    assert tool.description and "\n    " not in tool.description, name  # dedented docstring
    assert hints.open_world_hint is True, name
    assert hints.destructive_hint is (name in CHANGES_OR_SENDS), name  # changes what exists, or sends
    if name in READ_ONLY_TOOLS | FREE_BUT_NOT_REPEATABLE:
        assert hints.read_only_hint and hints.idempotent_hint is (name in READ_ONLY_TOOLS), name
        assert "Free" in tool.description and "COSTS" not in tool.description, name
    else:
        assert not hints.read_only_hint and not hints.idempotent_hint, name
        assert "only call it when the user asks" in tool.description, name
        if name not in NO_CREDITS_OF_THEIR_OWN:
            assert "COSTS ElevenLabs credits" in tool.description, name


def test_registered_tools_match_the_expected_set():
    assert {fn.__name__ for fn, _ in ALL_TOOLS} == EXPECTED_TOOLS | REACHES_THIRD_PARTIES


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_text_to_speech_by_voice_name_returns_inline_mp3(main_server, fake, mode):
    arguments = {"text": "Hello from the tests", "voice_name": "Rachel"}
    result = call_tool(main_server, "text_to_speech", arguments, mode=mode)
    single_audio(result)
    assert "Rachel (21m00Tcm4TlvDq8ikWAM)" in texts(result)
    assert "/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM" in fake_paths(fake, "POST")


def test_text_to_speech_default_voice_and_wav_format(main_server):
    result = call_tool(main_server, "text_to_speech", {"text": "Hi", "output_format": "wav_16000"})
    [block] = audio_blocks(result)
    assert block.mime_type == "audio/wav"
    assert base64.b64decode(block.data)[:4] == b"RIFF"
    assert "default (JBFqnCBsd6RMkjVDRZzb)" in texts(result)


def test_text_to_speech_rejects_unknown_voice_name_and_both_voice_fields(main_server):
    unknown = call_tool(main_server, "text_to_speech", {"text": "Hi", "voice_name": "Nobody"})
    assert unknown.is_error and "No voice named 'Nobody'" in texts(unknown)
    both = call_tool(main_server, "text_to_speech", {"text": "Hi", "voice_id": "a", "voice_name": "b"})
    assert both.is_error and "not both" in texts(both)


def test_text_to_speech_rejects_path_like_voice_id(main_server, fake):
    before = len(fake.requests)
    result = call_tool(main_server, "text_to_speech", {"text": "Hi", "voice_id": "../v1/user"})
    assert result.is_error and "voice_id" in texts(result)
    assert len(fake.requests) == before  # refused before reaching ElevenLabs


def test_sound_effects_and_music(main_server):
    single_audio(call_tool(main_server, "text_to_sound_effects", {"text": "door creak", "duration_seconds": 1.5}))
    single_audio(call_tool(main_server, "compose_music", {"prompt": "calm piano", "music_length_ms": 4000}))


def test_speech_to_text_from_base64_and_diarized(main_server):
    result = call_tool(main_server, "speech_to_text", {"audio_base64": TONE_B64, "language_code": "en"})
    assert not result.is_error
    assert texts(result) == "Language: en\n\nThis is a transcript from the fake ElevenLabs API."
    diarized = call_tool(main_server, "speech_to_text", {"audio_base64": TONE_B64, "diarize": True})
    assert "speaker_0: This is a transcript" in texts(diarized)


def test_speech_to_text_from_url(main_server, audio_host):
    result = call_tool(main_server, "speech_to_text", {"audio_url": f"{audio_host.url}/tone.mp3"})
    assert "transcript from the fake" in texts(result)


def test_speech_to_speech_and_isolation_send_the_input_audio(main_server, fake, audio_host):
    single_audio(call_tool(main_server, "speech_to_speech", {"audio_base64": TONE_B64, "voice_name": "George"}))
    assert "/v1/speech-to-speech/JBFqnCBsd6RMkjVDRZzb" in fake_paths(fake, "POST")
    single_audio(call_tool(main_server, "isolate_audio", {"audio_url": f"{audio_host.url}/redirect"}))


def test_voice_search_get_and_library(main_server):
    found = json.loads(texts(call_tool(main_server, "search_voices", {"search": "george"})))
    assert found["voices"] == [{"voice_id": "JBFqnCBsd6RMkjVDRZzb", "name": "George", "category": "premade"}]
    voice = json.loads(texts(call_tool(main_server, "get_voice", {"voice_id": "JBFqnCBsd6RMkjVDRZzb"})))
    assert voice["name"] == "George" and voice["labels"]["accent"] == "british"
    library = json.loads(texts(call_tool(main_server, "search_voice_library", {"search": "lucia"})))
    assert [v["name"] for v in library["voices"]] == ["Lucia"]


def test_voice_clone_from_url_and_base64(main_server, audio_host):
    result = call_tool(
        main_server,
        "voice_clone",
        {"name": "Test clone", "sample_urls": [f"{audio_host.url}/tone.mp3"], "samples_base64": [TONE_B64]},
    )
    assert not result.is_error, texts(result)
    voice_id = texts(result).rsplit("voice_id ", 1)[1].rstrip(".")
    voice = json.loads(texts(call_tool(main_server, "get_voice", {"voice_id": voice_id})))
    assert voice["name"] == "Test clone" and voice["category"] == "cloned"


def test_voice_clone_needs_a_sample(main_server):
    result = call_tool(main_server, "voice_clone", {"name": "Empty"})
    assert result.is_error and "recordings" in texts(result)


def test_text_to_voice_then_create_voice_from_preview(main_server):
    description = "A calm, deep narrator with a slight British accent"
    designed = call_tool(main_server, "text_to_voice", {"voice_description": description})
    assert not designed.is_error, texts(designed)
    assert len(audio_blocks(designed)) == 3
    generated_id = texts(designed).split("Generated voice ids: ")[1].split(",")[0]
    created = call_tool(
        main_server,
        "create_voice_from_preview",
        {"generated_voice_id": generated_id, "voice_name": "Narrator", "voice_description": description},
    )
    assert texts(created) == f"Voice 'Narrator' created: voice_id {generated_id}."


def test_models_and_subscription(main_server):
    models = json.loads(texts(call_tool(main_server, "list_models")))
    assert {"model_id": "eleven_multilingual_v2", "languages": ["en", "es"]}.items() <= models[0].items()
    subscription = json.loads(texts(call_tool(main_server, "check_subscription")))
    assert subscription["tier"] == "creator" and subscription["character_limit"] == 100_000


def test_agents_and_conversations(main_server):
    agents = json.loads(texts(call_tool(main_server, "list_agents")))
    assert agents["agents"][0]["agent_id"] == "agent_fake_0001"
    agent = json.loads(texts(call_tool(main_server, "get_agent", {"agent_id": "agent_fake_0001"})))
    assert agent["voice_id"] == "21m00Tcm4TlvDq8ikWAM" and agent["first_message"] == "Hello!"
    listed = json.loads(texts(call_tool(main_server, "list_conversations", {"agent_id": "agent_fake_0001"})))
    assert [c["conversation_id"] for c in listed["conversations"]] == ["conv_fake_0001", "conv_fake_0002"]
    conversation = texts(call_tool(main_server, "get_conversation", {"conversation_id": "conv_fake_0001"}))
    assert "[3s] user: What are your opening hours?" in conversation
    assert "The caller asked for opening hours." in conversation
