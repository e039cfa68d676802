"""What every tool module uses: request context accessors, annotations, id and format types."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field

from server.auth import Principal
from server.elevenlabs import ElevenLabsSession
from server.services import Services

# Reads ElevenLabs data; free, repeatable, changes nothing.
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
# Generates or creates something on ElevenLabs: spends credits and adds history or voices,
# but never deletes or overwrites. Each call charges again, so not idempotent.
SPENDS_CREDITS = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)

# Creates something on the account (an agent, an uploaded song) without spending credits by itself; each call
# creates another, so not idempotent, and nothing existing is touched.
CREATES = SPENDS_CREDITS
# Changes something that already exists (an agent's configuration) or sends something into the world (a phone
# call): what destructiveHint is for.
CHANGES_OR_SENDS = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
)
# Free and changes nothing, but asks a model, so two calls may answer differently.
FREE_GENERATION = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)

ElevenLabsId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,128}$", description="An ElevenLabs id.")]

OutputFormat = Literal[
    "mp3_22050_32", "mp3_24000_48", "mp3_44100_32", "mp3_44100_64", "mp3_44100_96", "mp3_44100_128",
    "mp3_44100_192", "pcm_8000", "pcm_16000", "pcm_22050", "pcm_24000", "pcm_44100", "pcm_48000",
    "wav_8000", "wav_16000", "wav_22050", "wav_24000", "wav_44100", "wav_48000",
    "ulaw_8000", "alaw_8000", "opus_48000_32", "opus_48000_64", "opus_48000_96", "opus_48000_128",
]  # fmt: skip
OUTPUT_FORMAT_HELP = "Audio encoding codec_samplerate_bitrate; mp3_44100_128 suits most uses, mp3_22050_32 is smallest."

AUDIO_URL_HELP = "Input audio as a public https:// URL the server downloads. Give this or the base64 field."
AUDIO_BASE64_HELP = "Input audio file bytes as base64 (or a data: URL). Give this or the URL field."


def services(ctx: Context) -> Services:
    return ctx.request_context.lifespan_context


def principal(ctx: Context) -> Principal:
    state = getattr(ctx.request_context.request, "state", None)
    found = getattr(state, "principal", None)
    if not isinstance(found, Principal):
        raise ToolError("This request was not authenticated.")  # the HTTP gate should make this impossible
    return found


def elevenlabs(ctx: Context) -> ElevenLabsSession:
    """The ElevenLabs API with the caller's own key if they have one, else the server's."""
    caller = principal(ctx)
    api = services(ctx).elevenlabs
    if caller.elevenlabs_api_key:
        return api.session(caller.elevenlabs_api_key, "your ElevenLabs API key")
    server_key = services(ctx).settings.elevenlabs_api_key.get_secret_value()
    return api.session(server_key, "this server's ElevenLabs API key (ELEVENLABS_API_KEY)")


def as_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def pick(item: dict, *keys: str) -> dict:
    """Only the fields worth showing a model, skipping absent ones."""
    return {key: item[key] for key in keys if item.get(key) is not None}
