"""One JSON log line per HTTP request: method, path (never the query string), status, duration, tool."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("server.access")


class AccessLog:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        except BaseException:  # includes cancellation when the drain period runs out
            status = status or 500  # what uvicorn answers when the app fails before responding
            raise
        finally:
            state = scope.get("state") or {}
            principal = state.get("principal")
            logger.info(
                "request",
                extra={
                    "fields": {
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        "client": state.get("client_ip") or (scope["client"][0] if scope.get("client") else None),
                        "principal": principal.name if principal else None,
                        "rpc_method": state.get("rpc_method"),
                        "tool": state.get("tool"),
                    }
                },
            )
