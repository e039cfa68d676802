"""Tools that make or transform audio: speech, sound effects, music, voice changing, isolation, transcription."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ContentBlock
from pydantic import Field

from server.audio_outputs import mime_for_format
from server.elevenlabs import ElevenLabsSession
from server.tools.common import (
    AUDIO_BASE64_HELP,
    AUDIO_URL_HELP,
    OUTPUT_FORMAT_HELP,
    SPENDS_CREDITS,
    ElevenLabsId,
    OutputFormat,
    elevenlabs,
    services,
)

DEFAULT_VOICE_ID = "JBFqnCBsd6RMkjVDRZzb"  # "George", a premade voice every account has
Unit = Annotated[float, Field(ge=0, le=1)]


async def text_to_speech(
    ctx: Context,
    text: Annotated[str, Field(min_length=1, description="The text to speak.")],
    voice_id: ElevenLabsId | None = None,
    voice_name: Annotated[str | None, Field(description="Name of one of the account's voices.")] = None,
    model_id: Annotated[str | None, Field(description="e.g. eleven_multilingual_v2, eleven_flash_v2_5.")] = None,
    language_code: Annotated[str | None, Field(description="ISO 639-1 code to enforce a language.")] = None,
    stability: Unit = 0.5,
    similarity_boost: Unit = 0.75,
    style: Unit = 0.0,
    use_speaker_boost: bool = True,
    speed: Annotated[float, Field(ge=0.7, le=1.2)] = 1.0,
    output_format: Annotated[OutputFormat, Field(description=OUTPUT_FORMAT_HELP)] = "mp3_44100_128",
) -> list[ContentBlock]:
    """Convert text to speech with one of the account's voices and return the audio.

    Give voice_id or voice_name (not both); with neither, a default voice is used.
    COSTS ElevenLabs credits (per character of text): only call it when the user asks for it.
    """
    api = elevenlabs(ctx)
    voice, label = await resolve_voice(api, voice_id, voice_name)
    audio, content_type = await api.post_for_audio(
        f"/v1/text-to-speech/{quote(voice, safe='')}",
        params={"output_format": output_format},
        body={
            "text": text,
            "model_id": model_id or "eleven_multilingual_v2",
            "language_code": language_code,
            "voice_settings": {
                "stability": stability,
                "similarity_boost": similarity_boost,
                "style": style,
                "use_speaker_boost": use_speaker_boost,
                "speed": speed,
            },
        },
    )
    return await deliver_audio(ctx, audio, content_type, output_format, "speech", f"Speech generated with voice {label}")


async def text_to_sound_effects(
    ctx: Context,
    text: Annotated[str, Field(min_length=1, description="Description of the sound, e.g. 'glass breaking'.")],
    duration_seconds: Annotated[float | None, Field(ge=0.5, le=30, description="Omit to let it choose.")] = None,
    loop: Annotated[bool, Field(description="Make the sound loop seamlessly.")] = False,
    output_format: Annotated[OutputFormat, Field(description=OUTPUT_FORMAT_HELP)] = "mp3_44100_128",
) -> list[ContentBlock]:
    """Generate a sound effect from a text description and return the audio.

    COSTS ElevenLabs credits (per generated second): only call it when the user asks for it.
    """
    audio, content_type = await elevenlabs(ctx).post_for_audio(
        "/v1/sound-generation",
        params={"output_format": output_format},
        body={"text": text, "duration_seconds": duration_seconds, "loop": loop or None},
    )
    return await deliver_audio(ctx, audio, content_type, output_format, "sound-effect", "Sound effect generated")


async def compose_music(
    ctx: Context,
    prompt: Annotated[str, Field(min_length=1, description="What the music should be: style, mood, instruments.")],
    music_length_ms: Annotated[int | None, Field(ge=3000, le=300000, description="Length, 3 s to 5 min.")] = None,
    force_instrumental: bool = False,
    output_format: Annotated[OutputFormat, Field(description=OUTPUT_FORMAT_HELP)] = "mp3_44100_128",
) -> list[ContentBlock]:
    """Compose music from a prompt and return the audio.

    Long pieces may take longer than the server's time budget allows; prefer under a minute.
    COSTS ElevenLabs credits (per generated minute): only call it when the user asks for it.
    """
    audio, content_type = await elevenlabs(ctx).post_for_audio(
        "/v1/music",
        params={"output_format": output_format},
        body={"prompt": prompt, "music_length_ms": music_length_ms, "force_instrumental": force_instrumental or None},
    )
    return await deliver_audio(ctx, audio, content_type, output_format, "music", "Music composed")


async def speech_to_speech(
    ctx: Context,
    audio_url: Annotated[str | None, Field(description=AUDIO_URL_HELP)] = None,
    audio_base64: Annotated[str | None, Field(description=AUDIO_BASE64_HELP)] = None,
    voice_id: ElevenLabsId | None = None,
    voice_name: Annotated[str | None, Field(description="Name of one of the account's voices.")] = None,
    model_id: str = "eleven_multilingual_sts_v2",
    output_format: Annotated[OutputFormat, Field(description=OUTPUT_FORMAT_HELP)] = "mp3_44100_128",
) -> list[ContentBlock]:
    """Re-voice recorded speech: keep what is said and how, with another voice.

    COSTS ElevenLabs credits (per second of audio): only call it when the user asks for it.
    """
    api = elevenlabs(ctx)
    with services(ctx).inputs.for_call([audio_url], [audio_base64]) as inputs:
        source = await inputs.load(audio_url, audio_base64)
        voice, label = await resolve_voice(api, voice_id, voice_name)
        audio, content_type = await api.post_for_audio(
            f"/v1/speech-to-speech/{quote(voice, safe='')}",
            params={"output_format": output_format},
            data={"model_id": model_id},
            files=[("audio", source.as_upload())],
        )
    return await deliver_audio(ctx, audio, content_type, output_format, "voice-changed", f"Speech re-voiced as {label}")


async def isolate_audio(
    ctx: Context,
    audio_url: Annotated[str | None, Field(description=AUDIO_URL_HELP)] = None,
    audio_base64: Annotated[str | None, Field(description=AUDIO_BASE64_HELP)] = None,
) -> list[ContentBlock]:
    """Remove background noise and music from a recording, keeping the voice.

    COSTS ElevenLabs credits (per minute of audio): only call it when the user asks for it.
    """
    with services(ctx).inputs.for_call([audio_url], [audio_base64]) as inputs:
        source = await inputs.load(audio_url, audio_base64)
        audio, content_type = await elevenlabs(ctx).post_for_audio(
            "/v1/audio-isolation", files=[("audio", source.as_upload())]
        )
    return await deliver_audio(ctx, audio, content_type, "mp3_44100_128", "isolated", "Voice isolated")


async def speech_to_text(
    ctx: Context,
    audio_url: Annotated[str | None, Field(description=AUDIO_URL_HELP)] = None,
    audio_base64: Annotated[str | None, Field(description=AUDIO_BASE64_HELP)] = None,
    language_code: Annotated[str | None, Field(description="ISO 639 code; omit to detect it.")] = None,
    diarize: Annotated[bool, Field(description="Label who speaks when.")] = False,
    model_id: str = "scribe_v1",
) -> str:
    """Transcribe speech in an audio file to text.

    COSTS ElevenLabs credits (per minute of audio): only call it when the user asks for it.
    """
    with services(ctx).inputs.for_call([audio_url], [audio_base64]) as inputs:
        source = await inputs.load(audio_url, audio_base64)
        result = await elevenlabs(ctx).post_multipart(
            "/v1/speech-to-text",
            data={"model_id": model_id, "language_code": language_code, "diarize": diarize},
            files=[("file", source.as_upload())],
        )
    language = result.get("language_code") or "unknown"
    transcript = _by_speaker(result.get("words") or []) if diarize else result.get("text", "")
    return f"Language: {language}\n\n{transcript}"


async def resolve_voice(api: ElevenLabsSession, voice_id: str | None, voice_name: str | None) -> tuple[str, str]:
    """The voice id to use and a label for it, from an id, a name, or neither (the default)."""
    if voice_id and voice_name:
        raise ToolError("Give voice_id or voice_name, not both.")
    if voice_id:
        return voice_id, voice_id
    if not voice_name:
        return DEFAULT_VOICE_ID, f"default ({DEFAULT_VOICE_ID})"
    found = await api.get_json("/v2/voices", params={"search": voice_name, "page_size": 100})
    for voice in found.get("voices", []):
        if str(voice.get("name", "")).lower() == voice_name.lower():
            return voice["voice_id"], f"{voice['name']} ({voice['voice_id']})"
    raise ToolError(f"No voice named {voice_name!r} in this account; use search_voices to list them.")


async def deliver_audio(
    ctx: Context, audio: bytes, content_type: str | None, output_format: str, name: str, summary: str
) -> list[ContentBlock]:
    mime = content_type.split(";")[0] if content_type and content_type.startswith("audio/") else None
    return await services(ctx).outputs.deliver(audio, mime or mime_for_format(output_format), name, summary)


def _by_speaker(words: list[dict]) -> str:
    """Words grouped into 'speaker_0: ...' lines, one per change of speaker."""
    lines: list[str] = []
    speaker = None
    for word in words:
        if word.get("type") == "spacing":
            continue
        if word.get("speaker_id") != speaker or not lines:
            speaker = word.get("speaker_id")
            lines.append(f"{speaker or 'unknown'}:")
        lines[-1] += " " + str(word.get("text", "")).strip()
    return "\n".join(lines)


TOOLS = [
    (text_to_speech, SPENDS_CREDITS),
    (speech_to_text, SPENDS_CREDITS),
    (text_to_sound_effects, SPENDS_CREDITS),
    (speech_to_speech, SPENDS_CREDITS),
    (isolate_audio, SPENDS_CREDITS),
    (compose_music, SPENDS_CREDITS),
]
