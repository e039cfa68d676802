"""Generated audio back to the client: inline MCP audio content, or an S3 presigned link.

Audio up to MCP_MAX_INLINE_AUDIO_BYTES (all audio of one reply together) travels inline (base64 in the JSON-RPC
response). Larger audio goes to MCP_OUTPUT_BUCKET, and the client gets a short-lived
presigned GET link (see server/s3.py). With neither possible, the tool fails with a message
saying so.
"""

from __future__ import annotations

import base64
import time
import uuid

from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import AudioContent, ContentBlock, ResourceLink, TextContent

from server.call_budget import take_inline
from server.s3 import S3Error, S3Objects

_EXTENSIONS = {
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/ogg": "ogg",
    "audio/opus": "opus",
    "audio/basic": "ulaw",
    "audio/pcm": "pcm",
}


def mime_for_format(output_format: str) -> str:
    """The MIME type of an ElevenLabs output_format such as mp3_44100_128."""
    codec = output_format.split("_")[0]
    return {
        "mp3": "audio/mpeg",
        "wav": "audio/wav",
        "opus": "audio/ogg",
        "pcm": "audio/pcm",
        "ulaw": "audio/basic",
        "alaw": "audio/x-alaw-basic",
    }.get(codec, "application/octet-stream")


class AudioOutputs:
    def __init__(self, max_inline_bytes: int, bucket: str, url_expiry_seconds: int):
        self.max_inline_bytes = max_inline_bytes
        self.bucket = bucket
        self.url_expiry_seconds = url_expiry_seconds
        self._s3 = S3Objects(bucket)

    async def aclose(self) -> None:
        await self._s3.aclose()

    async def deliver(self, audio: bytes, mime_type: str, name: str, summary: str) -> list[ContentBlock]:
        """Content blocks carrying `audio`, preceded by a one-line `summary` for the model."""
        if take_inline(len(audio), self.max_inline_bytes):  # the limit holds for the whole reply
            encoded = base64.b64encode(audio).decode("ascii")
            return [
                TextContent(type="text", text=f"{summary} ({len(audio)} bytes, {mime_type}, inline)."),
                AudioContent(type="audio", data=encoded, mime_type=mime_type),
            ]
        if not self.bucket:
            raise ToolError(
                f"The audio is {len(audio)} bytes, above this server's inline limit of {self.max_inline_bytes} "
                "bytes (MCP_MAX_INLINE_AUDIO_BYTES, for all audio of one reply), and no MCP_OUTPUT_BUCKET is "
                "configured for larger files. "
                "Ask for shorter audio or a smaller output_format, or ask the operator to configure a bucket."
            )
        filename = f"{name}.{_EXTENSIONS.get(mime_type, 'bin')}"
        key = f"audio/{time.strftime('%Y/%m/%d')}/{uuid.uuid4().hex}/{filename}"
        try:
            url = await self._s3.put_and_presign(key, audio, mime_type, self.url_expiry_seconds)
        except S3Error as error:
            raise ToolError(f"Could not store the audio in S3 bucket {self.bucket!r} ({error}).") from None
        minutes = self.url_expiry_seconds // 60
        return [
            TextContent(
                type="text",
                text=f"{summary} ({len(audio)} bytes, {mime_type}). Download within {minutes} min: {url}",
            ),
            ResourceLink(type="resource_link", uri=url, name=filename, mime_type=mime_type, size=len(audio)),
        ]
