"""Input audio: base64 checks, and URL fetching that refuses non-https and private addresses (SSRF)."""

from __future__ import annotations

import pytest

from tests.server.conftest import MAX_INPUT_BYTES
from tests.server.harness import call_tool, free_port, texts


def transcribe(server, **audio):
    return call_tool(server, "speech_to_text", audio)


@pytest.mark.parametrize(
    "audio, message",
    [
        ({"audio_base64": "not base64 at all!"}, "audio_base64 is not valid base64"),
        ({"audio_base64": ""}, "audio_base64 is empty"),
        ({}, "Give exactly one of audio_url"),
        ({"audio_base64": "AAAA", "audio_url": "https://example.com/a.mp3"}, "Give exactly one of audio_url"),
    ],
)
def test_bad_base64_or_missing_input(main_server, fake, audio, message):
    before = len(fake.requests)
    result = transcribe(main_server, **audio)
    assert result.is_error and message in texts(result)
    assert len(fake.requests) == before


def test_data_url_is_accepted(main_server):
    result = transcribe(main_server, audio_base64="data:audio/mpeg;base64,//uQxAAAAAAA")
    assert not result.is_error, texts(result)


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://example.com/a.mp3", "must be an https:// URL"),
        ("ftp://example.com/a.mp3", "must be an https:// URL"),
        ("file:///etc/passwd", "must be an https:// URL"),
        ("/etc/passwd", "must be an https:// URL"),
        ("https://127.0.0.1/a.mp3", "private, loopback or link-local"),
        ("https://localhost:8443/a.mp3", "private, loopback or link-local"),
        ("https://10.1.2.3/a.mp3", "private, loopback or link-local"),
        ("https://169.254.169.254/latest/meta-data/", "private, loopback or link-local"),
        ("https://[::1]/a.mp3", "private, loopback or link-local"),
        ("https://[::ffff:192.168.0.1]/a.mp3", "private, loopback or link-local"),
        ("https://100.64.0.1/a.mp3", "private, loopback or link-local"),
    ],
)
def test_production_rules_refuse_insecure_and_private_urls(s3_server, url, message):
    result = transcribe(s3_server, audio_url=url)
    assert result.is_error and message in texts(result)


def test_oversize_input_url_is_refused(main_server, audio_host):
    result = transcribe(main_server, audio_url=f"{audio_host.url}/big.mp3")
    assert result.is_error and f"limit of {MAX_INPUT_BYTES} bytes" in texts(result)


def test_oversize_base64_is_refused(main_server):
    oversized = "AAAA" * (MAX_INPUT_BYTES // 3 + 2)
    result = transcribe(main_server, audio_base64=oversized)
    assert result.is_error and "MCP_MAX_INPUT_BYTES" in texts(result)


def test_missing_file_and_closed_port(main_server, audio_host):
    missing = transcribe(main_server, audio_url=f"{audio_host.url}/nothing.mp3")
    assert missing.is_error and "answered HTTP 404" in texts(missing)
    closed = transcribe(main_server, audio_url=f"http://127.0.0.1:{free_port()}/a.mp3")
    assert closed.is_error and "Fetching audio_url failed: ConnectError" in texts(closed)
