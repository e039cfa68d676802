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

On demand (spec.onDemand), connecting starts a server task, and until one answers the relay replies -32004
("starting") without running anything: the bridge then sends the request again every RETRY_SECONDS, saying so
on stderr, for up to --start-timeout seconds, so the client sees one slow reply rather than an error. Only a
new connection wakes the service, so a "starting" reply on a connection opened more than REWAKE_SECONDS ago (the
service was stopped under it, or an idle check stopped the task its wake had found) makes the bridge reconnect
before sending again; the waiting requests stay waiting.

The other end is trusted no further than API Gateway's limits: a message over 128 KB closes the connection (so
memory stays bounded), a request unanswered after --request-timeout seconds gets an error, a connection that
stops answering pings while requests wait is closed, messages that are not JSON-RPC objects are dropped (and
named on stderr), and each message is written again as compact JSON, so it is one line whatever it held.
`wss://` only: `ws://` (the token in clear text) is refused except to this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import re
import sys
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI, WebSocketException
from websockets.protocol import State

TOKEN_ENV = "MCP_BRIDGE_TOKEN"
TOKEN_PARAMS = ("key", "token")  # a token in the URL: ?key= as `tokens issue` prints it, ?token= as the API takes it
MAX_MESSAGE_BYTES = 128 * 1024  # API Gateway's message limit, both ways
FRAME_CHARS = 8 * 1024  # at most 4 bytes per character in UTF-8: frames stay within 32 KB
CONNECT_ATTEMPTS = 3
REQUEST_TIMEOUT_SECONDS = 60.0  # API Gateway answers within 29 s (its integration timeout), the relay before
PING_SECONDS = 20.0  # while requests wait: a ping this often
PONG_SECONDS = 30.0  # longer than API Gateway's 29 s integration timeout, within which a reply always comes
CLOSE_SECONDS = 2.0  # closing a connection that no longer answers
STDIN_CHUNK = 64 * 1024
ID_SEARCH_CHARS = 4096  # how much of an over-long line is searched for its request id
PREVIEW_CHARS = 120
BRIDGE_ERROR = -32000
REQUEST_TIMEOUT = -32001
STARTING = -32004  # the relay: no task answers yet, the connection started one (server/websocket/relay.py)
RETRY_SECONDS = 5.0
START_TIMEOUT_SECONDS = 180.0  # Fargate's start and image pull take about a minute (docs/on-demand.md)
REWAKE_SECONDS = 60.0  # a connection's wake is this old: a task it started would answer by now
LOOPBACK_NAMES = ("localhost",)
URL_SECRET = re.compile(r"((?:^|[?&;])(?:%s)=)[^&;#\s'\"]*" % "|".join(TOKEN_PARAMS))


class Bridge:
    def __init__(self, url: str, token: str, out=None, request_timeout: float = REQUEST_TIMEOUT_SECONDS,
                 start_timeout: float = START_TIMEOUT_SECONDS):
        self.url = with_token(url, token)
        self.display_url = url
        self.token = token
        self.out = out or sys.stdout.buffer
        self.request_timeout = request_timeout
        self.start_timeout = start_timeout
        self.lines: dict = {}  # id of a waiting request -> its line, to send again while a task starts
        self.first_starting: dict = {}  # id -> event-loop time of its first "starting" reply
        self.resends: set[asyncio.Task] = set()
        self.connection: ClientConnection | None = None
        self.receiver: asyncio.Task | None = None
        self.keepalive: asyncio.Task | None = None
        self.pending: dict = {}  # id of a request sent and not answered yet -> its timeout
        self.lost_because = ""  # why the bridge closed the connection itself
        self.last_heard = 0.0  # event-loop time of the last message from the server
        self.connected_at = 0.0  # event-loop time the current connection opened (its $connect woke the service)
        self.rewaking: ClientConnection | None = None  # closed by the bridge to wake the service: nothing fails
        self.closing = False

    # --- stdin -> server -----------------------------------------------------------------------------------

    async def send(self, line: str) -> None:
        message = parse(line)
        if message is None:
            self.reply_error(None, -32700, "Parse error: each line must be one JSON-RPC object")
            return
        request_id = message.get("id") if "method" in message else None
        if not is_request_id(request_id) and request_id is not None:
            self.reply_error(None, -32600, "Invalid Request: an id is a string or an integer")
            return
        if len(line.encode()) > MAX_MESSAGE_BYTES:
            self.too_long(request_id, len(line.encode()))
            return
        try:
            connection = await self.connected()
            if request_id is not None:
                self.wait_for(request_id)
                self.lines[request_id] = line
            await connection.send(chunks(line))
        except (OSError, WebSocketException, asyncio.TimeoutError) as problem:
            self.settle(request_id)
            self.report(f"cannot reach {self.display_url}: {describe(problem)}")
            if request_id is not None:
                self.reply_error(request_id, BRIDGE_ERROR, f"Bridge cannot reach the server: {describe(problem)}")

    def too_long(self, request_id, size: int) -> None:
        self.report(f"refused a message of {size // 1024} KB from the client (over 128 KB)")
        if request_id is not None:
            self.reply_error(request_id, BRIDGE_ERROR, f"Message of {size // 1024} KB is over 128 KB, the WebSocket "
                             "API's limit; pass large inputs (audio) as a URL instead of inline data")

    async def connected(self) -> ClientConnection:
        if self.connection is not None and self.connection.state is not State.OPEN:
            await self.receiver  # closed, maybe not yet noticed: let it fail its waiting requests first
        if self.connection is not None:
            return self.connection
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            try:
                self.connection = await connect(self.url, max_size=MAX_MESSAGE_BYTES, ping_interval=None,
                                                open_timeout=15, close_timeout=CLOSE_SECONDS)
                break
            except (InvalidStatus, InvalidURI):
                raise  # 401/403, a malformed URL: retrying will not change the token, the address or the URL
            except (OSError, WebSocketException, asyncio.TimeoutError) as problem:
                if attempt == CONNECT_ATTEMPTS:
                    raise
                self.report(f"connecting failed ({describe(problem)}); retrying")
                await asyncio.sleep(attempt)
        self.report(f"connected to {self.display_url}")
        self.lost_because = ""
        self.connected_at = asyncio.get_running_loop().time()
        self.receiver = asyncio.create_task(self.receive(self.connection))
        self.keepalive = asyncio.create_task(self.ping_while_waiting(self.connection))
        return self.connection

    # --- server -> stdout ----------------------------------------------------------------------------------

    async def receive(self, connection: ClientConnection) -> None:
        try:
            async for message in connection:
                self.forward(message)
        except ConnectionClosed:
            pass
        self.keepalive.cancel()
        if self.connection is connection:
            self.connection = None
        rewaking = self.rewaking is connection
        if not (self.closing or rewaking):
            self.report(f"connection closed ({self.why_closed(connection)}); reconnecting on the next message")
        # after a re-wake, the requests the relay answered "starting" are sent again on the new connection
        self.fail_waiting(f"Connection closed before the reply arrived ({self.why_closed(connection)}); try again",
                          keep=self.first_starting if rewaking else ())

    def forward(self, message: str | bytes) -> None:
        self.last_heard = asyncio.get_running_loop().time()
        if isinstance(message, bytes):
            try:
                message = message.decode()
            except UnicodeDecodeError:
                self.report(f"dropped a binary message of {len(message)} bytes that is not UTF-8 text")
                return
        reply = parse(message)
        if reply is None:
            self.report(f"dropped a message that is not a JSON object: {preview(message)}")
        elif "jsonrpc" not in reply:
            self.refused(reply)
        elif self.retried(reply):
            pass
        elif "method" in reply or reply.get("id") is None or self.settle(reply.get("id")):
            self.answered(reply.get("id"))
            self.write(one_line(reply))  # a request or notification of the server's, or a reply someone awaits
        else:
            self.report(f"dropped a reply to no waiting request (id {preview(json.dumps(reply.get('id')))}); "
                        "it may have come after its timeout")

    def why_closed(self, connection: ClientConnection) -> str:
        received, sent = connection.protocol.close_rcvd, connection.protocol.close_sent
        if self.lost_because:
            return self.lost_because
        if received is not None:
            return f"{received.code} {received.reason}".strip()
        if sent is not None:
            return f"{sent.code} {sent.reason}".strip()  # the bridge's own: 1009 a message over 128 KB, 1007 ...
        return "dropped"

    def refused(self, answer: dict) -> None:
        """A JSON object that is not JSON-RPC: the server's refusal passed on by the relay (401 once a token is
        revoked or expired) or API Gateway's internal error. It names no request, so every waiting one fails
        rather than waiting for ever; the client may simply retry."""
        reason = preview(str(answer.get("message") or answer.get("error") or "no reason given"))
        if answer.get("error") == "unauthorized":
            reason += " (the token was refused: revoked or expired?)"
        self.report(f"the server refused a message: {reason}")
        self.fail_waiting(f"The server refused the request: {reason}")

    # --- waiting requests ----------------------------------------------------------------------------------

    def retried(self, reply: dict) -> bool:
        """Whether `reply` is a "starting" error for a waiting request, which is then sent again in RETRY_SECONDS
        (it stays waiting meanwhile); after start_timeout the error goes to the client as it is."""
        error, request_id = reply.get("error"), reply.get("id")
        if not (isinstance(error, dict) and error.get("code") == STARTING and is_request_id(request_id)
                and request_id in self.pending and request_id in self.lines):
            return False
        loop = asyncio.get_running_loop()
        now = loop.time()
        waited = now - self.first_starting.setdefault(request_id, now)
        if waited + RETRY_SECONDS > self.start_timeout:
            self.report(f"no server task answered within {self.start_timeout:g} s")
            return False
        self.pending.pop(request_id).cancel()
        self.pending[request_id] = loop.call_later(RETRY_SECONDS, self.resend, request_id)
        self.report(f"a server task is starting ({waited:.0f} s so far, up to {self.start_timeout:g} s); "
                    f"sending request {json.dumps(request_id)} again in {RETRY_SECONDS:g} s")
        if now - self.connected_at >= REWAKE_SECONDS:
            self.rewake()
        return True

    def rewake(self) -> None:
        """Close the current connection without failing what waits on it: the next send opens a new one, whose
        $connect wakes the service again (the relay only answers "starting"; it cannot wake anything)."""
        connection = self.connection
        if connection is None or self.rewaking is connection:
            return
        self.rewaking = connection
        self.report(f"no task answered on a connection opened {REWAKE_SECONDS:g} s ago or more; reconnecting to "
                    "wake the service again")
        task = asyncio.get_running_loop().create_task(connection.close(1000, "reconnecting to wake the service"))
        self.resends.add(task)
        task.add_done_callback(self.resends.discard)

    def resend(self, request_id) -> None:
        line = self.lines.get(request_id)
        if line is not None:
            task = asyncio.get_running_loop().create_task(self.send(line))
            self.resends.add(task)
            task.add_done_callback(self.resends.discard)

    def wait_for(self, request_id) -> None:
        loop = asyncio.get_running_loop()
        self.settle(request_id)
        self.pending[request_id] = loop.call_later(self.request_timeout, self.timed_out, request_id)

    def settle(self, request_id) -> bool:
        """Forget a waiting request's timer; whether it was waiting."""
        timer = self.pending.pop(request_id, None) if is_request_id(request_id) else None
        if timer is not None:
            timer.cancel()
        return timer is not None

    def answered(self, request_id) -> None:
        """A request got its reply (or an error): nothing of it is kept."""
        if is_request_id(request_id):
            self.settle(request_id)
            self.lines.pop(request_id, None)
            self.first_starting.pop(request_id, None)

    def timed_out(self, request_id) -> None:
        self.pending.pop(request_id, None)
        self.report(f"no reply to request {json.dumps(request_id)} within {self.request_timeout:g} s")
        self.reply_error(request_id, REQUEST_TIMEOUT, f"No reply from the server within {self.request_timeout:g} "
                         "s; the request may still be running there")

    def fail_waiting(self, message: str, keep=()) -> None:
        for request_id in sorted(self.pending, key=str):
            if request_id not in keep:
                self.reply_error(request_id, BRIDGE_ERROR, message)  # which forgets its timer

    async def ping_while_waiting(self, connection: ClientConnection) -> None:
        """While requests wait, a ping every PING_SECONDS: a server that sends neither the pong nor any message
        within PONG_SECONDS is gone, and the connection is closed, failing them now rather than at their timeout.
        Any message counts as well as a pong, so a front door that ignored pings would lose nothing. Idle
        connections are left alone (API Gateway closes them after 10 minutes anyway)."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                await asyncio.sleep(PING_SECONDS)
                if not self.pending:
                    continue
                sent = loop.time()
                pong = await connection.ping()
                try:
                    async with asyncio.timeout(PONG_SECONDS):
                        await pong
                except TimeoutError:
                    if self.last_heard < sent:
                        self.lost_because = f"no answer to a ping within {PONG_SECONDS:g} s"
                        await connection.close(1011, "no pong")
                        return
        except ConnectionClosed:
            pass

    # --- output --------------------------------------------------------------------------------------------

    def reply_error(self, request_id, code: int, message: str) -> None:
        self.answered(request_id)
        self.write(one_line({"jsonrpc": "2.0", "id": request_id,
                             "error": {"code": code, "message": self.redact(message)}}))

    def write(self, text: str) -> None:
        self.out.write(text.encode() + b"\n")
        self.out.flush()

    def report(self, message: str) -> None:
        print(f"elevenlabs-mcp-bridge: {self.redact(message)}", file=sys.stderr, flush=True)

    def redact(self, text: str) -> str:
        return redact(text, self.token)

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


class LineReader:
    """Lines of stdin, holding at most `limit` bytes of one: a longer line comes out as an OverLongLine (its
    first characters and its size) and the rest of it is read and dropped, so any line costs bounded memory."""

    def __init__(self, stream: asyncio.StreamReader, limit: int):
        self.stream, self.limit = stream, limit

    async def __aiter__(self):
        line, size, head = bytearray(), 0, b""
        while chunk := await self.stream.read(STDIN_CHUNK):
            start = 0
            while start <= len(chunk):
                end = chunk.find(b"\n", start)
                piece = chunk[start:] if end == -1 else chunk[start:end]
                size += len(piece)
                if size <= self.limit:
                    line += piece
                elif not head:
                    head = bytes(line[:ID_SEARCH_CHARS]) + piece[:max(0, ID_SEARCH_CHARS - len(line))]
                    line = bytearray()
                if end == -1:
                    break
                yield bytes(line) if size <= self.limit else OverLongLine(head, size)
                line, size, head, start = bytearray(), 0, b"", end + 1
        if size:
            yield bytes(line) if size <= self.limit else OverLongLine(head, size)


class OverLongLine:
    def __init__(self, head: bytes, size: int):
        self.head, self.size = head, size

    def request_id(self):
        return request_id_in(self.head.decode(errors="replace"))


def request_id_in(head: str):
    """The "id" of a JSON object from its first characters (the whole is too long to read), if it comes before
    the cut: "jsonrpc", "id", "method", "params" is the order clients write."""
    decoder, depth, index, expecting_key = json.JSONDecoder(), 0, 0, False
    while index < len(head):
        char = head[index]
        if char == '"':
            try:
                text, index = decoder.raw_decode(head, index)
            except ValueError:
                return None  # cut inside a string
            if depth == 1 and expecting_key and text == "id":
                value = re.match(r'\s*:\s*(-?\d{1,18}(?![\d.eE])|"(?:[^"\\]|\\.){0,256}")', head[index:])
                return json.loads(value.group(1)) if value else None
            expecting_key = False
            continue
        if char in "{[":
            depth += 1
            expecting_key = depth == 1 and char == "{"
        elif char in "}]":
            depth -= 1
        elif char == ",":
            expecting_key = depth == 1
        index += 1
    return None


def is_request_id(value) -> bool:
    """A JSON-RPC id the bridge keeps track of: not true for 1, nor a list."""
    return type(value) in (str, int)


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


def redact(text: str, token: str) -> str:
    """`text` without the token: as a URL's query value, and as itself (raw or URL-encoded) if long enough to
    be told from ordinary words."""
    text = URL_SECRET.sub(r"\1***", text)
    if len(token) >= 8:
        for form in {token, quote(token, safe=""), quote_plus(token)}:
            text = text.replace(form, "***")
    return text


def url_problem(url: str) -> str:
    """Why `url` cannot be the deployment's endpoint, or ''."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        return "is not a wss:// URL"
    try:
        parts.port
    except ValueError:
        return "has an invalid port"
    if not parts.hostname:
        return "names no host"
    if parts.scheme == "ws" and not is_loopback(parts.hostname):
        return ("is ws://, which would send the token in clear text; use wss:// (ws:// is accepted only to this "
                "machine: localhost, 127.0.0.0/8, ::1)")
    return ""


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def chunks(text: str):
    return (text[start:start + FRAME_CHARS] for start in range(0, len(text), FRAME_CHARS)) if text else [""]


def parse(text: str) -> dict | None:
    try:
        message = json.loads(text, parse_constant=reject)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's stack
        return None
    return message if isinstance(message, dict) else None


def reject(constant: str):
    raise ValueError(f"{constant} is not JSON")


def one_line(message: dict) -> str:
    """Compact JSON: control characters are escaped by json, and the two Unicode line separators here."""
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def preview(text: str) -> str:
    shown = json.dumps(text[:PREVIEW_CHARS])[1:-1]  # one line, control characters escaped
    return shown + (f"... ({len(text)} characters)" if len(text) > PREVIEW_CHARS else "")


def describe(problem: BaseException) -> str:
    if isinstance(problem, InvalidStatus):
        status = problem.response.status_code
        hint = {401: "no token given", 403: "token refused or source address not allowed"}.get(status, "")
        return f"HTTP {status}" + (f" ({hint})" if hint else "")
    return str(problem) or type(problem).__name__


async def run(bridge: Bridge) -> None:
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader(limit=STDIN_CHUNK)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    try:
        async for line in LineReader(stdin, MAX_MESSAGE_BYTES):
            if isinstance(line, OverLongLine):
                bridge.too_long(line.request_id(), line.size)
            elif line.strip():
                await bridge.send(line.decode(errors="replace").strip())
    finally:
        await bridge.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="elevenlabs-mcp-bridge", description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the deployment's wss:// URL (stack output EndpointUrl), or the URL with "
                        "?key=<token> that `python -m compiler tokens issue` prints")
    parser.add_argument("--token", help=f"API key or token; better in the environment variable {TOKEN_ENV}, which "
                        "other users cannot see in the process list")
    parser.add_argument("--request-timeout", type=float, default=REQUEST_TIMEOUT_SECONDS, metavar="SECONDS",
                        help="answer a request the server has not answered after this long with an error "
                        f"(default {REQUEST_TIMEOUT_SECONDS:g})")
    parser.add_argument("--start-timeout", type=float, default=START_TIMEOUT_SECONDS, metavar="SECONDS",
                        help="on demand: how long to keep sending a request again while the server says a task is "
                        f"starting (default {START_TIMEOUT_SECONDS:g})")
    args = parser.parse_args(argv)
    url, url_token = token_in_url(args.url)
    token = args.token or url_token or os.environ.get(TOKEN_ENV, "")
    if not token:
        parser.error(f"no token: set {TOKEN_ENV}, pass --token or give the URL with ?key=<token>")
    if problem := url_problem(url):
        parser.error(f"{redact(url, token)!r} {problem}")
    try:
        asyncio.run(run(Bridge(url, token, request_timeout=args.request_timeout, start_timeout=args.start_timeout)))
    except KeyboardInterrupt:
        pass
    except Exception as problem:  # noqa: BLE001 - a traceback could show the token: one redacted line instead
        print(f"elevenlabs-mcp-bridge: stopped: {redact(describe(problem), token)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
