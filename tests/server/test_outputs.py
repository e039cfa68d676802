"""Audio too large to send inline: an S3 presigned link (moto on loopback, checking signatures),
or a clear error without a bucket."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from compiler.topologies.websocket import MAX_INLINE_AUDIO_BYTES as WEBSOCKET_INLINE_BYTES
from tests.server.conftest import BUCKET, SMALL_INLINE_LIMIT, _running, _s3_settings
from tests.server.harness import audio_blocks, call_tool, texts
from tests.server.sigv4 import presigned_signature_is_valid
from tests.server.test_tools import is_mp3


WEBSOCKET_MESSAGE_BYTES = 128 * 1024  # API Gateway WebSocket API's message quota


def resource_links(result) -> list:
    return [block for block in result.content if block.type == "resource_link"]


def stored_object(moto, url: str) -> dict:
    key = urlsplit(url).path.split(f"/{BUCKET}/", 1)[1]
    return moto.s3().get_object(Bucket=BUCKET, Key=key)


def test_large_audio_becomes_a_presigned_s3_link(s3_server, moto):
    result = call_tool(s3_server, "text_to_speech", {"text": "A sentence long enough to exceed the inline limit."})
    assert not result.is_error, texts(result)
    assert audio_blocks(result) == []
    [link] = resource_links(result)
    assert link.mime_type == "audio/mpeg" and link.name == "speech.mp3"
    assert link.size > SMALL_INLINE_LIMIT
    url = str(link.uri)
    assert url.startswith(f"{moto.url}/{BUCKET}/audio/")
    assert url in texts(result) and "Download within 15 min" in texts(result)

    # The PUT passed moto's signature check; the object is there, as sent.
    stored = stored_object(moto, url)
    assert stored["ContentType"] == "audio/mpeg"
    assert stored["ContentLength"] == link.size and is_mp3(stored["Body"].read())

    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["900"] and query["X-Amz-SignedHeaders"] == ["host"]
    assert query["X-Amz-Credential"][0].startswith(f"{moto.access_key['id']}/")
    assert presigned_signature_is_valid(url, moto.access_key["secret"])
    assert not presigned_signature_is_valid(url, "some-other-secret")


def test_each_voice_preview_gets_its_own_link(s3_server):
    result = call_tool(s3_server, "text_to_voice", {"voice_description": "A bright and cheerful young radio host"})
    links = resource_links(result)
    assert len(links) == 3 and len({str(link.uri) for link in links}) == 3


def test_wrong_aws_secret_is_a_clear_error(s3_server_with_wrong_secret):
    result = call_tool(s3_server_with_wrong_secret, "text_to_sound_effects", {"text": "thunder"})
    assert result.is_error
    assert f"Could not store the audio in S3 bucket '{BUCKET}' (SignatureDoesNotMatch)" in texts(result)


def test_too_large_without_bucket_is_a_clear_error(sse_server):
    result = call_tool(sse_server, "text_to_speech", {"text": "Long enough to pass the inline limit."})
    assert result.is_error
    message = texts(result)
    assert f"limit of {SMALL_INLINE_LIMIT} bytes (MCP_MAX_INLINE_AUDIO_BYTES, for all audio of one reply)" in message
    assert "no MCP_OUTPUT_BUCKET" in message


@pytest.fixture(scope="module")
def websocket_like_server(fake, moto, log_dir):
    """The websocket topology's output settings: a bucket and the inline limit the compiler sets there."""
    yield from _running(log_dir, {**_s3_settings(fake, moto.environment()),
                                  "MCP_MAX_INLINE_AUDIO_BYTES": str(WEBSOCKET_INLINE_BYTES)})


@pytest.mark.parametrize("mode", ["legacy", "auto"], ids=["2025", "2026"])
def test_a_reply_with_several_previews_fits_one_websocket_message(websocket_like_server, mode):
    """Three previews, each under the inline limit, made a reply over API Gateway's 128 KB WebSocket message (the
    client saw a JSON-RPC error): the limit holds for the reply, and what does not fit becomes a link."""
    result = call_tool(websocket_like_server, "text_to_voice",
                       {"voice_description": "A bright and cheerful young radio host"}, mode=mode)
    assert not result.is_error, texts(result)
    inline = [base64.b64decode(block.data) for block in audio_blocks(result)]
    links = resource_links(result)
    assert inline and links and len(inline) + len(links) == 3
    assert sum(map(len, inline)) <= WEBSOCKET_INLINE_BYTES
    reply = json.dumps({"jsonrpc": "2.0", "id": 1, "result": result.model_dump(by_alias=True, mode="json")})
    assert len(reply.encode()) < WEBSOCKET_MESSAGE_BYTES
