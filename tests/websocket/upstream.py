"""A stand-in task for the relay's unit tests: a real HTTP server on a loopback address that records each
request and answers as told (status, body, headers, delay, and a body that promises more than it sends)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    status: int = 200
    body: bytes = b'{"jsonrpc":"2.0","id":1,"result":{}}'
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    unsent: int = 0  # bytes promised in Content-Length beyond the body, never sent: the reply stalls after the body


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Upstream:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.answer = Answer()
        self.received: list[Received] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                upstream.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                answer = upstream.answer
                time.sleep(answer.delay)
                self.send_response(answer.status)
                for name, value in {"Content-Type": "application/json", **answer.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body) + answer.unsent))
                self.end_headers()
                self.wfile.write(answer.body)
                if answer.unsent:
                    self.wfile.flush()
                    time.sleep(10)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.host, self.port = self.server.server_address[:2]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Upstream:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()
