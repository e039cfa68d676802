"""A small static file server on 127.0.0.1 that hosts input audio for the URL-input tests."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.fakes.audio import tone

TONE_MP3 = tone(1.0, "mp3_44100_128")
BIG_FILE_BYTES = 300_000  # above the MCP_MAX_INPUT_BYTES the tests configure
MID_FILE_BYTES = 150_000  # under it, but two or three of them are not
SLOW_SECONDS = 2.0  # /slow.mp3 trickles its bytes over this long


class AudioHost:
    """Serves /tone.mp3, /big.mp3, /mid.mp3, /slow.mp3 (SLOW_SECONDS to send), /redirect (-> /tone.mp3) and 404
    for anything else; a query string is ignored (/mid.mp3?1 and /mid.mp3?2 are the same file)."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> AudioHost:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.partition("?")[0]
        if path == "/slow.mp3":
            self._trickle(TONE_MP3[:1000], SLOW_SECONDS)
            return
        if path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/tone.mp3")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        files = {"/tone.mp3": TONE_MP3, "/big.mp3": b"\xff" * BIG_FILE_BYTES, "/mid.mp3": b"\xff" * MID_FILE_BYTES}
        body = files.get(path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "audio/mpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _trickle(self, body: bytes, seconds: float) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "audio/mpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        steps = 20
        try:
            for i in range(steps):
                self.wfile.write(body[i * len(body) // steps:(i + 1) * len(body) // steps])
                self.wfile.flush()
                time.sleep(seconds / steps)
        except OSError:
            pass  # the server gave up on us: what the tests expect

    def log_message(self, *args) -> None:
        pass
