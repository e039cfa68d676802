"""stdio <-> WebSocket bridge: lets stdio MCP clients (Claude Code, Cursor, Claude Desktop) use a `websocket`
deployment, since no MCP client speaks WebSocket.

    MCP_BRIDGE_TOKEN=... python -m server.bridge wss://abc123.execute-api.us-east-1.amazonaws.com/mcp
    python -m server.bridge 'wss://abc123.execute-api.us-east-1.amazonaws.com/mcp?key=mcpt_...'

The second form takes the URL `python -m compiler tokens issue` prints (auth.mode tokens) as it is.

Each line on stdin is one JSON-RPC message, sent as one WebSocket message (in frames of at most 32 KB, API
Gateway's frame limit); each message received is written to stdout as one line. API Gateway closes idle
connections after 10 minutes and every connection after 2 hours: the bridge then reconnects when the next
message is sent. A request still waiting when its connection closes gets a JSON-RPC error (it is not resent:
a tool call may cost credits). Diagnostics go to stderr, never the token.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.protocol import State
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI, WebSocketException

TOKEN_ENV = "MCP_BRIDGE_TOKEN"
TOKEN_PARAMS = ("key", "token")  # a token in the URL: ?key= as `tokens issue` prints it, ?token= as the API takes it
MAX_MESSAGE_BYTES = 128 * 1024  # API Gateway's message limit
FRAME_CHARS = 8 * 1024  # at most 4 bytes per character in UTF-8: frames stay within 32 KB
CONNECT_ATTEMPTS = 3
BRIDGE_ERROR = -32000


class Bridge:
    def __init__(self, url: str, token: str, out=None):
        self.url = with_token(url, token)
        self.display_url = url
        self.out = out or sys.stdout.buffer
        self.connection: ClientConnection | None = None
        self.receiver: asyncio.Task | None = None
        self.pending: set = set()  # ids of requests sent and not answered yet
        self.closing = False

    async def send(self, line: str) -> None:
        message = parse(line)
        if message is None:
            self.reply_error(None, -32700, "Parse error: each line must be one JSON-RPC object")
            return
        request_id = message.get("id") if "method" in message else None
        if len(line.encode()) > MAX_MESSAGE_BYTES:
            self.reply_error(request_id, BRIDGE_ERROR, "Message over 128 KB, the WebSocket API's limit")
            return
        try:
            connection = await self.connected()
            if request_id is not None:
                self.pending.add(request_id)
            await connection.send(chunks(line))
        except (OSError, WebSocketException, asyncio.TimeoutError) as problem:
            self.pending.discard(request_id)
            report(f"cannot reach {self.display_url}: {describe(problem)}")
            if request_id is not None:
                self.reply_error(request_id, BRIDGE_ERROR, f"Bridge cannot reach the server: {describe(problem)}")

    async def connected(self) -> ClientConnection:
        if self.connection is not None and self.connection.state is not State.OPEN:
            await self.receiver  # closed, maybe not yet noticed: let it fail its waiting requests first
        if self.connection is not None:
            return self.connection
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            try:
                self.connection = await connect(self.url, max_size=None, ping_interval=None, open_timeout=15)
                break
            except InvalidStatus:
                raise  # 401/403: retrying will not change the token or the source address
            except (OSError, WebSocketException, asyncio.TimeoutError) as problem:
                if attempt == CONNECT_ATTEMPTS:
                    raise
                report(f"connecting failed ({describe(problem)}); retrying")
                await asyncio.sleep(attempt)
        report(f"connected to {self.display_url}")
        self.receiver = asyncio.create_task(self.receive(self.connection))
        return self.connection

    async def receive(self, connection: ClientConnection) -> None:
        try:
            async for message in connection:
                text = message if isinstance(message, str) else message.decode()
                reply = parse(text)
                if reply is not None and "jsonrpc" not in reply:
                    self.refused(reply)
                    continue
                if reply is not None and "method" not in reply:
                    self.pending.discard(reply.get("id"))
                self.write(text)
        except ConnectionClosed:
            pass
        how = f"{connection.close_code} {connection.close_reason}".strip() if connection.close_code else "dropped"
        if not self.closing:
            report(f"connection closed ({how}); reconnecting on the next message")
        if self.connection is connection:
            self.connection = None
        for request_id in sorted(self.pending, key=str):
            self.reply_error(request_id, BRIDGE_ERROR, "Connection closed before the reply arrived; try again")
        self.pending.clear()

    def refused(self, answer: dict) -> None:
        """A JSON object that is not JSON-RPC: the server's refusal passed on by the relay (401 once a token is
        revoked or expired) or API Gateway's internal error. It names no request, so every waiting one fails
        rather than waiting for ever; the client may simply retry."""
        reason = str(answer.get("message") or answer.get("error") or "no reason given")
        if answer.get("error") == "unauthorized":
            reason += " (the token was refused: revoked or expired?)"
        report(f"the server refused a message: {reason}")
        for request_id in sorted(self.pending, key=str):
            self.reply_error(request_id, BRIDGE_ERROR, f"The server refused the request: {reason}")
        self.pending.clear()

    def reply_error(self, request_id, code: int, message: str) -> None:
        self.write(json.dumps({"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}))

    def write(self, text: str) -> None:
        self.out.write(text.encode() + b"\n")
        self.out.flush()

    async def close(self, grace_seconds: float = 30) -> None:
        """At the end of input: wait (a bounded time) for the replies still due, then close."""
        waited = 0.0
        while self.pending and self.connection is not None and waited < grace_seconds:
            await asyncio.sleep(0.01)
            waited += 0.01
        self.closing = True
        if self.connection is not None:
            await self.connection.close()
        if self.receiver is not None:
            await self.receiver


def token_in_url(url: str) -> tuple[str, str]:
    """(the URL without its token, the token or ''): `key=` as `tokens issue` prints it, or `token=`."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    token = next((value for name, value in pairs if name in TOKEN_PARAMS and value), "")
    rest = urlencode([(name, value) for name, value in pairs if name not in TOKEN_PARAMS])
    return urlunsplit(parts._replace(query=rest)), token


def with_token(url: str, token: str) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode({"token": token})]))
    return urlunsplit(parts._replace(query=query))


def chunks(text: str):
    return (text[start:start + FRAME_CHARS] for start in range(0, len(text), FRAME_CHARS)) if text else [""]


def parse(text: str) -> dict | None:
    try:
        message = json.loads(text)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def describe(problem: BaseException) -> str:
    if isinstance(problem, InvalidStatus):
        status = problem.response.status_code
        hint = {401: "no token given", 403: "token refused or source address not allowed"}.get(status, "")
        return f"HTTP {status}" + (f" ({hint})" if hint else "")
    return str(problem) or type(problem).__name__


def report(message: str) -> None:
    print(f"elevenlabs-mcp-bridge: {message}", file=sys.stderr, flush=True)


async def run(bridge: Bridge) -> None:
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader(limit=4 * MAX_MESSAGE_BYTES)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    try:
        while line := await stdin.readline():
            if line.strip():
                await bridge.send(line.decode().strip())
    finally:
        await bridge.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="elevenlabs-mcp-bridge", description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the deployment's wss:// URL (stack output EndpointUrl), or the URL with "
                        "?key=<token> that `python -m compiler tokens issue` prints")
    parser.add_argument("--token", help=f"API key or token; better in the environment variable {TOKEN_ENV}, which "
                        "other users cannot see in the process list")
    args = parser.parse_args(argv)
    url, url_token = token_in_url(args.url)
    token = args.token or url_token or os.environ.get(TOKEN_ENV, "")
    if not token:
        parser.error(f"no token: set {TOKEN_ENV}, pass --token or give the URL with ?key=<token>")
    if urlsplit(url).scheme not in ("ws", "wss"):
        parser.error(f"{url!r} is not a ws:// or wss:// URL")
    try:
        asyncio.run(run(Bridge(url, token)))
    except InvalidURI as problem:
        parser.error(str(problem))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
