"""Music tools beyond compose_music: plan a composition, score videos, upload a song for inpainting."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ContentBlock
from pydantic import Field

from server.tools.audio import deliver_audio
from server.tools.common import (
    AUDIO_BASE64_HELP,
    AUDIO_URL_HELP,
    CREATES,
    FREE_GENERATION,
    SPENDS_CREDITS,
    as_json,
    elevenlabs,
    services,
)

MusicModel = Literal["music_v1", "music_v2"]
MAX_VIDEOS = 10


async def create_composition_plan(
    ctx: Context,
    prompt: Annotated[str, Field(min_length=1, description="What the music should be.")],
    music_length_ms: Annotated[int | None, Field(ge=10_000, le=300_000, description="10 s to 5 min; omit to "
                                                 "let the model choose.")] = None,
    source_composition_plan: Annotated[dict[str, Any] | None, Field(description="A plan to start from, in the "
                                                                    "shape of model_id.")] = None,
    model_id: MusicModel = "music_v2",
) -> str:
    """Plan a piece of music (sections or chunks with styles and durations) to review or edit before composing.

    Free (rate limited by plan tier); changes nothing.
    """
    plan = await elevenlabs(ctx).post_json("/v1/music/plan", body={
        "prompt": prompt, "music_length_ms": music_length_ms, "source_composition_plan": source_composition_plan,
        "model_id": model_id,
    })
    return as_json(plan)


async def video_to_music(
    ctx: Context,
    video_urls: Annotated[list[str], Field(max_length=MAX_VIDEOS, description="Videos as public https:// URLs, "
                                           "in order.")] = [],  # noqa: B006 (pydantic copies defaults)
    videos_base64: Annotated[list[str], Field(max_length=MAX_VIDEOS, description="Videos as base64 or data: "
                                              "URLs, after the URL ones.")] = [],  # noqa: B006
    description: Annotated[str | None, Field(description="Direction, e.g. 'build suspense, then resolve'.")] = None,
    tags: Annotated[list[str] | None, Field(max_length=10, description="Up to 10 style cues.")] = None,
    model_id: MusicModel = "music_v2",
) -> list[ContentBlock]:
    """Score one to ten videos (played one after the other) with generated background music; returns the audio.

    Each video counts against this server's input size limit.
    COSTS ElevenLabs credits: only call it when the user asks for it.
    """
    if not 1 <= len(video_urls) + len(videos_base64) <= MAX_VIDEOS:
        raise ToolError(f"Give 1 to {MAX_VIDEOS} videos in video_urls and videos_base64 together.")
    inputs = services(ctx).inputs
    with inputs.for_call(video_urls, videos_base64) as call:
        videos = [call.decode(text, field="videos_base64") for text in videos_base64]
        for url in video_urls:
            _check_total(videos, inputs.max_bytes)  # before each download: at most the limit plus one file in memory
            videos.append(await call.fetch(url, field="video_urls"))
        _check_total(videos, inputs.max_bytes)
        files = [("videos", (f"video{i}.mp4", v.data, v.content_type)) for i, v in enumerate(videos)]
        data: dict[str, Any] = {"description": description, "model_id": model_id}
        if tags:
            data["tags"] = tags
        audio, content_type = await elevenlabs(ctx).post_for_audio("/v1/music/video-to-music", data=data,
                                                                   files=files)
    return await deliver_audio(ctx, audio, content_type, "mp3_44100_128", "video-music", "Music for the video composed")


def _check_total(videos: list, max_bytes: int) -> None:
    if sum(len(video.data) for video in videos) > max_bytes:
        raise ToolError(f"The videos together exceed this server's input limit of {max_bytes} bytes "
                        "(MCP_MAX_INPUT_BYTES); send fewer or smaller ones.")


async def upload_music_for_inpainting(
    ctx: Context,
    audio_url: Annotated[str | None, Field(description=AUDIO_URL_HELP)] = None,
    audio_base64: Annotated[str | None, Field(description=AUDIO_BASE64_HELP)] = None,
    extract_composition_plan: Annotated[MusicModel | None, Field(description="Also extract a composition plan "
                                                                 "for this model; null to skip.")] = "music_v2",
) -> str:
    """Upload a song to ElevenLabs for music inpainting: returns a song_id to reference in composition plans.

    Adds the song to the account (enterprise plans with inpainting access only).
    Free of credits; only call it when the user asks for it.
    """
    with services(ctx).inputs.for_call([audio_url], [audio_base64]) as call:
        song = await call.load(audio_url, audio_base64)
        result = await elevenlabs(ctx).post_multipart(
            "/v1/music/upload", data={"extract_composition_plan": extract_composition_plan},
            files=[("file", song.as_upload())],
        )
    plan = result.get("composition_plan")
    return f"song_id: {result.get('song_id')}" + (f"\n\nComposition plan: {as_json(plan)}" if plan else "")


TOOLS = [
    (create_composition_plan, FREE_GENERATION),
    (video_to_music, SPENDS_CREDITS),
    (upload_music_for_inpainting, CREATES),
]
