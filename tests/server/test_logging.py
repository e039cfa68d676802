"""Logs are JSON lines with one access record per request, and never contain a key."""

from __future__ import annotations

import logging

import httpx

from server.logs import JsonFormatter
from tests.server.harness import ELEVENLABS_KEY, SERVER_KEY, TOOLS_LIST, call_tool, post_mcp


def test_no_key_in_logs_whatever_the_credential_form(main_server, fake):
    call_tool(main_server, "list_models", headers={"X-API-Key": SERVER_KEY})
    call_tool(main_server, "check_subscription")
    httpx.post(f"{main_server.mcp_url}?key={SERVER_KEY}&trace=1", content=TOOLS_LIST,
               headers={"content-type": "application/json", "accept": "application/json"})
    httpx.post(f"{main_server.mcp_url}?key=wrong-guess-123456", content=TOOLS_LIST)
    fake.add_fault(r"^/v1/models$", status=401, times=1)
    call_tool(main_server, "list_models")  # an upstream key rejection is logged as a tool failure

    everything = main_server.stdout() + main_server.stderr()
    for secret in (SERVER_KEY, ELEVENLABS_KEY, "wrong-guess-123456", "key="):
        assert secret not in everything
    assert "Traceback" not in everything


def test_one_access_record_per_request_with_its_fields(main_server):
    before = len(main_server.access_records())
    post_mcp(main_server, TOOLS_LIST)
    call_tool(main_server, "get_agent", {"agent_id": "agent_fake_0001"})  # initialize, initialized, call (+ GET)
    httpx.get(f"{main_server.base_url}/health")
    httpx.post(main_server.mcp_url, content=TOOLS_LIST)  # no key: 401

    records = main_server.access_records()[before:]
    assert records[0]["rpc_method"] == "tools/list" and records[0]["status"] == 200
    [tool_call] = [r for r in records if r["rpc_method"] == "tools/call"]
    assert tool_call["tool"] == "get_agent" and tool_call["principal"] == "api-key"
    assert records[-2]["path"] == "/health" and records[-2]["status"] == 200
    assert records[-1]["status"] == 401 and records[-1]["principal"] is None
    for record in records:
        assert {"ts", "level", "method", "path", "status", "duration_ms", "client", "tool"} <= record.keys()
        assert record["duration_ms"] >= 0


def test_formatter_redacts_secrets_from_any_logger():
    formatter = JsonFormatter(["s3cr3t-value", 'quo"ted-secret'])
    arguments = ("s3cr3t-value", 'quo"ted-secret')
    record = logging.LogRecord("lib", logging.ERROR, __file__, 1, "header was %s / %s", arguments, None)
    line = formatter.format(record)
    assert "s3cr3t" not in line and "quo" not in line
    assert line.count("[redacted]") == 2
