"""Endpoints that make or take audio: text to speech, speech to text, sound effects, voice changer,
audio isolation, music."""

from __future__ import annotations

from . import audio, catalog
from .errors import ApiError
from .messages import Request, Response
from .routing import require_range, require_text, route
from .state import FakeState, new_id

_CHARS_PER_SECOND = 15  # speaking rate used to size text-to-speech audio
_UPLOAD_BYTES_PER_SECOND = 16_000  # a 128 kbit/s upload: output as long as the input
TRANSCRIPT = "This is a transcript from the fake ElevenLabs API."


def tone_response(request: Request, seconds: float, *, chunked: bool = False) -> Response:
    """A tone of `seconds` in the request's `output_format` (default mp3_44100_128)."""
    output_format = request.param("output_format")
    data = audio.tone(seconds, output_format)
    return Response.audio(data, audio.content_type(output_format), chunked=chunked)


def _is_stream(request: Request) -> bool:
    return request.path.endswith("/stream")


@route("POST", "/v1/text-to-speech/{voice_id}", "/v1/text-to-speech/{voice_id}/stream")
def text_to_speech(request: Request, state: FakeState, voice_id: str) -> Response:
    text = require_text(request.json(), "text")
    state.voice(voice_id)
    return tone_response(request, len(text) / _CHARS_PER_SECOND, chunked=_is_stream(request))


@route("POST", "/v1/speech-to-text")
def speech_to_text(request: Request, state: FakeState) -> Response:
    form = request.form()
    if not form.text("model_id"):
        raise ApiError(422, "invalid_parameter", "Field 'model_id' is required.")
    uploads, url = form.uploads("file", required=False), form.text("cloud_storage_url")
    if bool(uploads) == bool(url):
        raise ApiError(422, "invalid_parameter", "Give exactly one of 'file' and 'cloud_storage_url'.")
    diarize = (form.text("diarize") or "").lower() == "true"
    return Response.json(_transcription(form.text("language_code") or "en", diarize))


def _transcription(language_code: str, diarize: bool) -> dict:
    """A `SpeechToTextChunkResponseModel` with word timings; diarized, the second half is speaker_1."""
    words, start, spoken = [], 0.0, TRANSCRIPT.split()
    for index, text in enumerate(spoken):
        if index:
            words.append({"text": " ", "start": start, "end": start, "type": "spacing", "logprob": 0.0})
        end = round(start + 0.3, 2)
        word = {"text": text, "start": start, "end": end, "type": "word", "logprob": -0.05}
        if diarize:
            word["speaker_id"] = f"speaker_{2 * index // len(spoken)}"
        words.append(word)
        start = round(end + 0.05, 2)
    return {
        "language_code": language_code,
        "language_probability": 0.98,
        "text": TRANSCRIPT,
        "words": words,
        "transcription_id": new_id("tr_"),
    }


@route("POST", "/v1/sound-generation")
def sound_generation(request: Request, state: FakeState) -> Response:
    payload = request.json()
    require_text(payload, "text")
    duration = payload.get("duration_seconds")
    require_range(duration, "duration_seconds", 0.5, 30)
    return tone_response(request, duration or 2.0)


@route(
    "POST",
    "/v1/speech-to-speech/{voice_id}",
    "/v1/speech-to-speech/{voice_id}/stream",
    "/v1/voice-changer/{voice_id}",
    "/v1/voice-changer/{voice_id}/stream",
)
def speech_to_speech(request: Request, state: FakeState, voice_id: str) -> Response:
    upload = request.form().uploads("audio")[0]
    state.voice(voice_id)
    return tone_response(request, len(upload.data) / _UPLOAD_BYTES_PER_SECOND, chunked=_is_stream(request))


@route("POST", "/v1/audio-isolation", "/v1/audio-isolation/stream")
def audio_isolation(request: Request, state: FakeState) -> Response:
    upload = request.form().uploads("audio")[0]
    return tone_response(request, len(upload.data) / _UPLOAD_BYTES_PER_SECOND, chunked=_is_stream(request))


@route("GET", "/v1/text-to-voice/{generated_voice_id}/stream")
def voice_preview_audio(request: Request, state: FakeState, generated_voice_id: str) -> Response:
    state.preview(generated_voice_id)
    return tone_response(request, 3.0, chunked=True)


@route("POST", "/v1/music", "/v1/music/stream")
def compose_music(request: Request, state: FakeState) -> Response:
    payload = request.json()
    plan, prompt, length_ms = payload.get("composition_plan"), payload.get("prompt"), payload.get("music_length_ms")
    if (plan is None) == (prompt is None):
        raise ApiError(422, "invalid_parameter", "Give exactly one of 'prompt' and 'composition_plan'.")
    if plan is not None:
        length_ms = _plan_length_ms(plan)
    else:
        require_text(payload, "prompt")
        require_range(length_ms, "music_length_ms", 3_000, 600_000)
    return tone_response(request, (length_ms or 10_000) / 1000, chunked=_is_stream(request))


def _plan_length_ms(plan: object) -> int:
    sections = plan.get("sections") if isinstance(plan, dict) else None
    durations = [s.get("duration_ms") for s in sections or [] if isinstance(s, dict)]
    if not durations or not all(isinstance(d, int) and d > 0 for d in durations):
        raise ApiError(422, "invalid_parameter", "composition_plan needs sections, each with a positive duration_ms.")
    return sum(durations)


@route("POST", "/v1/music/plan")
def composition_plan(request: Request, state: FakeState) -> Response:
    payload = request.json()
    prompt = require_text(payload, "prompt")
    length_ms = payload.get("music_length_ms")
    require_range(length_ms, "music_length_ms", 3_000, 600_000)
    return Response.json(catalog.composition_plan(prompt, length_ms or 30_000))


@route("POST", "/v1/music/video-to-music")
def video_to_music(request: Request, state: FakeState) -> Response:
    request.form().uploads("videos")
    return tone_response(request, 5.0)


@route("POST", "/v1/music/upload")
def upload_music(request: Request, state: FakeState) -> Response:
    request.form().uploads("file")
    return Response.json({"song_id": new_id("song_"), "composition_plan": None})
