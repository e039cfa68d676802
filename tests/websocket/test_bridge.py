"""The bridge process on its own: stdin lines to WebSocket messages and back, local refusals, usage errors.
The other end is a real WebSocket echo server on loopback that records what arrives."""

from __future__ import annotations

import json

import pytest

from server.bridge import chunks
from tests.websocket.misbehaving import LoopbackServer
from tests.websocket.misbehaving import run_bridge as bridge

pytestmark = pytest.mark.timeout(60)


class EchoServer(LoopbackServer):
    """Answers each message with {"jsonrpc": "2.0", "id": <its id>, "result": {"echo": <its length>}}."""

    def __init__(self):
        self.messages: list[str] = []
        super().__init__(self.echo)

    async def echo(self, connection):
        async for message in connection:
            self.messages.append(message)
            reply = {"jsonrpc": "2.0", "id": json.loads(message).get("id"), "result": {"echo": len(message)}}
            await connection.send(json.dumps(reply))


@pytest.fixture
def echo():
    server = EchoServer()
    yield server
    server.close()


def test_lines_become_messages_and_replies_become_lines(echo):
    big = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"text": "é" * 60_000}},
                     ensure_ascii=False)
    lines = [json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}), big]
    result = bridge(f"ws://127.0.0.1:{echo.port}/mcp", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    replies = [json.loads(line) for line in result.stdout.splitlines()]
    assert replies == [{"jsonrpc": "2.0", "id": 1, "result": {"echo": len(lines[0])}},
                       {"jsonrpc": "2.0", "id": 2, "result": {"echo": len(big)}}]
    assert echo.messages == lines  # the 120 KB message arrives whole, whatever its frames
    assert echo.paths == ["/mcp?token=secret-token-123"]
    assert "secret-token-123" not in result.stderr


def test_the_url_tokens_issue_prints_carries_the_token_and_it_is_never_shown(echo):
    url = f"ws://127.0.0.1:{echo.port}/mcp?key=mcpt_from%2Fthe-url"  # a URL-encoded token, as the CLI quotes it
    result = bridge(url, token="env-token-not-used", stdin=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["id"] == 1
    assert echo.paths == ["/mcp?token=mcpt_from%2Fthe-url"]  # key= became the token= the authorizer reads
    assert f"connected to ws://127.0.0.1:{echo.port}/mcp\n" in result.stderr and "mcpt_from" not in result.stderr


def test_messages_over_128_kb_and_non_json_lines_are_answered_locally(echo):
    too_big = json.dumps({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"text": "a" * 131_072}})
    result = bridge(f"ws://127.0.0.1:{echo.port}/mcp", stdin=f"{too_big}\nnot json\n")
    replies = [json.loads(line) for line in result.stdout.splitlines()]
    assert replies[0]["id"] == 5 and "128 KB" in replies[0]["error"]["message"]
    assert replies[1]["id"] is None and replies[1]["error"]["code"] == -32700
    assert echo.messages == []


def test_an_unreachable_server_is_an_error_for_the_request_and_on_stderr():
    result = bridge("ws://127.0.0.1:9/mcp", stdin=json.dumps({"jsonrpc": "2.0", "id": 3, "method": "ping"}) + "\n")
    reply = json.loads(result.stdout)
    assert reply["id"] == 3 and "Bridge cannot reach the server" in reply["error"]["message"]
    assert "cannot reach ws://127.0.0.1:9/mcp" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("args, token, message", [
    (["ws://127.0.0.1:9/mcp"], None, "no token: set MCP_BRIDGE_TOKEN"),
    (["https://example.com/mcp"], "t", "is not a wss:// URL"),
    ([], "t", "the following arguments are required: url"),
])
def test_usage_errors_exit_2_without_a_traceback(args, token, message):
    result = bridge(*args, token=token)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("text", ["", "a" * 100_000, "é" * 40_000, "𝄞" * 20_000 + "x"])
def test_frames_stay_within_api_gateways_32_kb_and_rebuild_the_message(text):
    frames = list(chunks(text))
    assert "".join(frames) == text
    assert all(len(frame.encode()) <= 32 * 1024 for frame in frames)


class StartingServer(LoopbackServer):
    """Answers "starting" (-32004, as the relay of an on-demand deployment does) to the first `starting` messages,
    then echoes."""

    def __init__(self, starting: int):
        self.starting, self.messages = starting, []
        super().__init__(self.answer)

    async def answer(self, connection):
        async for message in connection:
            self.messages.append(message)
            request_id = json.loads(message).get("id")
            if len(self.messages) <= self.starting:
                reply = {"jsonrpc": "2.0", "id": request_id, "error": {"code": -32004, "message": "starting"}}
            else:
                reply = {"jsonrpc": "2.0", "id": request_id, "result": {"echo": len(message)}}
            await connection.send(json.dumps(reply))


@pytest.mark.parametrize("starting, start_timeout, answered", [(1, "180", True), (100, "6", False)],
                         ids=["task-answers-on-the-second-try", "no-task-within-the-start-timeout"])
def test_a_starting_task_holds_the_request_and_it_is_sent_again(starting, start_timeout, answered):
    server = StartingServer(starting)
    try:
        line = json.dumps({"jsonrpc": "2.0", "id": 4, "method": "tools/list"})
        result = bridge(f"ws://127.0.0.1:{server.port}/mcp", "--start-timeout", start_timeout, stdin=line + "\n")
    finally:
        server.close()
    (reply,) = [json.loads(out) for out in result.stdout.splitlines()]  # one reply: the retries are not seen
    assert server.messages == [line, line]  # sent again once, 5 s later
    assert ("result" in reply) is answered and reply["id"] == 4
    if not answered:
        assert reply["error"]["code"] == -32004 and "no server task answered within 6 s" in result.stderr
    assert 'a server task is starting (0 s so far, up to' in result.stderr
