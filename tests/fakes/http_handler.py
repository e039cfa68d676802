"""HTTP/1.1 plumbing: a threaded keep-alive server whose handler hands a Request to the fake.

http.server rather than an ASGI stack because a fault must be able to reset the TCP connection
(SO_LINGER 0), and a thread per connection keeps delays and 50 concurrent clients simple.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from .errors import ApiError
from .messages import Request, Response

# Returns the response to send, or None to reset the connection.
RequestHandler = Callable[[Request], "Response | None"]
_CHUNK_SIZE = 16 * 1024


class FakeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # listen backlog: bursts of concurrent clients must not wait for SYN retries

    def __init__(self, port: int, handle: RequestHandler):
        self.handle = handle
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def process_request(self, request, client_address) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        """A client that gave up (timeout, closed socket) is routine here, not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Wake threads blocked on idle keep-alive connections so they end with the server."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "fake-elevenlabs"
    sys_version = ""
    server: FakeHTTPServer

    def do_request(self) -> None:
        try:
            request = self._read_request()
            response = self.server.handle(request)
        except ApiError as error:
            response = Response.json(error.body(), status=error.status)
        except Exception as error:  # a bug in the fake: answer 500 and show it, keep serving
            traceback.print_exc(file=sys.stderr)
            response = Response.json(ApiError(500, "fake_error", f"fake ElevenLabs bug: {error!r}").body(), 500)
        if response is None:
            self._reset_connection()
        else:
            self._send(response)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_request

    def log_message(self, format: str, *args) -> None:
        """Silent: request lines would only add noise to test output."""

    def _read_request(self) -> Request:
        url = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        return Request(self.command, url.path, parse_qs(url.query), headers, self._read_body(headers))

    def _read_body(self, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_chunked_body()
        length = headers.get("content-length", "0")
        if not length.isdigit():
            self.close_connection = True
            raise ApiError(400, "invalid_request", "Content-Length must be a non-negative integer.")
        return self.rfile.read(int(length))

    def _read_chunked_body(self) -> bytes:
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF after each chunk

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("request-id", uuid.uuid4().hex)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if not response.chunked:
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for start in range(0, len(response.body), _CHUNK_SIZE):
            chunk = response.body[start : start + _CHUNK_SIZE]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")

    def _reset_connection(self) -> None:
        """Close with SO_LINGER 0: the kernel sends RST, the client sees 'connection reset by peer'."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
