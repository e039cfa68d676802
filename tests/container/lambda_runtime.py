"""A local Lambda Runtime API (the HTTP interface Lambda offers a function's runtime): hands out queued events on
GET .../invocation/next and records what the runtime posts back. Enough for awslambdaric to run one handler."""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"
NEXT_WAIT_SECONDS = 300  # an idle runtime waits in GET next, as under Lambda


@dataclass
class Result:
    request_id: str
    kind: str  # "response" or "error"
    body: dict


@dataclass
class RuntimeApi:
    events: queue.Queue = field(default_factory=queue.Queue)
    results: queue.Queue = field(default_factory=queue.Queue)
    init_errors: list = field(default_factory=list)

    def __post_init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        """What AWS_LAMBDA_RUNTIME_API holds: host:port, no scheme."""
        return f"127.0.0.1:{self.server.server_address[1]}"

    def invoke(self, event: dict, timeout: float = 120) -> Result:
        request_id = str(uuid.uuid4())
        self.events.put((request_id, event))
        result = self.results.get(timeout=timeout)
        assert result.request_id == request_id
        return result

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler_class(api: RuntimeApi):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # the runtime client keeps its connection open

        def do_GET(self):  # noqa: N802 - http.server's naming
            if self.path != f"{PREFIX}/invocation/next":
                return self._reply(404, {"errorMessage": "not found"})
            try:
                request_id, event = api.events.get(timeout=NEXT_WAIT_SECONDS)
            except queue.Empty:
                return self._reply(500, {"errorMessage": "no event"})
            self._reply(200, event, {
                "Lambda-Runtime-Aws-Request-Id": request_id,
                "Lambda-Runtime-Deadline-Ms": str(int((time.time() + 15) * 1000)),
                "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:auth-api",
                "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
            })

        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parsed = json.loads(body) if body else None
            parts = self.path[len(PREFIX):].strip("/").split("/")
            if parts[:2] == ["init", "error"]:
                api.init_errors.append(parsed)
            elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                api.results.put(Result(parts[1], parts[2], parsed))
            else:
                return self._reply(404, {"errorMessage": "not found"})
            self._reply(202, {"status": "OK"})

        def _reply(self, status: int, payload, headers: dict | None = None):
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return Handler
