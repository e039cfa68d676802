"""The HTTP and JSON-RPC surface below the MCP client: body limits, malformed messages, methods, SSE mode."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.server.conftest import MAX_REQUEST_BYTES
from tests.server.harness import BEARER, TOOLS_LIST, call_tool, post_mcp, texts

MODERN = {"mcp-protocol-version": "2026-07-28"}


def rpc_error(response: httpx.Response) -> dict:
    body = response.json()
    assert body["jsonrpc"] == "2.0" and body["id"] is None
    return body["error"]


def test_oversize_body_is_refused_from_content_length(main_server, fake):
    response = post_mcp(main_server, b"x" * (MAX_REQUEST_BYTES + 1))
    assert response.status_code == 413
    assert str(MAX_REQUEST_BYTES) in rpc_error(response)["message"]


def test_oversize_chunked_body_is_refused_while_reading(main_server):
    def chunks():
        for _ in range(MAX_REQUEST_BYTES // 65536 + 2):
            yield b" " * 65536

    response = post_mcp(main_server, chunks())
    assert response.status_code == 413


def test_body_just_under_the_limit_is_served(main_server):
    padding = " " * (MAX_REQUEST_BYTES - len(TOOLS_LIST) - 10)
    response = post_mcp(main_server, TOOLS_LIST + padding)
    assert response.status_code == 200 and "text_to_speech" in response.text


@pytest.mark.parametrize("headers", [{}, MODERN], ids=["2025", "2026"])
def test_invalid_json_is_a_parse_error(main_server, headers):
    response = post_mcp(main_server, b'{"jsonrpc": "2.0", "id": 1,', headers)
    assert response.status_code == 400
    assert rpc_error(response)["code"] == -32700


@pytest.mark.parametrize(
    "body",
    [
        "[]",
        '[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]',
        '"tools/list"',
        '{"foo": 1}',
        '{"jsonrpc": "1.0", "id": 1, "method": "tools/list"}',
        '{"jsonrpc": "2.0", "id": true, "method": "tools/list"}',
        '{"jsonrpc": "2.0", "id": {"a": 1}, "method": "tools/list"}',
        '{"jsonrpc": "2.0", "id": 1, "method": 5}',
        '{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": [1]}',
        '{"jsonrpc": "2.0", "id": 1}',
    ],
)
@pytest.mark.parametrize("headers", [{}, MODERN], ids=["2025", "2026"])
def test_wrong_jsonrpc_is_an_invalid_request(main_server, body, headers):
    response = post_mcp(main_server, body, headers)
    assert response.status_code == 400
    assert rpc_error(response)["code"] == -32600


def test_unknown_method_is_method_not_found(main_server):
    response = post_mcp(main_server, '{"jsonrpc": "2.0", "id": 7, "method": "no/such"}')
    assert response.json()["error"]["code"] == -32601 and response.json()["id"] == 7


def test_notification_is_accepted(main_server):
    response = post_mcp(main_server, '{"jsonrpc": "2.0", "method": "notifications/initialized"}')
    assert response.status_code == 202


@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT"])
def test_only_post_is_allowed_on_mcp(main_server, method):
    response = httpx.request(method, main_server.mcp_url, headers={**BEARER, "accept": "text/event-stream"})
    assert response.status_code == 405 and response.headers["allow"] == "POST"


def test_wrong_content_type_is_refused(main_server):
    response = post_mcp(main_server, TOOLS_LIST, {"content-type": "text/plain"})
    assert response.status_code in (400, 415)


def test_json_mode_answers_with_json(main_server):
    response = post_mcp(main_server, TOOLS_LIST)
    assert response.headers["content-type"].startswith("application/json")
    assert "mcp-session-id" not in response.headers  # stateless: nothing to stick a client to one task


def test_sse_mode_streams_the_response(sse_server):
    response = post_mcp(sse_server, TOOLS_LIST)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    data = [line[5:] for line in response.text.splitlines() if line.startswith("data:") and line[5:].strip()]
    assert "text_to_speech" in {tool["name"] for tool in json.loads(data[-1])["result"]["tools"]}


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_sse_mode_with_the_real_client(sse_server, mode):
    result = call_tool(sse_server, "check_subscription", mode=mode)
    assert json.loads(texts(result))["tier"] == "creator"


@pytest.mark.parametrize("depth", [300, 5_000, 100_000])
@pytest.mark.parametrize("headers", [{}, MODERN], ids=["2025", "2026"])
def test_deeply_nested_json_is_a_parse_error_without_a_traceback(main_server, depth, headers):
    nested = "[" * depth + "]" * depth
    body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"check_subscription","arguments":{"a":'
    response = post_mcp(main_server, body + nested + "}}}", headers)
    assert response.status_code == 400
    assert rpc_error(response)["code"] == -32700
    assert "Traceback" not in main_server.stdout() + main_server.stderr()


ENVELOPE = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}


@pytest.mark.parametrize(
    "method, params",
    [
        ("server/discover", {}),
        ("tools/list", {}),
        ("tools/call", {"name": "check_subscription", "arguments": {}}),
    ],
)
def test_a_modern_message_without_the_era_headers_is_answered_in_its_era(main_server, method, params):
    """What a relay or a stdio bridge carries: the JSON-RPC message alone. The era comes from params._meta."""
    body = json.dumps({"jsonrpc": "2.0", "id": 3, "method": method, "params": {**params, "_meta": ENVELOPE}})
    response = post_mcp(main_server, body)
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    if method == "server/discover":
        assert "2026-07-28" in result["supportedVersions"]
    elif method == "tools/list":
        assert "text_to_speech" in {tool["name"] for tool in result["tools"]}
    else:
        assert not result.get("isError") and "creator" in result["content"][0]["text"]


def test_era_headers_a_client_sent_are_still_checked_against_the_body(main_server):
    body = json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"_meta": ENVELOPE}})
    response = post_mcp(main_server, body, {**MODERN, "mcp-method": "server/discover"})
    assert response.status_code == 400 and "mcp-method header does not match" in response.text
