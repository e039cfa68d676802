"""Run the app under uvicorn with a graceful drain on SIGTERM.

On SIGTERM (ECS stopping a task, e.g. at the end of the schedule) uvicorn stops
accepting connections, lets in-flight requests finish for up to MCP_DRAIN_SECONDS,
then shuts down. Unlike stock uvicorn, the signal is not re-raised afterwards, so a
clean drain exits with status 0.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from server.http.head_limits import LimitedHttpToolsProtocol

logger = logging.getLogger("server")


class DrainingServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, sig: int, frame) -> None:
        if not self.should_exit:
            logger.info("signal received, draining", extra={"fields": {"signal": signal.Signals(sig).name}})
        self.handle_exit(sig, frame)


def serve(app: ASGIApp, host: str, port: int, drain_seconds: float, header_timeout_seconds: float) -> None:
    protocol = type("HttpProtocol", (LimitedHttpToolsProtocol,), {"header_timeout_seconds": header_timeout_seconds})
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol,  # uvicorn's httptools protocol with limits on request heads (server.http.head_limits)
        log_config=None,  # keep our JSON logging
        access_log=False,  # server.http.access_log writes one line per request instead
        proxy_headers=False,  # X-Forwarded-For is judged by the Gate, against MCP_TRUSTED_PROXY_CIDRS
        server_header=False,
        timeout_graceful_shutdown=drain_seconds,
        lifespan="on",
    )
    DrainingServer(config).run()
