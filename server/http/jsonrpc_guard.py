"""Checks on the MCP endpoint before the SDK sees a request.

- Only POST: this server is stateless, so there is no GET stream to open and no session
  to DELETE (405, as the streamable HTTP spec allows).
- Body size: over the limit is refused with 413 from Content-Length, or while reading.
- JSON-RPC shape: unparseable JSON (nested deeper than the SDK's parser allows included) gets -32700 and a
  body that is not one JSON-RPC 2.0 message gets -32600, both with HTTP 400. (The SDK answers the latter with
  -32602 on its 2025 path and -32600 on its 2026 path; this makes both follow JSON-RPC.)
- Memory: a large body (base64 audio) costs the SDK about six times its size while it is handled (the text, the
  parsed message, validated copies: 10 bodies of 4 MiB at once peaked at 330 MiB). A body over LARGE_BODY_BYTES
  takes that from the server's input memory (server.call_budget) for as long as the request runs; when there is
  no room, 503 with Retry-After and a JSON-RPC error saying the server is busy, rather than the task's memory.
- Notes the JSON-RPC method and tool name in the request state for the access log.
- The era from the message when the headers are missing: the SDK takes a 2026-07-28 request by its
  MCP-Protocol-Version / Mcp-Method (/ Mcp-Name) headers, which a path carrying bare JSON-RPC (the WebSocket
  relay, a stdio bridge) may not send. A request without MCP-Protocol-Version whose params._meta names a protocol
  version gets those headers derived from its own body, so the server answers it in its era whatever carried it.
  Headers a client did send are never touched (the SDK still checks they match the body).
"""

from __future__ import annotations

from mcp.shared.inbound import (
    MCP_METHOD_HEADER,
    MCP_NAME_HEADER,
    MCP_PROTOCOL_VERSION_HEADER,
    NAME_BEARING_METHODS,
    encode_header_value,
)
from mcp_types import PROTOCOL_VERSION_META_KEY
from pydantic_core import from_json
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.call_budget import InputMemory, ServerBusy
from server.http.responses import jsonrpc_error, send_json

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
SERVER_BUSY = -32000  # JSON-RPC's range for implementation-defined server errors
RETRY_AFTER_SECONDS = b"5"
LARGE_BODY_BYTES = 256 * 1024  # smaller bodies (every call but base64 audio) are not counted
BODY_COPIES = 6  # what handling a body costs, in multiples of its size (measured, see the docstring)
MAX_LOGGED_NAME = 100


class BodyTooLarge(Exception):
    pass


class JsonRpcGuard:
    def __init__(self, app: ASGIApp, *, path: str, max_body_bytes: int, memory: InputMemory):
        self.app = app
        self.path = path
        self.max_body_bytes = max_body_bytes
        self.memory = memory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            await send_json(
                send,
                405,
                jsonrpc_error(INVALID_REQUEST, "Method Not Allowed: this stateless server only accepts POST"),
                headers=[(b"allow", b"POST")],
            )
            return
        try:
            body = await self._read_body(scope, receive)
        except BodyTooLarge:
            message = f"Request body too large: the limit is {self.max_body_bytes} bytes"
            await send_json(send, 413, jsonrpc_error(INVALID_REQUEST, message))
            return

        try:
            message = from_json(body)  # the SDK's own parser: the same depth limit (~200), 4x faster than json
        except ValueError as exc:  # invalid JSON or UTF-8, or nested too deeply (jiter says where)
            await send_json(send, 400, jsonrpc_error(PARSE_ERROR, f"Parse error: the body is not valid JSON ({exc})"))
            return
        problem = jsonrpc_problem(message)
        if problem:
            await send_json(send, 400, jsonrpc_error(INVALID_REQUEST, f"Invalid Request: {problem}"))
            return
        _note_call(scope, message)
        _derive_era_headers(scope, message)
        cost = len(body) * BODY_COPIES if len(body) > LARGE_BODY_BYTES else 0
        try:
            self.memory.take(cost)
        except ServerBusy as busy:
            await send_json(send, 503, {"jsonrpc": "2.0", "id": message.get("id"),
                                        "error": {"code": SERVER_BUSY, "message": str(busy)}},
                            headers=[(b"retry-after", RETRY_AFTER_SECONDS)])
            return
        try:
            await self.app(scope, _replay(body, receive), send)
        finally:
            self.memory.give_back(cost)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body_bytes:
                raise BodyTooLarge
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # client went away; the SDK will see an empty body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def jsonrpc_problem(message: object) -> str | None:
    """Why `message` is not a single JSON-RPC 2.0 request, notification or response; None if it is."""
    if not isinstance(message, dict):
        return "the body must be one JSON-RPC 2.0 object (batches are not part of MCP)"
    if message.get("jsonrpc") != "2.0":
        return 'the "jsonrpc" member must be "2.0"'
    if "id" in message and (isinstance(message["id"], bool) or not isinstance(message["id"], str | int)):
        return 'the "id" member must be a string or an integer'
    if "method" in message:
        if not isinstance(message["method"], str):
            return 'the "method" member must be a string'
        if "params" in message and not isinstance(message["params"], dict):
            return 'the "params" member must be an object'
        return None
    if "id" in message and ("result" in message or "error" in message):
        return None  # a client's response to a server request
    return 'a "method" member is required'


def _note_call(scope: Scope, message: dict) -> None:
    state = scope.setdefault("state", {})
    state["rpc_method"] = message.get("method", "response")[:MAX_LOGGED_NAME]
    params = message.get("params")
    if message.get("method") == "tools/call" and isinstance(params, dict) and isinstance(params.get("name"), str):
        state["tool"] = params["name"][:MAX_LOGGED_NAME]


def _derive_era_headers(scope: Scope, message: dict) -> None:
    """Add the routing headers of a modern request that came without them (see the module's docstring)."""
    if any(name == MCP_PROTOCOL_VERSION_HEADER.encode() for name, _ in scope["headers"]):
        return
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    version = meta.get(PROTOCOL_VERSION_META_KEY) if isinstance(meta, dict) else None
    method = message.get("method")
    if not isinstance(version, str) or not isinstance(method, str) or not version.isprintable():
        return
    derived = [(MCP_PROTOCOL_VERSION_HEADER, version), (MCP_METHOD_HEADER, encode_header_value(method))]
    name_key = NAME_BEARING_METHODS.get(method)
    if name_key is not None and isinstance(params.get(name_key), str):
        derived.append((MCP_NAME_HEADER, encode_header_value(params[name_key])))
    replaced = (MCP_METHOD_HEADER.encode(), MCP_NAME_HEADER.encode())
    scope["headers"] = [*(h for h in scope["headers"] if h[0] not in replaced),
                        *((name.encode(), value.encode("latin-1", "replace")) for name, value in derived)]


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive channel that yields the already-read body once, then defers to the real one."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
