"""Minimal ASGI helpers shared by the middlewares (no framework objects on the hot path)."""

from __future__ import annotations

import json

from starlette.types import Scope, Send


def header_map(scope: Scope) -> dict[bytes, bytes]:
    """Request headers by lower-case name; repeated headers are joined with commas."""
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        headers[name] = headers[name] + b"," + value if name in headers else value
    return headers


async def send_json(send: Send, status: int, body: object, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def jsonrpc_error(code: int, message: str) -> dict:
    """A JSON-RPC error object for a request whose id could not be read."""
    return {"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}
