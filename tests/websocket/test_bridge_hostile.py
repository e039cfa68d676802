"""The bridge against an endpoint that misbehaves (a real WebSocket server on loopback doing what API Gateway never
would: huge, silent, malformed and newline-laden messages) and a client that sends huge lines: clear errors,
bounded memory, the token never shown."""

from __future__ import annotations

import asyncio
import io
import json
import time

import pytest
from websockets.frames import Opcode

from server import bridge as bridge_module
from server.bridge import Bridge, request_id_in, url_problem
from tests.websocket.misbehaving import TOKEN, BridgeProcess, LoopbackServer, run_bridge

pytestmark = pytest.mark.timeout(90)

MiB = 1024 * 1024
MEMORY_BOUND_MIB = 80  # the bridge idles at ~30 MiB; a message it buffered whole would add 200


def request(request_id, **params) -> bytes:
    message = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}
    return json.dumps(message).encode() + b"\n"


async def echo(connection) -> None:
    async for message in connection:
        await connection.send(json.dumps({"jsonrpc": "2.0", "id": json.loads(message)["id"], "result": {}}))


def first_connection(behaviour):
    """`behaviour` on the first connection, an echo server on the later ones (the bridge's reconnection)."""
    connections = []

    async def handle(connection):
        connections.append(connection)
        await (behaviour if len(connections) == 1 else echo)(connection)
    return handle


# --- huge messages: the connection closes at 128 KB, the bridge's memory stays bounded -----------------------

async def huge_in_small_fragments(connection):
    await connection.recv()
    try:  # 200 MB in 64 KB fragments, each under the limit on its own
        await connection.send("a" * (64 * 1024) for _ in range(3200))
    except Exception:  # noqa: BLE001 - the bridge closed the connection, as it should
        pass


async def huge_frame(connection):
    await connection.recv()
    connection.transport.write(b"\x81\x7f" + (200 * MiB).to_bytes(8, "big") + b"a" * (4 * MiB))  # "200 MB follow"
    await connection.wait_closed()


async def invalid_utf8_text(connection):
    await connection.recv()
    connection.transport.write(b"\x81\x04\xff\xfe\xfd\xfc")  # a text frame that is not UTF-8
    await connection.wait_closed()


@pytest.mark.parametrize("behaviour, close_code", [(huge_in_small_fragments, "1009"), (huge_frame, "1009"),
                                                   (invalid_utf8_text, "1007")],
                         ids=["200-MB-in-fragments", "200-MB-frame", "invalid-UTF-8-text"])
def test_a_message_the_api_could_not_send_closes_the_connection_not_the_bridge(behaviour, close_code):
    with LoopbackServer(first_connection(behaviour)) as server:
        bridge = BridgeProcess(server.url)
        bridge.send(request(1))
        failed = json.loads(bridge.line())
        peak = bridge.peak_rss_mib()
        bridge.send(request(2))  # a new connection: the bridge is alive
        answered = json.loads(bridge.line())
        rest, stderr = bridge.finish()
    assert failed["id"] == 1 and failed["error"]["code"] == -32000
    assert "Connection closed before the reply arrived" in failed["error"]["message"]
    assert close_code in failed["error"]["message"]
    assert answered == {"jsonrpc": "2.0", "id": 2, "result": {}} and rest == []
    assert peak < MEMORY_BOUND_MIB, f"peak RSS {peak:.0f} MiB"
    assert "Traceback" not in stderr and bridge.process.returncode == 0


# --- silent servers: per-request timeout, and pings while requests wait -------------------------------------

def test_a_request_never_answered_gets_a_timeout_error_and_a_late_reply_is_dropped():
    async def late(connection):
        async for message in connection:
            await asyncio.sleep(0.8)
            await connection.send(json.dumps({"jsonrpc": "2.0", "id": json.loads(message)["id"], "result": {}}))

    with LoopbackServer(late) as server:
        bridge = BridgeProcess(server.url, "--request-timeout", "0.5")
        bridge.send(request(1))
        timed_out = json.loads(bridge.line())
        bridge.send(request(2))
        second = json.loads(bridge.line())
        time.sleep(1.5)  # both late replies arrive while the bridge still reads
        rest, stderr = bridge.finish()
    assert timed_out["id"] == 1 and timed_out["error"]["code"] == -32001
    assert "No reply from the server within 0.5 s" in timed_out["error"]["message"]
    assert second["id"] == 2 and second["error"]["code"] == -32001
    assert rest == []  # the replies that came after their timeout were not passed on: no duplicate for the client
    assert "dropped a reply to no waiting request (id 1)" in stderr
    assert "dropped a reply to no waiting request (id 2)" in stderr


def test_a_server_that_stops_answering_pings_is_closed_and_its_requests_fail(monkeypatch, capsys):
    monkeypatch.setattr(bridge_module, "PING_SECONDS", 0.3)
    monkeypatch.setattr(bridge_module, "PONG_SECONDS", 0.3)

    async def gone_quiet(connection):
        await connection.recv()
        connection.transport.pause_reading()  # as a dead peer: no pong, no close
        await asyncio.sleep(30)

    async def scenario(url):
        out = io.BytesIO()
        bridge = Bridge(url, TOKEN, out=out, request_timeout=30)
        await bridge.send(request(1).decode().strip())
        await asyncio.wait_for(bridge.receiver, 10)
        return out.getvalue()

    with LoopbackServer(gone_quiet) as server:
        written = asyncio.run(scenario(server.url))
    [line] = written.splitlines()
    failed = json.loads(line)
    assert failed["id"] == 1 and "no answer to a ping within 0.3 s" in failed["error"]["message"]
    assert "no answer to a ping" in capsys.readouterr().err


def test_a_front_door_that_ignores_pings_loses_nothing_while_replies_come(monkeypatch, capsys):
    monkeypatch.setattr(bridge_module, "PING_SECONDS", 0.2)
    monkeypatch.setattr(bridge_module, "PONG_SECONDS", 1.0)

    async def no_pongs(connection):
        send_frame = connection.protocol.send_frame
        connection.protocol.send_frame = lambda frame: None if frame.opcode is Opcode.PONG else send_frame(frame)
        async for message in connection:
            await asyncio.sleep(0.8)  # the ping goes unanswered; this reply comes within PONG_SECONDS of it
            await connection.send(json.dumps({"jsonrpc": "2.0", "id": json.loads(message)["id"], "result": {}}))

    async def scenario(url):
        out = io.BytesIO()
        bridge = Bridge(url, TOKEN, out=out, request_timeout=30)
        for request_id in (1, 2):
            await bridge.send(request(request_id).decode().strip())
            while bridge.pending:
                await asyncio.sleep(0.05)
        connection = bridge.connection
        await bridge.close()
        return out.getvalue(), connection

    with LoopbackServer(no_pongs) as server:
        written, connection = asyncio.run(scenario(server.url))
    assert [json.loads(line) for line in written.splitlines()] == [
        {"jsonrpc": "2.0", "id": 1, "result": {}}, {"jsonrpc": "2.0", "id": 2, "result": {}}]
    assert "no answer to a ping" not in capsys.readouterr().err and connection.close_code == 1000


# --- on demand: a connection whose wake is old news is replaced, so the service is woken again -----------------

async def answers_to(url: str, *request_ids) -> bytes:
    """What the bridge writes for these requests, sent in this order, once none waits any more."""
    out = io.BytesIO()
    bridge = Bridge(url, TOKEN, out=out, request_timeout=30)
    for request_id in request_ids:
        await bridge.send(request(request_id).decode().strip())
    while bridge.pending:
        await asyncio.sleep(0.05)
    await bridge.close()
    return out.getvalue()


def test_starting_on_an_old_connection_reconnects_to_wake_and_only_starting_requests_are_kept(monkeypatch, capsys):
    """The service was stopped under an open connection (or an idle check stopped the task its wake found): the
    relay answers "starting" and cannot wake anything; only a new connection's $connect does."""
    monkeypatch.setattr(bridge_module, "RETRY_SECONDS", 0.1)
    monkeypatch.setattr(bridge_module, "REWAKE_SECONDS", 0.4)
    connections = []

    async def stopped_under_it_then_woken(connection):
        connections.append(connection)
        async for message in connection:
            request_id = json.loads(message)["id"]
            if len(connections) > 1:
                await connection.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "result": {}}))
            elif request_id == 1:
                error = {"code": -32004, "message": "starting"}
                await connection.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "error": error}))
            # request 2 was taken by a task that went away: never answered on this connection

    with LoopbackServer(stopped_under_it_then_woken) as server:
        started = time.monotonic()
        written = asyncio.run(answers_to(server.url, 2, 1))
        took = time.monotonic() - started
    replies = {reply["id"]: reply for reply in map(json.loads, written.splitlines())}
    assert replies[1] == {"jsonrpc": "2.0", "id": 1, "result": {}}, "kept waiting, answered on the new connection"
    assert "Connection closed before the reply arrived" in replies[2]["error"]["message"], "not resent: it may cost"
    assert len(replies) == 2 and len(connections) == 2
    assert connections[0].close_code == 1000 and took < 10
    assert "reconnecting to wake the service again" in capsys.readouterr().err


def test_starting_on_a_fresh_connection_waits_on_it(monkeypatch, capsys):
    """The connection's own wake is recent: the task is on its way, a reconnection would only cost a $connect."""
    monkeypatch.setattr(bridge_module, "RETRY_SECONDS", 0.1)
    connections, starting_replies = [], []

    async def starting_twice(connection):
        connections.append(connection)
        async for message in connection:
            request_id = json.loads(message)["id"]
            if len(starting_replies) < 2:
                starting_replies.append(request_id)
                reply = {"jsonrpc": "2.0", "id": request_id, "error": {"code": -32004, "message": "starting"}}
            else:
                reply = {"jsonrpc": "2.0", "id": request_id, "result": {}}
            await connection.send(json.dumps(reply))

    with LoopbackServer(starting_twice) as server:
        written = asyncio.run(answers_to(server.url, 1))
    assert [json.loads(line) for line in written.splitlines()] == [{"jsonrpc": "2.0", "id": 1, "result": {}}]
    assert len(connections) == 1 and starting_replies == [1, 1]
    assert "reconnecting" not in capsys.readouterr().err


# --- malformed and newline-laden messages ----------------------------------------------------------------------

def test_malformed_messages_are_dropped_and_each_message_is_written_on_one_line():
    pretty_reply = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"text": "a\u2028b\nc", "é": "ü"}},
                              indent=2, ensure_ascii=False)
    pretty_notification = json.dumps({"jsonrpc": "2.0", "method": "notifications/message",
                                      "params": {"data": "line one\nline two"}}, indent=4)

    async def malformed(connection):
        await connection.recv()
        for message in [b"\xff\xfe not UTF-8", "not json\nat all", "[" * 100_000,
                        '{"jsonrpc":"2.0","id":1,"result":NaN}', "[1, 2]", '{"jsonrpc": "2.0", "id": 99, "result": {}}', '{"jsonrpc":"2.0","id":[1],"result":1}',
                        '{"jsonrpc": "2.0", "id": true, "result": {}}',
                        pretty_notification, pretty_reply]:
            await connection.send(message)
        await connection.wait_closed()

    with LoopbackServer(malformed) as server:
        bridge = BridgeProcess(server.url)
        bridge.send(request(1))
        notification, reply = bridge.line(), bridge.line()
        rest, stderr = bridge.finish()
    assert json.loads(notification) == json.loads(pretty_notification)
    assert json.loads(reply) == json.loads(pretty_reply)
    for line in (notification, reply):
        assert line.count(b"\n") == 1 and line.endswith(b"\n") and "\u2028".encode() not in line
    assert rest == []
    assert "dropped a binary message of 12 bytes that is not UTF-8 text" in stderr
    assert stderr.count("dropped a message that is not a JSON object") == 4  # text, nesting, NaN, array
    assert "not json\\nat all" in stderr  # shown on one line
    assert "dropped a reply to no waiting request (id 99)" in stderr
    assert "dropped a reply to no waiting request (id [1])" in stderr
    assert "dropped a reply to no waiting request (id true)" in stderr  # true is not the 1 the client waits on
    assert "Traceback" not in stderr and bridge.process.returncode == 0


def test_a_request_whose_id_is_not_a_string_or_integer_is_refused_locally():
    with LoopbackServer(echo) as server:
        result = run_bridge(server.url, stdin='{"jsonrpc": "2.0", "id": [1], "method": "ping"}\n')
    reply = json.loads(result.stdout)
    assert reply["id"] is None and reply["error"]["code"] == -32600 and "Traceback" not in result.stderr


# --- the client's side: lines over the limit (base64 audio), read in bounded memory ------------------------------

@pytest.mark.parametrize("size", [600 * 1024, 50 * MiB], ids=["600-KB", "50-MB"])
def test_a_stdin_line_over_128_kb_is_refused_with_its_id_and_the_bridge_reads_on(size):
    with LoopbackServer(echo) as server:
        bridge = BridgeProcess(server.url)
        prefix = b'{"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"audio_base64": "'
        bridge.send(prefix + b"QUFB" * ((size - len(prefix)) // 4) + b'"}}\n')
        refused = json.loads(bridge.line())
        bridge.send(request(6))
        answered = json.loads(bridge.line())
        peak = bridge.peak_rss_mib()
        rest, stderr = bridge.finish()
    assert refused["id"] == 5 and "over 128 KB" in refused["error"]["message"]
    assert "as a URL" in refused["error"]["message"]
    assert answered == {"jsonrpc": "2.0", "id": 6, "result": {}} and rest == []
    assert peak < MEMORY_BOUND_MIB, f"peak RSS {peak:.0f} MiB"
    assert "Traceback" not in stderr


@pytest.mark.parametrize("head, expected", [
    ('{"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"x": "aaa', 5),
    ('{"id":"req-\\"7\\"","params":{"id": 3, "a": [', 'req-"7"'),
    ('{"method": "tools/call", "params": {"id": 3, "text": "aaaa', None),  # its id comes after the cut
    ('{"jsonrpc": "2.0", "params": ["id", {"id": 1}], "id": 8, "x": "a', 8),
    ('{"id": 1.5, "params": "', None),
    ('not json at all', None),
])
def test_the_id_of_an_over_long_line_is_found_in_its_first_characters(head, expected):
    assert request_id_in(head) == expected


# --- the token, never shown; ws:// only to this machine -----------------------------------------------------

@pytest.mark.parametrize("url", [
    f"ws://127.0.0.1:9/mcp?key={TOKEN}#fragment",  # websockets: "... is not a valid URI", the URL in full
    "wss://user@127.0.0.1:9/mcp",  # "username provided without password"
    f"ws://127.0.0.1:99999/mcp?key={TOKEN}",  # an invalid port
    f"ws://127.0.0.1:9/mcp?key={TOKEN}&other=token%3D{TOKEN}",
])
def test_a_malformed_url_is_reported_without_the_token(url):
    result = run_bridge(url, stdin=request(1).decode())
    assert result.stdout or result.returncode == 2  # an error reply for the request, or a usage error
    assert TOKEN not in result.stdout + result.stderr and "secret-token" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_ws_to_another_machine_is_refused_before_any_connection(monkeypatch, capsys):
    def no_connection(*args, **kwargs):  # nothing may be sent, even if the check were wrong
        raise AssertionError("the bridge tried to connect")

    monkeypatch.setattr(bridge_module, "connect", no_connection)
    monkeypatch.setenv("MCP_BRIDGE_TOKEN", TOKEN)
    with pytest.raises(SystemExit) as exit_:
        bridge_module.main(["ws://example.com/mcp"])
    stderr = capsys.readouterr().err
    assert exit_.value.code == 2 and "clear text" in stderr and "use wss://" in stderr


@pytest.mark.parametrize("url, problem", [
    ("ws://127.0.0.1:8080/mcp", ""), ("ws://127.3.4.5/mcp", ""), ("ws://[::1]:8080/mcp", ""),
    ("ws://LOCALHOST/mcp", ""), ("wss://abc.execute-api.us-east-1.amazonaws.com/mcp", ""),
    ("ws://10.0.0.1/mcp", "clear text"), ("ws://[::ffff:8.8.8.8]/mcp", "clear text"),
    ("ws://localhost.example.com/mcp", "clear text"), ("https://example.com/mcp", "is not a wss:// URL"),
    ("wss:///mcp", "names no host"), ("wss://h:0x1/mcp", "invalid port"),
])
def test_only_wss_or_loopback_ws_urls_are_accepted(url, problem):
    found = url_problem(url)
    assert (problem in found and found) if problem else found == ""
