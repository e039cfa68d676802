"""An API Gateway WebSocket API on loopback: a real WebSocket server calling the real Lambda handlers.

What it does, as API Gateway does (see docs/websocket.md): a missing `token` query parameter is refused with
401 before the authorizer runs; the REQUEST authorizer's Deny is 403; after Allow, the `$connect` integration
runs with the authorizer's context (a failure refuses the connection); each message goes to `$default` and the
integration's `body` is sent back (route response); messages over 128 KB close the connection (1009); closing
runs `$disconnect`; connections are closed with 1001 after `max_connection_seconds` (2 h in AWS) or
`idle_seconds` without messages (10 min). Handlers run in worker threads, as concurrent Lambda invocations.
"""

from __future__ import annotations

import asyncio
import base64
import http
import threading
import time
import uuid
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

Handler = Callable[[dict, object], dict]
API_ID = "emu1234567"
STAGE = "mcp"
ACCOUNT = "123456789012"
MAX_MESSAGE_BYTES = 128 * 1024
INTERNAL_ERROR = '{"message": "Internal server error", "connectionId":"%s", "requestId":"%s"}'


class WebSocketApiEmulator:
    def __init__(self, authorizer: Handler, relay: Handler, *, max_connection_seconds: float = 7200,
                 idle_seconds: float = 600):
        self.authorizer = authorizer
        self.relay = relay
        self.max_connection_seconds = max_connection_seconds
        self.idle_seconds = idle_seconds
        self.port = 0
        self.handler_seconds: list[float] = []  # wall time of each $default invocation
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/{STAGE}"

    # --- lifecycle: a thread with its own event loop ---------------------------------------------------------

    def __enter__(self) -> WebSocketApiEmulator:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the WebSocket API emulator did not start")
        return self

    def __exit__(self, *exc_info) -> None:
        self._loop.call_soon_threadsafe(self._server.close)
        self._thread.join(10)

    def _run(self, ready: threading.Event) -> None:
        async def main():
            self._loop = asyncio.get_running_loop()
            async with serve(self._session, "127.0.0.1", 0, process_request=self._connect,
                             max_size=MAX_MESSAGE_BYTES, ping_interval=None) as server:
                self._server = server
                self.port = server.sockets[0].getsockname()[1]
                ready.set()
                await server.wait_closed()

        asyncio.run(main())

    # --- $connect: token present? authorizer, then the $connect integration ----------------------------------

    async def _connect(self, connection: ServerConnection, request):
        query = dict(parse_qsl(urlsplit(request.path).query))
        connection_id = base64.b64encode(uuid.uuid4().bytes[:9]).decode()
        context = self._request_context(connection, connection_id, request.headers.get("User-Agent", ""))
        connection.api_context = context
        if not query.get("token"):
            return connection.respond(http.HTTPStatus.UNAUTHORIZED, "Unauthorized\n")
        headers = {name: value for name, value in request.headers.raw_items()}
        authorizer_event = {
            "type": "REQUEST", "methodArn": f"arn:aws:execute-api:us-east-1:{ACCOUNT}:{API_ID}/{STAGE}/$connect",
            "headers": headers, "queryStringParameters": query, "stageVariables": {}, "requestContext": context,
        }
        try:
            result = await asyncio.to_thread(self.authorizer, authorizer_event, None)
            allowed = result["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        except Exception:  # noqa: BLE001 - API Gateway turns an authorizer failure into 500
            return connection.respond(http.HTTPStatus.INTERNAL_SERVER_ERROR, "Internal server error\n")
        if not allowed:
            return connection.respond(http.HTTPStatus.FORBIDDEN, "Forbidden\n")
        context["authorizer"] = {**result.get("context", {}), "principalId": result["principalId"]}
        event = {"headers": headers, "queryStringParameters": query, "requestContext": context,
                 "isBase64Encoded": False}
        try:
            response = await asyncio.to_thread(self.relay, event, None)
        except Exception:  # noqa: BLE001
            return connection.respond(http.HTTPStatus.INTERNAL_SERVER_ERROR, "Internal server error\n")
        status = response.get("statusCode", 200)
        if not 200 <= status < 300:
            return connection.respond(status, "Connection refused by the $connect integration\n")
        return None

    # --- messages and $disconnect --------------------------------------------------------------------------

    async def _session(self, connection: ServerConnection) -> None:
        context = connection.api_context
        opened = time.monotonic()
        try:
            while True:
                remaining = self.max_connection_seconds - (time.monotonic() - opened)
                try:
                    async with asyncio.timeout(min(self.idle_seconds, max(remaining, 0))):
                        message = await connection.recv()
                except TimeoutError:
                    await connection.close(1001, "Going away")
                    break
                await self._message(connection, context, message)
        except ConnectionClosed:
            pass
        event = {"requestContext": {**context, "routeKey": "$disconnect", "eventType": "DISCONNECT"},
                 "isBase64Encoded": False}
        await asyncio.to_thread(self.relay, event, None)

    async def _message(self, connection: ServerConnection, context: dict, message) -> None:
        message_context = {**context, "routeKey": "$default", "eventType": "MESSAGE",
                           "messageId": uuid.uuid4().hex[:16], "requestTimeEpoch": int(time.time() * 1000)}
        event = {"requestContext": message_context, "body": message if isinstance(message, str) else
                 base64.b64encode(message).decode(), "isBase64Encoded": not isinstance(message, str)}
        started = time.perf_counter()
        try:
            response = await asyncio.to_thread(self.relay, event, None)
        except Exception:  # noqa: BLE001
            await connection.send(INTERNAL_ERROR % (context["connectionId"], message_context["messageId"]))
            return
        finally:
            self.handler_seconds.append(time.perf_counter() - started)
        if response and response.get("body"):
            await connection.send(response["body"])

    @staticmethod
    def _request_context(connection: ServerConnection, connection_id: str, user_agent: str) -> dict:
        return {
            "routeKey": "$connect", "eventType": "CONNECT", "connectionId": connection_id, "apiId": API_ID,
            "stage": STAGE, "domainName": f"{API_ID}.execute-api.us-east-1.amazonaws.com",
            "connectedAt": int(time.time() * 1000), "requestId": uuid.uuid4().hex,
            "identity": {"sourceIp": connection.remote_address[0], "userAgent": user_agent},
        }
