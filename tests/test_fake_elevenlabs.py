"""The fake ElevenLabs API, exercised through the real `elevenlabs` SDK and raw HTTP.

Every JSON payload is also validated strictly against the SDK's pydantic models (the SDK
itself parses leniently, so a wrong shape would otherwise slip through).
"""

from __future__ import annotations

import base64
import io
import signal
import socket
import subprocess
import sys
import threading
import time
import typing
import wave
from pathlib import Path

import httpx
import pytest
from elevenlabs import types as el
from elevenlabs.client import ElevenLabs
from elevenlabs.conversational_ai.phone_numbers.types import PhoneNumbersListResponseItem
from elevenlabs.core.api_error import ApiError as SdkApiError
from pydantic import TypeAdapter

from tests.fakes import FAKE_API_KEY, FakeElevenLabs, g711
from tests.fakes.catalog import library_voices, premade_voices

ROOT = Path(__file__).resolve().parents[1]
RACHEL = premade_voices()[0]["voice_id"]
NO_RETRY = {"max_retries": 0}


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def fake():
    with FakeElevenLabs(port=0, latency=0) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_leftover_faults(fake):
    yield
    fake.clear_faults()


@pytest.fixture(scope="module")
def client(fake):
    return ElevenLabs(api_key=FAKE_API_KEY, base_url=fake.url)


@pytest.fixture(scope="module")
def http(fake):
    with httpx.Client(base_url=fake.url, headers={"xi-api-key": FAKE_API_KEY}, timeout=10) as session:
        yield session


def sdk_json(resource, method: str, model, *args, **kwargs):
    """Call `resource.method` through the SDK; validate the raw JSON strictly against `model`."""
    raw = getattr(resource.with_raw_response, method)(*args, **kwargs)
    TypeAdapter(model).validate_json(raw._response.content, strict=True)
    return raw.data


def sdk_error(call, *args, **kwargs) -> SdkApiError:
    with pytest.raises(SdkApiError) as caught:
        result = call(*args, **kwargs, request_options=NO_RETRY)
        if isinstance(result, typing.Iterator):
            b"".join(result)
    return caught.value


def mp3_frames(data: bytes) -> tuple[int, int, int]:
    """Walk every MPEG audio frame header: (frames, sample rate, bitrate kbit/s); fails on junk."""
    bitrates = {
        3: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],  # MPEG-1 layer III
        2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    }  # MPEG-2 layer III
    rates = {3: [44100, 48000, 32000], 2: [22050, 24000, 16000]}
    position, frames, rate, bitrate = 0, 0, 0, 0
    while position < len(data):
        header = int.from_bytes(data[position : position + 4], "big")
        assert header >> 21 == 0x7FF, f"no MPEG frame sync at byte {position}"
        version, layer = (header >> 19) & 3, (header >> 17) & 3
        assert version in (2, 3) and layer == 1, "not MPEG-1/2 layer III"
        bitrate = bitrates[version][(header >> 12) & 15]
        rate = rates[version][(header >> 10) & 3]
        padding = (header >> 9) & 1
        position += (144 if version == 3 else 72) * bitrate * 1000 // rate + padding
        frames += 1
    assert position == len(data), "the last frame is truncated"
    return frames, rate, bitrate


def mp3_seconds(data: bytes) -> float:
    frames, rate, _ = mp3_frames(data)
    return frames * (1152 if rate >= 32000 else 576) / rate


def detail(response: httpx.Response) -> dict:
    return response.json()["detail"]


# ---------------------------------------------------------------- audio endpoints


def test_text_to_speech_returns_a_real_mp3_sized_by_the_text(client):
    audio = b"".join(client.text_to_speech.convert(RACHEL, text="x" * 60, model_id="eleven_multilingual_v2"))
    assert mp3_frames(audio)[1:] == (44100, 128)
    assert 4.0 <= mp3_seconds(audio) <= 4.3  # 60 characters at 15 per second


def test_text_to_speech_stream_is_chunked_mp3(client, http):
    audio = b"".join(client.text_to_speech.stream(RACHEL, text="Streaming " * 30))
    assert mp3_frames(audio)[0] > 100
    response = http.post(f"/v1/text-to-speech/{RACHEL}/stream", json={"text": "hello"})
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.headers["content-type"] == "audio/mpeg"


def test_output_format_is_honoured(client, http):
    low = b"".join(client.text_to_speech.convert(RACHEL, text="hello", output_format="mp3_22050_32"))
    assert mp3_frames(low)[1:] == (22050, 32)
    response = http.post(f"/v1/text-to-speech/{RACHEL}", params={"output_format": "wav_16000"}, json={"text": "hi"})
    assert response.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        assert wav.getnframes() == 8000
    pcm = http.post(f"/v1/text-to-speech/{RACHEL}", params={"output_format": "pcm_24000"}, json={"text": "hi"})
    assert (pcm.headers["content-type"], len(pcm.content)) == ("audio/pcm", 24000)
    ulaw = http.post(f"/v1/text-to-speech/{RACHEL}", params={"output_format": "ulaw_8000"}, json={"text": "hi"})
    assert (ulaw.headers["content-type"], len(ulaw.content)) == ("audio/basic", 4000)
    assert len(set(ulaw.content)) > 20  # a tone, not a constant
    opus = http.post(f"/v1/text-to-speech/{RACHEL}", params={"output_format": "opus_48000_64"}, json={"text": "hi"})
    assert opus.status_code == 422 and detail(opus)["status"] == "invalid_output_format"


def test_g711_encoders_match_reference_values():
    # code words as the reference encoder (CPython's audioop, removed in 3.13) produces them
    assert [g711.ulaw_byte(s) for s in (0, -1, 32767, -32768, 1000)] == [0xFF, 0x7E, 0x80, 0x00, 0xCE]
    assert [g711.alaw_byte(s) for s in (0, -1, 32767, -32768, 1000)] == [0xD5, 0x55, 0xAA, 0x2A, 0xFA]


@pytest.mark.parametrize("text", ["", "   "])
def test_text_to_speech_rejects_empty_text_with_422(client, text):
    error = sdk_error(client.text_to_speech.convert, RACHEL, text=text)
    assert error.status_code == 422
    assert error.body["detail"]["status"] == "invalid_parameter"


def test_unknown_voice_is_404(client):
    error = sdk_error(client.text_to_speech.convert, "no_such_voice", text="hello")
    assert error.status_code == 404 and error.body["detail"]["status"] == "voice_not_found"


def test_sound_generation(client):
    audio = b"".join(client.text_to_sound_effects.convert(text="a door creaks", duration_seconds=1.0))
    assert 1.0 <= mp3_seconds(audio) <= 1.2
    error = sdk_error(client.text_to_sound_effects.convert, text="a door creaks", duration_seconds=31)
    assert error.status_code == 422


def test_speech_to_text_parses_the_upload(client):
    result = sdk_json(
        client.speech_to_text,
        "convert",
        el.SpeechToTextChunkResponseModel,
        model_id="scribe_v1",
        file=("talk.mp3", b"\xff\xfb" * 500, "audio/mpeg"),
        language_code="de",
    )
    assert result.text.startswith("This is a transcript") and result.language_code == "de"
    assert [w.text for w in result.words if w.type == "word"] == result.text.split()
    assert {w.speaker_id for w in result.words} == {None}
    diarized = client.speech_to_text.convert(
        model_id="scribe_v1", file=("talk.mp3", b"\xff", "audio/mpeg"), diarize=True
    )
    assert [w.speaker_id for w in diarized.words if w.type == "word"][::4] == ["speaker_0", "speaker_0", "speaker_1"]


def test_speech_to_text_needs_a_file_or_url(http):
    response = http.post("/v1/speech-to-text", data={"model_id": "scribe_v1"}, files={"unrelated": ("a", b"x")})
    assert response.status_code == 422 and "cloud_storage_url" in detail(response)["message"]


def test_speech_to_speech_and_voice_changer_paths(client, http):
    upload = ("in.mp3", b"\xff" * 32_000, "audio/mpeg")  # two seconds at 128 kbit/s
    audio = b"".join(client.speech_to_speech.convert(RACHEL, audio=upload))  # SDK path: /v1/voice-changer
    assert 2.0 <= mp3_seconds(audio) <= 2.2
    response = http.post(f"/v1/speech-to-speech/{RACHEL}", files={"audio": upload})
    assert response.status_code == 200 and mp3_frames(response.content)
    assert b"".join(client.speech_to_speech.stream(RACHEL, audio=upload))


def test_audio_isolation(client):
    audio = b"".join(client.audio_isolation.convert(audio=("noisy.mp3", b"\x01" * 16_000, "audio/mpeg")))
    assert 1.0 <= mp3_seconds(audio) <= 1.2
    assert b"".join(client.audio_isolation.stream(audio=("noisy.mp3", b"\x01" * 100, "audio/mpeg")))


EMPTY = ("empty.mp3", b"", "audio/mpeg")


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.speech_to_text.convert(model_id="scribe_v1", file=EMPTY, request_options=NO_RETRY),
        lambda c: b"".join(c.speech_to_speech.convert(RACHEL, audio=EMPTY, request_options=NO_RETRY)),
        lambda c: b"".join(c.audio_isolation.convert(audio=EMPTY, request_options=NO_RETRY)),
        lambda c: c.voices.ivc.create(name="Empty", files=[EMPTY], request_options=NO_RETRY),
        lambda c: b"".join(c.music.video_to_music(videos=[EMPTY], request_options=NO_RETRY)),
        lambda c: c.music.upload(file=EMPTY, request_options=NO_RETRY),
        lambda c: c.conversational_ai.knowledge_base.documents.create_from_file(file=EMPTY, request_options=NO_RETRY),
    ],
    ids=[
        "speech-to-text",
        "speech-to-speech",
        "audio-isolation",
        "voice-clone",
        "video-to-music",
        "music-upload",
        "kb",
    ],
)
def test_multipart_endpoints_reject_an_empty_upload(client, call):
    with pytest.raises(SdkApiError) as caught:
        call(client)
    assert caught.value.status_code == 422
    assert caught.value.body["detail"]["status"] == "empty_file"


def test_multipart_endpoint_rejects_a_json_body(http):
    response = http.post("/v1/audio-isolation", json={"audio": "not a file"})
    assert response.status_code == 422 and detail(response)["status"] == "invalid_content_type"


def test_music_compose_plan_upload_and_video(client):
    song = b"".join(client.music.compose(prompt="an upbeat jingle", music_length_ms=3_000))
    assert 3.0 <= mp3_seconds(song) <= 3.2
    plan = sdk_json(client.music.composition_plan, "create", el.MusicPrompt, prompt="epic", music_length_ms=20_000)
    assert sum(section.duration_ms for section in plan.sections) == 20_000
    from_plan = b"".join(client.music.compose(composition_plan=plan))
    assert 20.0 <= mp3_seconds(from_plan) <= 20.2
    uploaded = sdk_json(client.music, "upload", el.MusicUploadResponse, file=("song.mp3", song, "audio/mpeg"))
    assert uploaded.song_id
    assert mp3_frames(b"".join(client.music.video_to_music(videos=[("clip.mp4", b"\x00" * 64, "video/mp4")])))
    error = sdk_error(client.music.compose, prompt="too long", music_length_ms=600_001)
    assert error.status_code == 422


# ---------------------------------------------------------------- voices, models, account


def test_voice_search_filters_and_pages(client):
    everything = sdk_json(client.voices, "search", el.GetVoicesV2Response, page_size=100)
    assert everything.total_count >= 4 and not everything.has_more
    george = sdk_json(client.voices, "search", el.GetVoicesV2Response, search="george")
    assert [v.name for v in george.voices] == ["George"]
    first = client.voices.search(page_size=2, voice_type="default")
    second = client.voices.search(page_size=2, voice_type="default", next_page_token=first.next_page_token)
    assert first.has_more and len(first.voices) == 2
    assert {v.voice_id for v in first.voices}.isdisjoint(v.voice_id for v in second.voices)


def test_get_voice(client):
    voice = sdk_json(client.voices, "get", el.Voice, RACHEL)
    assert (voice.name, voice.category) == ("Rachel", "premade")
    assert sdk_error(client.voices.get, "missing").status_code == 404


def test_cloned_voice_is_kept(client):
    samples = [("a.mp3", b"\xff\xfb" * 100, "audio/mpeg"), ("b.wav", b"RIFF" * 50, "audio/wav")]
    added = sdk_json(
        client.voices.ivc,
        "create",
        el.AddVoiceIvcResponseModel,
        name="My clone",
        files=samples,
        labels={"accent": "irish"},
        description="test clone",
    )
    voice = sdk_json(client.voices, "get", el.Voice, added.voice_id)
    assert (voice.name, voice.category, voice.labels["accent"]) == ("My clone", "cloned", "irish")
    assert [s.file_name for s in voice.samples] == ["a.mp3", "b.wav"]
    assert any(v.voice_id == added.voice_id for v in client.voices.search(search="my clone").voices)


def test_voice_design_previews_and_create_from_preview(client):
    description = "A calm, deep narrator voice with a slight British accent."
    design = sdk_json(client.text_to_voice, "design", el.VoiceDesignPreviewResponse, voice_description=description)
    assert len(design.previews) == 3 and len(design.text) >= 100
    assert mp3_frames(base64.b64decode(design.previews[0].audio_base_64))
    older = sdk_json(
        client.text_to_voice, "create_previews", el.VoiceDesignPreviewResponse, voice_description=description
    )
    assert older.previews[0].media_type == "audio/mpeg"
    generated_id = design.previews[1].generated_voice_id
    assert mp3_frames(b"".join(client.text_to_voice.preview.stream(generated_id)))
    created = sdk_json(
        client.text_to_voice,
        "create",
        el.Voice,
        voice_name="Narrator",
        voice_description=description,
        generated_voice_id=generated_id,
    )
    assert client.voices.get(created.voice_id).name == "Narrator"
    missing = sdk_error(
        client.text_to_voice.create, voice_name="X", voice_description=description, generated_voice_id="nope"
    )
    assert missing.status_code == 404
    assert sdk_error(client.text_to_voice.design, voice_description="too short").status_code == 422


def test_shared_voice_library(client):
    library = sdk_json(client.voices, "get_shared", el.GetLibraryVoicesResponse, page_size=10)
    assert len(library.voices) == len(library_voices())
    women = client.voices.get_shared(gender="female")
    assert [v.name for v in women.voices] == ["Lucia"]
    paged = client.voices.get_shared(page_size=2, page=1)
    assert len(paged.voices) == 1 and not paged.has_more


def test_models_user_and_subscription(client):
    models = sdk_json(client.models, "list", typing.List[el.Model])
    assert "eleven_multilingual_v2" in [m.model_id for m in models]
    subscription = sdk_json(client.user.subscription, "get", el.Subscription)
    assert subscription.character_limit > subscription.character_count
    assert sdk_json(client.user, "get", el.User).subscription.tier == subscription.tier


# ---------------------------------------------------------------- conversational AI


def test_agents_create_get_update_list_simulate(client):
    agents = client.conversational_ai.agents
    config = {
        "agent": {"first_message": "Hi!", "language": "en", "prompt": {"prompt": "Be brief."}},
        "tts": {"voice_id": RACHEL},
    }
    created = sdk_json(agents, "create", el.CreateAgentResponseModel, conversation_config=config, name="Brief")
    agent = sdk_json(agents, "get", el.GetAgentResponseModel, created.agent_id)
    assert (agent.name, agent.conversation_config.agent.first_message) == ("Brief", "Hi!")
    update = {"agent": {"prompt": {"knowledge_base": [{"type": "url", "name": "Docs", "id": "doc_1"}]}}}
    updated = sdk_json(agents, "update", el.GetAgentResponseModel, created.agent_id, conversation_config=update)
    assert updated.conversation_config.agent.prompt.knowledge_base[0].id == "doc_1"
    assert updated.conversation_config.agent.prompt.prompt == "Be brief."  # PATCH merges
    listed = sdk_json(agents, "list", el.GetAgentsPageResponseModel, search="brief")
    assert [a.agent_id for a in listed.agents] == [created.agent_id] and listed.agents[0].voice_id == RACHEL
    simulation = sdk_json(
        agents,
        "simulate_conversation",
        el.AgentSimulatedChatTestResponseModel,
        created.agent_id,
        simulation_specification={"simulated_user_config": {"first_message": "Hello"}},
    )
    assert simulation.analysis.call_successful == "success"
    assert sdk_error(agents.get, "agent_missing").status_code == 404


def test_conversations_list_and_get(client):
    conversations = client.conversational_ai.conversations
    page = sdk_json(conversations, "list", el.GetConversationsPageResponseModel, agent_id="agent_fake_0001")
    assert len(page.conversations) == 2 and not page.has_more
    first = sdk_json(conversations, "get", el.GetConversationResponseModel, page.conversations[0].conversation_id)
    assert first.transcript[0].role == "agent"
    assert client.conversational_ai.conversations.list(agent_id="nobody").conversations == []
    assert sdk_error(conversations.get, "conv_missing").status_code == 404


def test_phone_numbers_outbound_calls_and_knowledge_base(client):
    convai = client.conversational_ai
    numbers = sdk_json(convai.phone_numbers, "list", typing.List[PhoneNumbersListResponseItem])
    call_args = {
        "agent_id": "agent_fake_0001",
        "agent_phone_number_id": numbers[0].phone_number_id,
        "to_number": "+15550100002",
    }
    assert sdk_json(convai.twilio, "outbound_call", el.TwilioOutboundCallResponse, **call_args).success
    assert sdk_json(convai.sip_trunk, "outbound_call", el.SipTrunkOutboundCallResponse, **call_args).success
    documents = convai.knowledge_base.documents
    from_url = sdk_json(documents, "create_from_url", el.AddKnowledgeBaseResponseModel, url="http://127.0.0.1/doc")
    from_text = sdk_json(
        documents, "create_from_text", el.AddKnowledgeBaseResponseModel, text="Hours: 9-5", name="Hours"
    )
    from_file = sdk_json(
        documents,
        "create_from_file",
        el.AddKnowledgeBaseResponseModel,
        file=("faq.txt", b"Q: hours? A: 9-5", "text/plain"),
    )
    assert (from_text.name, from_file.name) == ("Hours", "faq.txt")
    assert len({from_url.id, from_text.id, from_file.id}) == 3


# ---------------------------------------------------------------- auth, routing, recording


def test_invalid_and_missing_key_get_elevenlabs_shaped_401(fake):
    bad = ElevenLabs(api_key="sk_wrong", base_url=fake.url)
    error = sdk_error(bad.models.list)
    assert error.status_code == 401
    assert error.body == {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}
    missing = httpx.get(f"{fake.url}/v1/models")
    assert missing.status_code == 401 and detail(missing)["status"] == "needs_authorization"


def test_unknown_route_and_wrong_method(http):
    assert http.get("/v1/nothing-here").status_code == 404
    assert http.delete("/v1/models").status_code == 405


def test_requests_are_recorded_without_key_values(fake, client):
    fake.requests.clear()
    client.voices.get(RACHEL)
    httpx.get(f"{fake.url}/v1/user", headers={"xi-api-key": "sk_wrong_key", "Authorization": "Bearer secret"})
    (method, path, headers), second = fake.requests
    assert (method, path, headers["xi-api-key"]) == ("GET", f"/v1/voices/{RACHEL}", "<valid>")
    assert second.headers["xi-api-key"] == "<invalid>" and second.headers["authorization"] == "<redacted>"
    recorded = repr(fake.requests)
    assert FAKE_API_KEY not in recorded and "sk_wrong_key" not in recorded and "secret" not in recorded


# ---------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, "invalid_api_key"),
        (402, "quota_exceeded"),
        (422, "validation_error"),
        (429, "too_many_concurrent_requests"),
        (500, "internal_server_error"),
        (503, "service_unavailable"),
    ],
)
def test_status_faults_have_elevenlabs_shaped_bodies(fake, http, status, code):
    fake.add_fault(r"^/v1/models$", status=status)
    response = http.get("/v1/models")
    assert response.status_code == status
    assert detail(response)["status"] == code and detail(response)["message"]
    assert ("retry-after" in response.headers) == (status in (429, 503))


def test_fault_matches_only_its_path_and_takes_custom_body(fake, http):
    fake.add_fault(r"/subscription$", status=500, body={"detail": "custom"})
    assert http.get("/v1/user").status_code == 200
    response = http.get("/v1/user/subscription")
    assert (response.status_code, response.json()) == (500, {"detail": "custom"})


def test_sdk_sees_429_with_retry_after_and_retries(fake, client):
    fake.add_fault(r"^/v1/models$", status=429, times=1, retry_after=0)
    fake.requests.clear()
    with pytest.raises(SdkApiError) as caught:
        client.models.list(request_options=NO_RETRY)
    assert caught.value.status_code == 429 and caught.value.headers["retry-after"] == "0"
    fault = fake.add_fault(r"^/v1/models$", status=503, times=1, retry_after=1)
    started = time.monotonic()
    assert client.models.list(request_options={"max_retries": 1})  # SDK waits Retry-After, then succeeds
    assert time.monotonic() - started >= 0.9 and fault.hits == 1
    assert [r.path for r in fake.requests] == ["/v1/models"] * 3


def test_times_limits_a_fault(fake, http):
    fault = fake.add_fault(r"^/v1/user$", status=500, times=2)
    assert [http.get("/v1/user").status_code for _ in range(4)] == [500, 500, 200, 200]
    assert fault.hits == 2 and len(fake.faults) == 0


def test_probability_and_status_list():
    with FakeElevenLabs(latency=0, seed=7) as seeded, httpx.Client(base_url=seeded.url) as session:
        session.headers["xi-api-key"] = FAKE_API_KEY
        seeded.add_fault(r"^/v1/user$", status=[500, 503], probability=0.5)
        codes = [session.get("/v1/user").status_code for _ in range(200)]
        seeded.clear_faults()
        seeded.add_fault(r"^/v1/user$", status=500, probability=0.0)
        never = {session.get("/v1/user").status_code for _ in range(20)}
    assert 60 <= codes.count(200) <= 140
    assert {500, 503} <= set(codes) <= {200, 500, 503}
    assert never == {200}


def test_delay_fault_delays_then_serves(fake, http):
    fake.add_fault(r"^/v1/models$", delay=0.3, times=1)
    started = time.monotonic()
    assert http.get("/v1/models").status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    http.get("/v1/models")
    assert time.monotonic() - started < 0.2


def test_delay_fault_trips_client_timeouts(fake, http):
    fake.add_fault(r"^/v1/models$", delay=1.0, times=1)
    with pytest.raises(httpx.ReadTimeout):
        http.get("/v1/models", timeout=0.2)


def test_reset_fault_resets_the_connection(fake, client, http):
    fake.add_fault(r"^/v1/user$", reset=True, times=2)
    with pytest.raises(httpx.ReadError, match="reset"):
        http.get("/v1/user")
    with pytest.raises(httpx.TransportError):
        client.user.get(request_options=NO_RETRY)
    assert http.get("/v1/user").status_code == 200


@pytest.mark.parametrize(
    "bad",
    [
        {"path_regex": "("},
        {"path_regex": "x", "status": 200},
        {"path_regex": "x", "status": []},
        {"path_regex": "x", "status": 500, "reset": True},
        {"path_regex": "x", "delay": -1},
        {"path_regex": "x", "probability": 1.5},
        {"path_regex": "x", "times": 0},
        {"path_regex": "x", "body": "b"},
    ],
)
def test_invalid_faults_are_refused(fake, bad):
    with pytest.raises(ValueError):
        fake.add_fault(**bad)


def test_fifty_concurrent_clients_are_served_in_parallel(fake):
    fake.add_fault(r"^/v1/user/subscription$", delay=0.5)
    results: list[int] = []

    def call() -> None:
        response = httpx.get(f"{fake.url}/v1/user/subscription", headers={"xi-api-key": FAKE_API_KEY}, timeout=10)
        results.append(response.status_code)

    threads = [threading.Thread(target=call) for _ in range(50)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 50
    assert time.monotonic() - started < 6.0  # 25 s if served one after another


def test_stop_ends_pending_delays_and_closes_the_port():
    fake = FakeElevenLabs(latency=0).start()
    fake.add_fault(".", delay=60)
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(_try(lambda: httpx.get(f"{fake.url}/v1/user", timeout=30))))
    worker.start()
    time.sleep(0.2)
    started = time.monotonic()
    fake.stop()
    worker.join(5)
    assert time.monotonic() - started < 2 and outcome
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{fake.url}/v1/user")


def _try(call):
    try:
        return call()
    except httpx.HTTPError as error:
        return error


# ---------------------------------------------------------------- process mode


def _start_process(*args: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.elevenlabs_api", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline().strip()
    assert line.startswith("LISTENING http://127.0.0.1:"), (line, process.stderr.read() if process.poll() else "")
    return process, line.split()[1]


def _stop_process(process: subprocess.Popen, signum: int = signal.SIGTERM) -> int:
    process.send_signal(signum)
    try:
        return process.wait(timeout=5)
    finally:
        if process.poll() is None:
            process.kill()


def test_process_mode_serves_and_is_controlled_over_http():
    process, url = _start_process("--port", "0", "--latency", "0")
    try:
        with httpx.Client(base_url=url, headers={"xi-api-key": FAKE_API_KEY}, timeout=5) as http:
            assert ElevenLabs(api_key=FAKE_API_KEY, base_url=url).voices.get(RACHEL).name == "Rachel"
            fault = {"path_regex": "^/v1/models$", "status": 503, "times": 1, "retry_after": 2}
            assert http.post("/_fake/faults", json=fault).status_code == 201
            assert http.get("/_fake/faults").json()[0]["status"] == 503
            refused = http.get("/v1/models")
            assert refused.status_code == 503 and refused.headers["retry-after"] == "2"
            assert http.get("/v1/models").status_code == 200
            http.post("/_fake/faults", json={"path_regex": "^/v1/user$", "status": 500})
            assert http.delete("/_fake/faults").json() == {"faults": 0}
            assert http.get("/v1/user").status_code == 200
            recorded = http.get("/_fake/requests").json()
            assert [r["path"] for r in recorded] == [f"/v1/voices/{RACHEL}", "/v1/models", "/v1/models", "/v1/user"]
            assert {r["headers"]["xi-api-key"] for r in recorded} == {"<valid>"}
            assert http.delete("/_fake/requests").status_code == 200 and http.get("/_fake/requests").json() == []
            bad = http.post("/_fake/faults", json={"path_regex": "x", "colour": "red"})
            assert bad.status_code == 400 and "colour" in detail(bad)["message"]
            assert http.post("/_fake/faults", json={"path_regex": "x", "status": 99}).status_code == 400
    finally:
        assert _stop_process(process) == 0
    assert process.stdout.read() == ""  # exactly one line on stdout
    assert "Traceback" not in process.stderr.read()


def test_process_mode_fault_rate_and_sigint():
    process, url = _start_process("--fault-rate", "1", "--fault-statuses", "502")
    try:
        response = httpx.get(f"{url}/v2/voices", headers={"xi-api-key": FAKE_API_KEY})
        assert response.status_code == 502 and detail(response)["status"] == "bad_gateway"
        assert httpx.get(f"{url}/_fake/requests").status_code == 200  # control endpoints never fault
    finally:
        assert _stop_process(process, signal.SIGINT) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault-rate", "2"], "'2' is not a number from 0 to 1"),
        (["--fault-statuses", "429,abc"], "is not comma-separated codes 400-599"),
        (["--port", "-1"], "is not a port number"),
    ],
)
def test_process_mode_rejects_bad_arguments(args, message):
    result = subprocess.run(
        [sys.executable, "-m", "tests.fakes.elevenlabs_api", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_process_mode_reports_a_busy_port():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "tests.fakes.elevenlabs_api", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1 and result.stdout == ""
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(("path", "body", "where"), [
    ("/v1/convai/agents/create", {"conversation_config": {"asr": {"quality": "best"}}}, "conversation_config.asr"),
    ("/v1/convai/agents/agent_fake_0001/simulate-conversation",
     {"simulation_specification": {"simulated_user_config": {"prompt": "a bare string"}}}, "simulated_user_config"),
    ("/v1/convai/agents/agent_fake_0001/simulate-conversation",
     {"simulation_specification": {"simulated_user_config": {}}, "extra_evaluation_criteria": [{"id": "x"}]},
     "extra_evaluation_criteria.0"),
])
def test_agent_bodies_the_sdk_models_refuse_get_a_422(http, path, body, where):
    answer = http.post(path, json=body)
    assert answer.status_code == 422 and where in answer.json()["detail"]["message"], answer.text
