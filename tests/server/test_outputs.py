"""Audio too large to send inline: an S3 presigned link (moto on loopback), or a clear error without a bucket."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from tests.server.conftest import BUCKET, SMALL_INLINE_LIMIT
from tests.server.harness import audio_blocks, call_tool, texts


def test_large_audio_becomes_a_presigned_s3_link(s3_server, moto):
    result = call_tool(s3_server, "text_to_speech", {"text": "A sentence long enough to exceed the inline limit."})
    assert not result.is_error, texts(result)
    assert audio_blocks(result) == []
    [link] = [block for block in result.content if block.type == "resource_link"]
    assert link.mime_type == "audio/mpeg" and link.name == "speech.mp3"
    assert link.size > SMALL_INLINE_LIMIT
    url = str(link.uri)
    assert url.startswith(f"{moto.url}/{BUCKET}/audio/")
    assert url in texts(result) and "Download within 15 min" in texts(result)
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["900"] and "X-Amz-Signature" in query

    download = httpx.get(url)
    assert download.status_code == 200
    assert download.headers["content-type"] == "audio/mpeg"
    assert len(download.content) == link.size
    [stored] = moto.s3().list_objects_v2(Bucket=BUCKET, Prefix=urlsplit(url).path.split(f"/{BUCKET}/")[1])["Contents"]
    assert stored["Size"] == link.size


def test_each_voice_preview_gets_its_own_link(s3_server):
    result = call_tool(s3_server, "text_to_voice", {"voice_description": "A bright and cheerful young radio host"})
    links = [block for block in result.content if block.type == "resource_link"]
    assert len(links) == 3 and len({str(link.uri) for link in links}) == 3


def test_unsigned_download_is_refused(s3_server, moto):
    result = call_tool(s3_server, "text_to_sound_effects", {"text": "thunder"})
    [link] = [block for block in result.content if block.type == "resource_link"]
    unsigned = str(link.uri).split("?")[0]
    assert httpx.get(unsigned).status_code == 403


def test_too_large_without_bucket_is_a_clear_error(sse_server):
    result = call_tool(sse_server, "text_to_speech", {"text": "Long enough to pass the inline limit."})
    assert result.is_error
    message = texts(result)
    assert f"inline limit of {SMALL_INLINE_LIMIT} bytes (MCP_MAX_INLINE_AUDIO_BYTES)" in message
    assert "no MCP_OUTPUT_BUCKET" in message
