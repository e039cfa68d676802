"""Tools about voices: find them, inspect them, clone one, design one from a description."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal
from urllib.parse import quote

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ContentBlock, TextContent
from pydantic import Field

from server.tools.common import (
    READ_ONLY,
    SPENDS_CREDITS,
    ElevenLabsId,
    as_json,
    elevenlabs,
    pick,
    services,
)

MAX_CLONE_SAMPLES = 25
VOICE_FIELDS = ("voice_id", "name", "category", "description", "labels", "preview_url")


async def search_voices(
    ctx: Context,
    search: Annotated[str | None, Field(description="Words to look for in name, description, labels.")] = None,
    sort: Literal["name", "created_at_unix"] = "name",
    sort_direction: Literal["asc", "desc"] = "asc",
    page_size: Annotated[int, Field(ge=1, le=100)] = 30,
) -> str:
    """Search the voices in this ElevenLabs account (premade, cloned, designed). Free."""
    found = await elevenlabs(ctx).get_json(
        "/v2/voices", params={"search": search, "sort": sort, "sort_direction": sort_direction, "page_size": page_size}
    )
    voices = [pick(v, "voice_id", "name", "category") for v in found.get("voices", [])]
    return as_json({"voices": voices, "total_count": found.get("total_count"), "has_more": found.get("has_more")})


async def get_voice(ctx: Context, voice_id: ElevenLabsId) -> str:
    """Details of one voice: name, category, description, labels, settings. Free."""
    voice = await elevenlabs(ctx).get_json(f"/v1/voices/{quote(voice_id, safe='')}")
    return as_json(pick(voice, *VOICE_FIELDS, "settings"))


async def search_voice_library(
    ctx: Context,
    search: Annotated[str | None, Field(description="Words to look for.")] = None,
    page: Annotated[int, Field(ge=0, description="Page number, from 0.")] = 0,
    page_size: Annotated[int, Field(ge=1, le=100)] = 10,
) -> str:
    """Search ElevenLabs' shared voice library (voices made by the community). Free."""
    found = await elevenlabs(ctx).get_json(
        "/v1/shared-voices", params={"search": search, "page": page, "page_size": page_size}
    )
    fields = ("voice_id", "name", "category", "gender", "age", "accent", "language", "use_case", "description")
    voices = [pick(v, *fields, "preview_url") for v in found.get("voices", [])]
    return as_json({"voices": voices, "has_more": found.get("has_more")})


async def voice_clone(
    ctx: Context,
    name: Annotated[str, Field(min_length=1, max_length=100, description="Name of the new voice.")],
    sample_urls: Annotated[list[str] | None, Field(description="https URLs of voice recordings.")] = None,
    samples_base64: Annotated[list[str] | None, Field(description="Voice recordings as base64.")] = None,
    description: str | None = None,
) -> str:
    """Create an instant voice clone from one or more recordings (URLs and/or base64).

    Adds a voice to the account (uses a voice slot). COSTS ElevenLabs credits: only call it when the user asks for it.
    """
    sample_urls, samples_base64 = sample_urls or [], samples_base64 or []
    if not 1 <= len(sample_urls) + len(samples_base64) <= MAX_CLONE_SAMPLES:
        raise ToolError(f"Give 1 to {MAX_CLONE_SAMPLES} recordings in sample_urls and/or samples_base64.")
    with services(ctx).inputs.for_call(sample_urls, samples_base64) as inputs:  # one budget for all samples
        samples = [inputs.decode(text, field="samples_base64") for text in samples_base64]
        samples += [await inputs.fetch(url, field="sample_urls") for url in sample_urls]
        files = [("files", (f"sample{i}_{s.filename}", s.data, s.content_type)) for i, s in enumerate(samples)]
        created = await elevenlabs(ctx).post_multipart(
            "/v1/voices/add", data={"name": name, "description": description}, files=files
        )
    return f"Voice {name!r} cloned: voice_id {created.get('voice_id')}."


async def text_to_voice(
    ctx: Context,
    voice_description: Annotated[str, Field(min_length=20, max_length=1000, description="What the voice sounds like.")],
    text: Annotated[
        str | None, Field(min_length=100, max_length=1000, description="What the previews say; omit to auto-write it.")
    ] = None,
) -> list[ContentBlock]:
    """Design a voice from a description: returns three audio previews and their generated_voice_ids.

    Keep the one the user likes with create_voice_from_preview.
    COSTS ElevenLabs credits: only call it when the user asks for it.
    """
    designed = await elevenlabs(ctx).post_json(
        "/v1/text-to-voice/design",
        params={"output_format": "mp3_44100_128"},
        body={"voice_description": voice_description, "text": text, "auto_generate_text": text is None},
    )
    outputs = services(ctx).outputs
    blocks: list[ContentBlock] = []
    for preview in designed.get("previews", []):
        generated_id = preview.get("generated_voice_id")
        audio = _decode_preview(preview.get("audio_base_64", ""))
        mime = preview.get("media_type") or "audio/mpeg"
        blocks += await outputs.deliver(audio, mime, f"preview-{generated_id}", f"Preview {generated_id}")
    ids = ", ".join(str(p.get("generated_voice_id")) for p in designed.get("previews", []))
    intro = f"Generated voice ids: {ids}. Previews say: {designed.get('text', '')!r}"
    return [TextContent(type="text", text=intro), *blocks]


async def create_voice_from_preview(
    ctx: Context,
    generated_voice_id: ElevenLabsId,
    voice_name: Annotated[str, Field(min_length=1, max_length=100)],
    voice_description: Annotated[str, Field(min_length=20, max_length=1000)],
) -> str:
    """Save a voice designed with text_to_voice into the account's voices.

    Adds a voice to the account (uses a voice slot). COSTS ElevenLabs credits: only call it when the user asks for it.
    """
    voice = await elevenlabs(ctx).post_json(
        "/v1/text-to-voice",
        body={
            "generated_voice_id": generated_voice_id,
            "voice_name": voice_name,
            "voice_description": voice_description,
        },
    )
    return f"Voice {voice.get('name')!r} created: voice_id {voice.get('voice_id')}."


def _decode_preview(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ToolError("ElevenLabs returned a voice preview that is not valid base64.") from None


TOOLS = [
    (search_voices, READ_ONLY),
    (get_voice, READ_ONLY),
    (search_voice_library, READ_ONLY),
    (voice_clone, SPENDS_CREDITS),
    (text_to_voice, SPENDS_CREDITS),
    (create_voice_from_preview, SPENDS_CREDITS),
]
