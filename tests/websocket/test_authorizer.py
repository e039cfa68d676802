"""The $connect authorizer: token compared in constant time, source address against the allow-list."""

from __future__ import annotations

import pytest

from server.websocket import authorizer

KEY = "a-server-key-0123456789abcdef"
ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/mcp/$connect"


@pytest.fixture(autouse=True)
def environment(monkeypatch):
    monkeypatch.setenv("MCP_SERVER_API_KEY", KEY)
    monkeypatch.setenv("ALLOWED_CIDRS", "")
    monkeypatch.delenv("AUTH_MODE", raising=False)


def authorize(token: str | None, ip: str = "198.51.100.7") -> dict:
    event = {"type": "REQUEST", "methodArn": ARN, "requestContext": {"identity": {"sourceIp": ip}},
             "queryStringParameters": None if token is None else {"token": token}}
    return authorizer.handler(event, None)


def effect(result: dict) -> str:
    [statement] = result["policyDocument"]["Statement"]
    assert statement["Resource"] == ARN and statement["Action"] == "execute-api:Invoke"
    return statement["Effect"]


def test_the_key_is_allowed_and_names_the_principal():
    result = authorize(KEY)
    assert effect(result) == "Allow"
    assert result["principalId"] == "api-key" and result["context"] == {"principal": "api-key"}


@pytest.mark.parametrize("token", [None, "", KEY[:-1], KEY + "x", KEY.upper(), "é" * 8])
def test_anything_else_is_denied(token):
    result = authorize(token)
    assert effect(result) == "Deny" and result["context"] == {}


@pytest.mark.parametrize("cidrs, ip, expected", [
    ("203.0.113.0/24", "203.0.113.9", "Allow"),
    ("203.0.113.0/24", "203.0.114.9", "Deny"),
    ("10.0.0.0/8,203.0.113.0/24", "203.0.113.200", "Allow"),
    ("2001:db8::/32", "2001:db8::1", "Allow"),
    ("2001:db8::/32", "203.0.113.9", "Deny"),
    ("203.0.113.0/24", "not-an-address", "Deny"),
])
def test_the_source_address_must_be_in_the_allow_list(monkeypatch, cidrs, ip, expected):
    monkeypatch.setenv("ALLOWED_CIDRS", cidrs)
    assert effect(authorize(KEY, ip)) == expected


def test_modes_without_a_token_store_admit_nobody_yet(monkeypatch):
    monkeypatch.setenv("AUTH_MODE", "tokens")
    assert effect(authorize(KEY)) == "Deny"


def test_denials_are_logged_with_the_reason_and_never_a_token(monkeypatch, capsys):
    authorize("wrong-token-that-must-not-appear")
    monkeypatch.setenv("ALLOWED_CIDRS", "203.0.113.0/24")
    authorize(KEY, "192.0.2.1")
    out = capsys.readouterr().out
    assert '"reason": "bad token"' in out and '"reason": "source IP not allowed"' in out
    assert "wrong-token-that-must-not-appear" not in out and KEY not in out
