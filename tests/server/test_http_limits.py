"""Request heads are limited while they are read, before authentication (server.http.head_limits): size, count
and time. Raw sockets on loopback; a request within the limits is served in both protocol eras."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import anyio
import pytest

from server.http.head_limits import MAX_HEAD_BYTES, MAX_HEADERS
from tests.server.conftest import _running, _upstream
from tests.server.harness import BEARER, mcp_client, texts

HEADER_TIMEOUT_SECONDS = 2
ERAS = pytest.mark.parametrize("mode", ["legacy", "auto"], ids=["2025", "2026"])


@pytest.fixture(scope="module")
def limits_server(fake, log_dir):
    yield from _running(log_dir, {**_upstream(fake), "MCP_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT_SECONDS)})


def rss_bytes(server) -> int:
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def connect(server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def answer(sock: socket.socket) -> bytes:
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except (ConnectionResetError, TimeoutError):
        pass
    return b"".join(chunks)


def head(extra: bytes) -> bytes:
    return b"POST /mcp HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n" + extra


def send_until_refused(sock: socket.socket, data: bytes, total: int) -> int:
    """Send `data` repeatedly up to `total` bytes; how many bytes went out before the server closed."""
    sent = 0
    try:
        while sent < total:
            sock.sendall(data)
            sent += len(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sent


def test_a_64_mb_header_is_refused_after_64_kib_without_growing_the_server(limits_server):
    before = rss_bytes(limits_server)
    with connect(limits_server) as sock:
        sock.sendall(head(b"x-junk: "))
        sent = send_until_refused(sock, b"a" * 65536, 64 * 1024 * 1024)
        reply = answer(sock)
    assert reply.startswith(b"HTTP/1.1 431 ") and str(MAX_HEAD_BYTES).encode() in reply
    assert sent < 16 * 1024 * 1024  # the server closed long before the 64 MB were out (socket buffers hold some)
    assert rss_bytes(limits_server) - before < 8 * 1024 * 1024


def test_ten_large_heads_at_once_leave_memory_flat(limits_server):
    before = rss_bytes(limits_server)
    socks = [connect(limits_server) for _ in range(10)]
    try:
        for sock in socks:
            sock.sendall(head(b"x-junk: " + b"a" * (MAX_HEAD_BYTES - 200)))  # just under: held, waiting
        for sock in socks:
            send_until_refused(sock, b"a" * 65536, 4 * 1024 * 1024)
        replies = [answer(sock) for sock in socks]
    finally:
        for sock in socks:
            sock.close()
    assert all(reply.startswith(b"HTTP/1.1 431 ") for reply in replies)
    assert rss_bytes(limits_server) - before < 16 * 1024 * 1024


@pytest.mark.parametrize("count", [MAX_HEADERS + 1, 5000])
def test_too_many_headers_is_431(limits_server, count):
    fields = b"".join(b"x-h%d: 1\r\n" % i for i in range(count))
    with connect(limits_server) as sock:
        sock.sendall(head(fields + b"content-length: 2\r\n\r\n{}"))
        reply = answer(sock)
    assert reply.startswith(b"HTTP/1.1 431 ") and b"Too many request headers" in reply


def test_slow_headers_are_cut_at_the_header_timeout(limits_server):
    started = time.monotonic()
    with connect(limits_server) as sock:
        sock.sendall(b"POST /mcp HTTP/1.1\r\n")
        try:
            for _ in range(int(HEADER_TIMEOUT_SECONDS * 4)):
                sock.sendall(b"x-slow: 1\r\n")  # a header every half second, never the end of the head
                time.sleep(0.5)
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = answer(sock)
    assert reply.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - started < HEADER_TIMEOUT_SECONDS + 1.5


def test_a_silent_connection_is_closed_at_the_header_timeout(limits_server):
    started = time.monotonic()
    with connect(limits_server) as sock:
        reply = answer(sock)
    assert reply.startswith(b"HTTP/1.1 408 ") and time.monotonic() - started < HEADER_TIMEOUT_SECONDS + 1.5


@ERAS
def test_heads_within_the_limits_are_served(limits_server, mode):
    """Close to every limit at once: 60 KiB of headers, 90 fields, sent at once (a front door's forwarding)."""
    padding = {f"x-pad-{i}": "p" * 600 for i in range(90 - len(BEARER) - 8)}

    async def call():
        async with mcp_client(limits_server.mcp_url, {**BEARER, **padding}, mode) as client:
            return await client.call_tool("check_subscription", {})

    result = anyio.run(call)
    assert not result.is_error and "creator" in texts(result)
