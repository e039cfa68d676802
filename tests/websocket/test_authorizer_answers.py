"""The $connect authorizer's answers exactly as API Gateway reads them (the whole policy document and context),
its log lines exactly, its ticket's lifetime and the allow-list's parsing: one secret in moto for the module, so
each test is quick (test_authorizer.py covers the secret's reading, rotation and the tokens table)."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from server.auth import relay_ticket_key, valid_relay_ticket
from server.websocket import authorizer
from tests.server.harness import SERVER_KEY
from tests.websocket.chain import SECRET, apply_environment, handler_environment

ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/mcp/$connect"
IP = "198.51.100.7"


@pytest.fixture(scope="module")
def secret_in_moto(moto):
    moto.reset()
    boto3.client("secretsmanager", endpoint_url=moto.endpoint, region_name="us-east-1",
                 aws_access_key_id="testing", aws_secret_access_key="testing").create_secret(
        Name=SECRET, SecretString=json.dumps({"MCP_SERVER_API_KEY": SERVER_KEY}))
    return moto.endpoint


@pytest.fixture(autouse=True)
def environment(secret_in_moto, monkeypatch):
    apply_environment(monkeypatch, handler_environment(secret_in_moto, 8080))
    monkeypatch.delenv("AUTH_MODE", raising=False)


def authorize(token, ip=IP, **event):
    return authorizer.handler({"type": "REQUEST", "methodArn": ARN, "requestContext": {"identity": {"sourceIp": ip}},
                               "queryStringParameters": None if token is None else {"token": token}, **event}, None)


def document(effect):
    return {"Version": "2012-10-17", "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": ARN}]}


def test_an_allow_is_the_whole_answer_api_gateway_expects():
    result = authorize(SERVER_KEY)
    ticket = result["context"]["ticket"]
    assert result == {"principalId": "api-key", "context": {"principal": "api-key", "ticket": ticket},
                      "policyDocument": document("Allow")}


@pytest.mark.parametrize("token, ip, reason", [("wrong", IP, "bad token"), (None, IP, "bad token"),
                                               (SERVER_KEY, "203.0.113.9", "source IP not allowed")])
def test_a_deny_is_the_whole_answer_and_one_log_line(monkeypatch, capsys, token, ip, reason):
    monkeypatch.setenv("ALLOWED_CIDRS", "198.51.100.0/24")
    assert authorize(token, ip) == {"principalId": "anonymous", "context": {}, "policyDocument": document("Deny")}
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == \
        [{"event": "denied", "sourceIp": ip, "reason": reason}]


def test_an_outside_address_is_denied_before_the_secret_is_read(monkeypatch):
    monkeypatch.setenv("ALLOWED_CIDRS", "198.51.100.0/24")
    monkeypatch.setenv("SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:none")
    assert authorize(SERVER_KEY, "203.0.113.9")["principalId"] == "anonymous"


def test_no_token_is_denied_without_reading_the_secret(monkeypatch):
    monkeypatch.setenv("SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:none")
    assert authorize("")["principalId"] == "anonymous" and authorize(None)["principalId"] == "anonymous"
    assert authorize(None, queryStringParameters={})["principalId"] == "anonymous"


def test_the_ticket_lasts_7300_seconds_and_is_signed_for_its_hash(monkeypatch):
    monkeypatch.setattr(authorizer.time, "time", lambda: 1_900_000_000.75)
    ticket = authorizer.ticket("ab" * 32)
    prefix, expires, mac = ticket.split(".")
    assert (prefix, expires, len(mac)) == ("relay", "1900007300", 64)
    key = relay_ticket_key(SERVER_KEY)
    assert valid_relay_ticket(key, ticket, "ab" * 32, 1_900_007_299) and not valid_relay_ticket(key, ticket, "", 0)


def test_the_secret_is_read_once_per_5_minute_period(monkeypatch):
    reads = []
    monkeypatch.setattr(authorizer, "secret", lambda period: reads.append(period) or {"MCP_SERVER_API_KEY": "k"})
    for now in (600.0, 899.9, 900.0):
        monkeypatch.setattr(authorizer.time, "time", lambda now=now: now)
        assert authorizer.server_key() == "k"
    assert reads == [2, 2, 3]


@pytest.mark.parametrize("cidrs, ip, admitted", [
    ("", "anything", True), (",", "203.0.113.9", True),
    ("198.51.100.0/24,,203.0.113.0/24", "203.0.113.9", True), ("198.51.100.0/24,", "203.0.113.9", False),
    ("198.51.100.0/24", "", False), ("198.51.100.0/24", "198.51.100.7 ", False),
])
def test_the_allow_list_is_comma_separated_and_empty_entries_are_ignored(monkeypatch, cidrs, ip, admitted):
    monkeypatch.setenv("ALLOWED_CIDRS", cidrs)
    assert authorizer.allowed(ip) is admitted


def test_without_the_variable_everyone_is_admitted(monkeypatch):
    monkeypatch.delenv("ALLOWED_CIDRS")
    assert authorizer.allowed("203.0.113.9") is True
