"""Limits on a request's head (request line and headers), enforced while it is read, before any authentication.

uvicorn's httptools protocol buffers a request head of any size for as long as the client takes: one 64 MB header
took the server from 104 to 232 MB, ten at once to 691 MB. This protocol (uvicorn's, with three checks) refuses:

- a head over MAX_HEAD_BYTES: 431, after reading at most that much. 64 KiB is the ALB's "whole request header"
  quota (request line 16K, single header 16K); API Gateway's HTTP API stops at 10240 bytes of request line and
  headers together, and the WebSocket relay sends a few hundred bytes, so no front door forwards a larger head;
- more than MAX_HEADERS header fields: 431;
- a head still incomplete MCP_HEADER_TIMEOUT_SECONDS after the connection opened or the request began: 408 and
  the connection closed (slow headers). Idle keep-alive connections are uvicorn's own timeout_keep_alive.
"""

from __future__ import annotations

import asyncio
import logging

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 100

logger = logging.getLogger("server.http")


class HeadTooLarge(Exception):
    """Raised inside a parser callback to stop parsing; uvicorn then calls send_400_response."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    header_timeout_seconds = 10.0  # set from the settings by server.runner (uvicorn builds one protocol per connection)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._head_open = True
        self._head_bytes = 0
        self._header_count = 0
        self._refusal: tuple[int, str] | None = None
        self._head_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            return
        if self._head_open:
            room = MAX_HEAD_BYTES - self._head_bytes
            if len(data) > room:
                self._head_bytes = MAX_HEAD_BYTES
                super().data_received(data[:room])
                if self._head_open and self._refusal is None:
                    self._refuse(431, f"Request headers too large: the limit is {MAX_HEAD_BYTES} bytes")
                    return
                data = data[room:]
            else:
                self._head_bytes += len(data)
        if data and self._refusal is None:
            super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_open = True
        self._head_bytes = 0
        self._header_count = 0
        if self._head_timer is None:
            self._arm_head_timer()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > MAX_HEADERS:
            self._refusal = (431, f"Too many request headers: the limit is {MAX_HEADERS}")
            raise HeadTooLarge
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._head_open = False
        self._disarm_head_timer()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if self._refusal is not None:  # our own stop inside the parser, not a malformed request
            status, message = self._refusal
            self._refusal = None
            self._refuse(status, message)
            return
        super().send_400_response(msg)

    def _refuse(self, status: int, message: str) -> None:
        logger.warning("request head refused", extra={"fields": {"status": status, "reason": message,
                                                                 "client": self.client[0] if self.client else None}})
        self._refusal = (status, message)
        self._disarm_head_timer()
        reason = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}[status]
        body = message.encode()
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (status, reason, len(body), body)
        )
        self.transport.close()

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.header_timeout_seconds, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._head_open and self._refusal is None and not self.transport.is_closing():
            self._refuse(408, f"Request headers not received within {self.header_timeout_seconds:g} s")
