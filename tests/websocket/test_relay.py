"""The relay handler against real parts: DynamoDB in moto, tasks as real HTTP servers on loopback addresses
(127.0.0.1 and 127.0.0.2 stand for two task IPs; TASK_HOST names them, resolved by the real lookup code)."""

from __future__ import annotations

import json
import time

import pytest

from server.websocket import relay
from tests.websocket.chain import TABLE, SCHEDULE_NOTE, apply_environment, dynamodb, handler_environment, rows
from tests.websocket.upstream import Answer, Upstream

TICKET = "relay.1999999999." + "c0" * 32  # what the authorizer put in the connection's context
CALL = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "list_models"}})
NOTIFICATION = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"})


def event(route: str, body: str | None = None, connection: str = "conn-1", **context) -> dict:
    request_context = {"routeKey": route, "connectionId": connection,
                       "identity": {"sourceIp": "198.51.100.7"}, **context}
    return {"requestContext": request_context, "body": body, "isBase64Encoded": False}


def send(body: str, connection: str = "conn-1") -> dict:
    return relay.handler(event("$default", body, connection), None)


def error_of(response: dict) -> dict:
    reply = json.loads(response["body"])
    assert reply["jsonrpc"] == "2.0"
    return reply["error"] | {"id": reply["id"]}


@pytest.fixture
def task(table, monkeypatch):
    with Upstream("127.0.0.1") as upstream:
        apply_environment(monkeypatch, handler_environment(table, upstream.port, UPSTREAM_TIMEOUT="2"))
        relay.handler(event("$connect", authorizer={"principal": "api-key", "principalId": "api-key",
                                                    "ticket": TICKET}), None)
        yield upstream


def test_connect_records_the_connection_and_disconnect_forgets_it(task, table):
    [row] = rows(table)
    assert row["id"] == {"S": "conn-1"} and row["principal"] == {"S": "api-key"}
    assert time.time() + 2 * 3600 < int(row["expires"]["N"]) < time.time() + 3 * 3600
    send(CALL)
    assert "conn-1" in relay.ROWS
    assert relay.handler(event("$disconnect"), None) == {"statusCode": 200}
    assert rows(table) == [] and "conn-1" not in relay.ROWS  # this instance's copy too


def test_a_message_is_posted_to_the_task_and_its_reply_returned(task, table):
    task.answer = Answer(body=b'{"jsonrpc":"2.0","id":7,"result":{"ok":true}}')
    response = send(CALL)
    assert response == {"statusCode": 200, "body": '{"jsonrpc":"2.0","id":7,"result":{"ok":true}}'}
    [received] = task.received
    assert received.path == "/mcp" and received.body == CALL.encode()
    assert received.headers["authorization"] == f"Bearer {TICKET}"  # the connection's ticket: the relay has no key
    assert received.headers["x-forwarded-for"] == "198.51.100.7"
    assert received.headers["host"] == "localhost"
    assert received.headers["content-type"] == "application/json"  # urllib's default for a POST is a form
    assert received.headers["accept"] == "application/json, text/event-stream"  # both, or the server answers 406
    assert rows(table)[0]["task"] == {"S": "127.0.0.1"}


def test_in_mode_api_key_no_user_is_named(task):
    send(CALL)
    assert "x-mcp-token-hash" not in task.received[0].headers


def test_in_mode_tokens_the_row_keeps_the_hash_and_every_request_names_it(task, table):
    digest = "ab" * 32
    context = {"principal": "token:alice", "tokenHash": digest, "principalId": "token:alice", "ticket": TICKET + "2"}
    relay.handler(event("$connect", connection="conn-2", authorizer=context), None)
    relay.ROWS.clear()  # the next message may reach another instance: the hash comes from the row
    send(CALL, "conn-2")
    send(CALL, "conn-2")
    assert [r.headers["x-mcp-token-hash"] for r in task.received] == [digest, digest]
    assert all(r.headers["authorization"] == f"Bearer {TICKET}2" for r in task.received)
    [row] = [r for r in rows(table) if r["id"] == {"S": "conn-2"}]
    assert row["hash"] == {"S": digest} and row["principal"] == {"S": "token:alice"}
    assert row["ticket"] == {"S": TICKET + "2"}  # from the row: any relay instance presents it


def test_a_notification_gets_no_reply(task):
    task.answer = Answer(status=202, body=b"")
    assert send(NOTIFICATION) == {"statusCode": 200}


def test_the_mcp_session_is_kept_on_the_same_task(task, table):
    task.answer = Answer(headers={"Mcp-Session-Id": "session-abc"})
    send(CALL)
    send(CALL)
    assert "mcp-session-id" not in task.received[0].headers
    assert task.received[1].headers["mcp-session-id"] == "session-abc"
    assert rows(table)[0]["session"] == {"S": "session-abc"}


def test_a_gone_task_fails_over_to_another_without_its_session(table, monkeypatch):
    with Upstream("127.0.0.2") as first, Upstream("127.0.0.1", first.port) as second:
        apply_environment(monkeypatch, handler_environment(table, first.port, TASK_HOST="127.0.0.2,127.0.0.1"))
        relay.handler(event("$connect", authorizer={"principal": "api-key"}), None)
        first.answer = Answer(headers={"Mcp-Session-Id": "on-first"})
        send(CALL)
        send(CALL)
        first.__exit__()  # the task stops: connections to it are refused
        assert "result" in json.loads(send(CALL)["body"])
    assert len(first.received) == 2 and len(second.received) == 1
    assert "mcp-session-id" not in second.received[0].headers
    # the Host is the service's name (TASK_HOST's first), whichever task answers: the server's Host check allows it
    assert [r.headers["host"] for r in first.received + second.received] == ["127.0.0.2"] * 3
    assert rows(table)[0]["task"] == {"S": "127.0.0.1"} and rows(table)[0]["session"] == {"S": ""}


def test_no_task_running_is_an_error_that_says_when_tasks_come_back(task, monkeypatch):
    monkeypatch.setenv("TASK_HOST", "tasks.scaled-to-zero.invalid")
    error = error_of(send(CALL))
    assert error["id"] == 7 and error["code"] == relay.NO_TASK
    assert error["message"] == f"No server task is running. {SCHEDULE_NOTE}"
    assert send(NOTIFICATION) == {"statusCode": 200}  # notifications never get replies, errors included
    monkeypatch.delenv("SCHEDULE_NOTE")  # always on: no schedule to name
    assert error_of(send(CALL))["message"] == "No server task is running. "


def test_a_slow_task_is_an_error_before_api_gateway_gives_up(task):
    task.answer = Answer(delay=3)
    started = time.monotonic()
    error = error_of(send(CALL))
    assert time.monotonic() - started < 2.9
    assert error == {"code": relay.TIMEOUT, "message": "The server did not answer within 2.0 s", "id": 7}


def test_a_reply_over_128_kb_is_an_error(task):
    task.answer = Answer(body=b'{"jsonrpc":"2.0","id":7,"result":"' + b"a" * (128 * 1024) + b'"}')
    error = error_of(send(CALL))
    assert error == {"code": relay.TOO_BIG, "id": 7,
                     "message": "The reply is over 128 KB, the WebSocket message limit; ask for less"}


@pytest.mark.parametrize("status", [200, 500])
def test_a_reply_is_read_no_further_than_one_byte_past_128_kb(task, status):
    """A task promising 10 MB sends 128 KB + 1 byte and stalls: the relay has read enough to refuse it and answers
    at once, instead of holding the whole reply in memory (or waiting out the timeout for it)."""
    task.answer = Answer(status=status, body=b"a" * (128 * 1024 + 1), unsent=10 * 1024 * 1024)
    started = time.monotonic()
    error = error_of(send(CALL))
    assert error["code"] == relay.TOO_BIG and time.monotonic() - started < 1.5


def test_a_reply_of_exactly_128_kb_passes(task):
    prefix, suffix = b'{"jsonrpc":"2.0","id":7,"result":"', b'"}'
    task.answer = Answer(body=prefix + b"a" * (128 * 1024 - len(prefix) - len(suffix)) + suffix)
    assert len(send(CALL)["body"]) == 128 * 1024


def test_the_servers_own_errors_pass_through(task):
    task.answer = Answer(status=401, body=b'{"error":"unauthorized","message":"Invalid API key"}')
    assert send(CALL)["body"] == '{"error":"unauthorized","message":"Invalid API key"}'
    prefix, suffix = b'{"jsonrpc":"2.0","id":7,"error":{"code":-32603,"message":"', b'"}}'
    error = prefix + b"e" * (128 * 1024 - len(prefix) - len(suffix)) + suffix
    task.answer = Answer(status=500, body=error)  # up to the limit, whole
    assert send(CALL)["body"].encode() == error


def test_a_message_on_a_connection_without_a_row_reaches_the_server_without_a_ticket(task):
    """The row can be gone (its TTL, a failed write at $connect): the server, not the relay, refuses the message."""
    task.answer = Answer(status=401, body=b'{"error":"unauthorized"}')
    assert send(CALL, "conn-without-row")["body"] == '{"error":"unauthorized"}'
    assert task.received[0].headers["authorization"] == "Bearer None"


def test_a_connection_row_is_read_once_per_relay_instance(task, table):
    """The second message uses the row this instance keeps, not the table (one read per connection)."""
    task.answer = Answer(headers={"Mcp-Session-Id": "kept"})
    send(CALL)
    dynamodb(table).delete_item(TableName=TABLE, Key={"id": {"S": "conn-1"}})
    send(CALL)
    assert task.received[1].headers["mcp-session-id"] == "kept"
    assert task.received[1].headers["authorization"] == f"Bearer {TICKET}"


@pytest.mark.parametrize("body", ["not json", "[1, 2]", ""])
def test_a_message_that_is_not_a_json_object_is_a_parse_error(task, body):
    error = error_of(send(body))
    assert error == {"code": relay.PARSE, "message": "Parse error: expected a JSON-RPC object", "id": None}
    assert task.received == []


def test_another_lambda_instance_continues_on_the_task_and_session_in_the_table(table, monkeypatch):
    with Upstream("127.0.0.2") as recorded, Upstream("127.0.0.1", recorded.port) as other:
        apply_environment(monkeypatch, handler_environment(table, recorded.port, TASK_HOST="127.0.0.1,127.0.0.2"))
        relay.handler(event("$connect", authorizer={"principal": "api-key"}), None)
        recorded.answer = Answer(headers={"Mcp-Session-Id": "s-1"})
        relay.table().update_item(Key={"id": "conn-1"}, UpdateExpression="SET task = :t, #s = :s",
                                  ExpressionAttributeNames={"#s": "session"},
                                  ExpressionAttributeValues={":t": "127.0.0.2", ":s": "s-1"})
        send(CALL)  # this instance has not seen the connection: it reads the row
    assert other.received == [] and recorded.received[0].headers["mcp-session-id"] == "s-1"


def modern(method: str, **params) -> str:
    """A 2026-07-28 request as the SDK's stdio client writes it: the era travels in params._meta only."""
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    return json.dumps({"jsonrpc": "2.0", "id": 9, "method": method, "params": {**params, "_meta": meta}})


def era_headers(received) -> dict:
    return {name: value for name, value in received.headers.items()
            if name in ("mcp-protocol-version", "mcp-method", "mcp-name")}


@pytest.mark.parametrize("body, expected", [
    (modern("server/discover"), {"mcp-protocol-version": "2026-07-28", "mcp-method": "server/discover"}),
    (modern("tools/call", name="text_to_speech", arguments={}),
     {"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "text_to_speech"}),
    (modern("resources/read", uri="voice://Ünïcode name "),  # not a plain header value: base64, as the SDK does
     {"mcp-protocol-version": "2026-07-28", "mcp-method": "resources/read",
      "mcp-name": "=?base64?dm9pY2U6Ly/DnG7Dr2NvZGUgbmFtZSA=?="}),
    (CALL, {}),  # the initialize era: the version rides on the session, no headers
    (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}}), {}),
    (modern("tools/call", name="=?base64?aGk=?="),  # looks encoded: encoded again, or the server would decode it
     {"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "=?base64?PT9iYXNlNjQ/YUdrPT89?="}),
], ids=["discover", "tools-call", "non-ascii-name", "legacy-call", "initialize", "encoded-looking-name"])
def test_the_era_headers_are_derived_from_the_message(task, body, expected):
    send(body)
    assert era_headers(task.received[0]) == expected


@pytest.mark.parametrize("body", [
    '{"jsonrpc": "2.0", "id": 1, "method": ["a"], "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": 1}}}',
    '{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": [1]}',
    '{"jsonrpc": "2.0", "id": 1, "method": "x\\r\\nInjected: 1", "params": {"_meta": '
    '{"io.modelcontextprotocol/protocolVersion": "2026-07-28\\r\\nInjected: 1"}}}',
], ids=["wrong-types", "params-a-list", "header-injection"])
def test_hostile_era_fields_neither_crash_the_relay_nor_inject_headers(task, body):
    task.answer = Answer(body=b'{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"no"}}')
    assert json.loads(send(body)["body"])["id"] == 1
    assert "injected" not in task.received[0].headers


def test_on_demand_no_task_is_starting_and_messages_note_activity_once_a_minute(table, monkeypatch):
    apply_environment(monkeypatch, handler_environment(table, 8080, TASK_HOST="tasks.scaled-to-zero.invalid",
                                                       ON_DEMAND="true"))
    relay.handler(event("$connect", authorizer={"principal": "api-key"}), None)
    before = time.time()
    error = error_of(send(CALL))
    assert error["code"] == -32004  # the bridge sends the request again (server/bridge.py STARTING)
    (active,) = [row for row in rows(table) if row["id"] == {"S": "active"}]
    assert before - 1 <= int(active["at"]["N"]) <= time.time()
    dynamodb(table).delete_item(TableName=TABLE, Key={"id": {"S": "active"}})
    send(CALL)
    assert [row for row in rows(table) if row["id"] == {"S": "active"}] == []  # not again within the minute


def test_on_demand_activity_is_noted_again_only_after_more_than_60_seconds(table, monkeypatch):
    apply_environment(monkeypatch, handler_environment(table, 8080, TASK_HOST="tasks.scaled-to-zero.invalid",
                                                       ON_DEMAND="true"))
    relay.handler(event("$connect", authorizer={"principal": "api-key"}), None)
    noted = []
    for now in (1_900_000_000.0, 1_900_000_060.0, 1_900_000_060.5):
        monkeypatch.setattr(relay.time, "time", lambda: now)
        dynamodb(table).delete_item(TableName=TABLE, Key={"id": {"S": "active"}})
        send(CALL)
        noted.append([int(r["at"]["N"]) for r in rows(table) if r["id"] == {"S": "active"}])
    assert noted == [[1_900_000_000], [], [1_900_000_060]]


def test_a_connection_row_lives_7800_seconds(table, monkeypatch):
    apply_environment(monkeypatch, handler_environment(table, 8080))
    monkeypatch.setattr(relay.time, "time", lambda: 1_900_000_000.9)
    relay.handler(event("$connect", authorizer={"principal": "api-key", "ticket": TICKET}), None)
    assert rows(table)[0]["expires"] == {"N": "1900007800"}


def test_the_upstream_timeout_defaults_to_27_seconds(monkeypatch):
    monkeypatch.delenv("UPSTREAM_TIMEOUT", raising=False)
    assert relay.timeout() == 27.0


def test_tasks_are_looked_up_as_ipv4_only(monkeypatch):
    """A resolver stand-in answering AAAA records too: the relay asks for A records only (the URL it builds holds a
    bare IPv4 address; the tasks' security group admits the VPC's IPv4 range)."""
    def resolver(host, port, family=0, *rest):
        v4 = [(2, 1, 6, "", ("10.0.1.5", 0))]
        return v4 if family == relay.socket.AF_INET else [(10, 1, 6, "", ("fd00::5", 0, 0, 0)), *v4]
    monkeypatch.setattr(relay.socket, "getaddrinfo", resolver)
    monkeypatch.setenv("TASK_HOST", "tasks.example.internal")
    assert relay.tasks() == ["10.0.1.5"]


def test_each_task_address_is_listed_once(monkeypatch):
    monkeypatch.setenv("TASK_HOST", "127.0.0.1,localhost,127.0.0.1")
    assert relay.tasks() == ["127.0.0.1"]


@pytest.mark.parametrize("cached, emptied", [(5000, False), (5001, True)])
def test_the_row_cache_is_emptied_past_5000_connections(task, cached, emptied):
    relay.ROWS.update({f"other-{i}": {} for i in range(cached)})
    send(CALL)
    assert len(relay.ROWS) == (1 if emptied else cached + 1) and "conn-1" in relay.ROWS
