"""The $connect authorizer: token compared in constant time, source address against the allow-list."""

from __future__ import annotations

import hashlib
import json
import os
import time

import boto3
import pytest

from server.auth import relay_ticket_key, valid_relay_ticket
from server.websocket import authorizer
from tests.localaws import free_port
from tests.server.harness import SERVER_KEY
from tests.websocket.chain import (SECRET, TOKENS_TABLE, apply_environment, create_secret, create_tokens_table,
                                   handler_environment, put_token)
from tests.websocket.on_demand_stand_ins import LambdaStandIn

KEY = SERVER_KEY  # in the stack's secret (moto), never in the function's environment
ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/mcp/$connect"


@pytest.fixture(autouse=True)
def environment(moto, monkeypatch):
    """Mode api-key as the template configures it: the secret's ARN, no key."""
    moto.reset()
    create_secret(moto.endpoint)
    apply_environment(monkeypatch, handler_environment(moto.endpoint, 8080))
    monkeypatch.delenv("AUTH_MODE", raising=False)
    return moto.endpoint


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
    assert result["principalId"] == "api-key" and set(result["context"]) == {"principal", "ticket"}
    assert result["context"]["principal"] == "api-key"


def test_the_ticket_is_what_the_server_accepts_from_the_relay_and_no_client_key():
    """The contract with server/auth.py: signed over '' (no user) in mode api-key, valid for 2 hours."""
    ticket = authorize(KEY)["context"]["ticket"]
    assert ticket != KEY and KEY not in ticket
    key = relay_ticket_key(KEY)
    now = time.time()
    assert valid_relay_ticket(key, ticket, "", now)
    assert valid_relay_ticket(key, ticket, "", now + 7200) and not valid_relay_ticket(key, ticket, "", now + 7400)
    assert not valid_relay_ticket(key, ticket, "ab" * 32, now), "bound to the hash it was signed for"
    assert not valid_relay_ticket(relay_ticket_key(KEY + "x"), ticket, "", now), "bound to the server key"


def test_the_key_is_read_from_the_secret_and_a_rotation_reaches_warm_instances(environment, monkeypatch):
    assert "MCP_SERVER_API_KEY" not in os.environ
    assert effect(authorize(KEY)) == "Allow"
    boto3.client("secretsmanager", endpoint_url=environment, region_name="us-east-1").put_secret_value(
        SecretId=SECRET, SecretString=json.dumps({"MCP_SERVER_API_KEY": "rotated-key-0123456789abcdef"}))
    assert effect(authorize(KEY)) == "Allow", "cached for up to 5 minutes"
    period = int(time.time() // 300)
    monkeypatch.setattr(authorizer.time, "time", lambda: (period + 1) * 300 + 1.0)
    assert effect(authorize(KEY)) == "Deny" and effect(authorize("rotated-key-0123456789abcdef")) == "Allow"


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


@pytest.fixture
def tokens_mode(moto, monkeypatch):
    """Mode tokens as the template configures it (TOKENS_TABLE and the secret's ARN), rows in moto."""
    create_tokens_table(moto.endpoint)
    apply_environment(monkeypatch, handler_environment(moto.endpoint, 8080, AUTH_MODE="tokens",
                                                       TOKENS_TABLE=TOKENS_TABLE))
    return moto.endpoint


def test_a_valid_token_is_allowed_as_its_user_with_its_hash(tokens_mode):
    token = put_token(tokens_mode, "alice", expires_days=30, elevenlabs_key="sk_alice_own_key")
    result = authorize(token)
    assert effect(result) == "Allow" and result["principalId"] == "token:alice"
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert {k: v for k, v in result["context"].items() if k != "ticket"} == {"principal": "token:alice",
                                                                           "tokenHash": digest}
    assert valid_relay_ticket(relay_ticket_key(KEY), result["context"]["ticket"], digest, time.time())
    assert "sk_alice_own_key" not in json.dumps(result)


@pytest.mark.parametrize("row", [{"revoked": True}, {"expires_days": 1, "days_old": 2}], ids=["revoked", "expired"])
def test_revoked_and_expired_tokens_are_denied(tokens_mode, row, capsys):
    token = put_token(tokens_mode, "bob", **row)
    assert effect(authorize(token)) == "Deny"
    assert '"reason": "bad token"' in capsys.readouterr().out


@pytest.mark.parametrize("token", [None, "", "mcpt_never_issued", KEY], ids=["none", "empty", "unknown", "server-key"])
def test_unknown_tokens_and_the_server_key_are_denied(tokens_mode, token):
    put_token(tokens_mode, "carol")
    assert effect(authorize(token)) == "Deny"


def test_the_allow_list_holds_in_mode_tokens_too(tokens_mode, monkeypatch):
    token = put_token(tokens_mode, "dave")
    monkeypatch.setenv("ALLOWED_CIDRS", "203.0.113.0/24")
    assert effect(authorize(token, "203.0.113.9")) == "Allow"
    assert effect(authorize(token, "198.51.100.7")) == "Deny"


def test_an_unreachable_table_is_an_error_not_a_deny_and_says_why_without_the_token(tokens_mode, monkeypatch,
                                                                                      capsys):
    """A Deny would tell the client its token is bad; failing makes API Gateway answer 500, worth a retry."""
    token = put_token(tokens_mode, "erin")
    apply_environment(monkeypatch, {"AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{free_port()}",
                                    "AWS_MAX_ATTEMPTS": "1"})
    with pytest.raises(RuntimeError, match="^token lookup failed$") as raised:
        authorize(token)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    out = capsys.readouterr().out
    assert json.loads(out.strip().splitlines()[-1]) == {"event": "lookup_failed", "sourceIp": "198.51.100.7",
                                                        "error": "EndpointConnectionError"}
    assert token not in out


def test_denials_are_logged_with_the_reason_and_never_a_token(monkeypatch, capsys):
    authorize("wrong-token-that-must-not-appear")
    monkeypatch.setenv("ALLOWED_CIDRS", "203.0.113.0/24")
    authorize(KEY, "192.0.2.1")
    out = capsys.readouterr().out
    assert '"reason": "bad token"' in out and '"reason": "source IP not allowed"' in out
    assert "wrong-token-that-must-not-appear" not in out and KEY not in out


def test_on_demand_a_failed_wake_is_logged_and_the_connection_still_allowed(monkeypatch, capsys):
    # no Lambda listens there: the asynchronous invoke fails at once
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("WAKE_FUNCTION", "voice-ws-on-demand")
    authorizer.client.cache_clear()
    assert effect(authorize(KEY)) == "Allow"
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {"event": "wake_failed", "error": "EndpointConnectionError"} in logged
    assert effect(authorize("wrong-key-0123456789")) == "Deny"  # a refused connection wakes nothing
    assert len([line for line in capsys.readouterr().out.splitlines() if "wake_failed" in line]) == 0


def test_on_demand_an_admitted_connection_invokes_the_wake_function_asynchronously(monkeypatch):
    """As Lambda's Invoke API receives it: the deployment's function, InvocationType Event (the connection does
    not wait for the wake), and the payload the on-demand handler reads as a wake."""
    with LambdaStandIn(handler=lambda payload, context: {}) as functions:  # what runs is not this test's concern
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", functions.endpoint)
        monkeypatch.setenv("WAKE_FUNCTION", "voice-ws-on-demand")
        authorizer.client.cache_clear()
        assert effect(authorize(KEY)) == "Allow"
    assert functions.invocations == [("/2015-03-31/functions/voice-ws-on-demand/invocations", "Event", {"wake": True})]


def test_the_row_is_read_strongly_consistent_so_a_revocation_counts_at_once(tokens_mode):
    """An eventually consistent read may return the row from before `tokens revoke`: the read must ask for
    ConsistentRead (seen on the real client's request, as sent to DynamoDB)."""
    token = put_token(tokens_mode, "frank")
    sent = []
    dynamodb = authorizer.client("dynamodb")
    dynamodb.meta.events.register("before-call.dynamodb.GetItem", lambda params, **_: sent.append(params["body"]))
    assert effect(authorize(token)) == "Allow"
    [body] = [json.loads(b) for b in sent]
    assert body["ConsistentRead"] is True and body["TableName"] == TOKENS_TABLE
    assert body["Key"] == {"hash": {"S": hashlib.sha256(token.encode()).hexdigest()}}


@pytest.mark.parametrize("attributes, principal", [({"name": {"S": "gina"}}, "token:gina"),
                                                    ({"revoked": {"BOOL": False}}, "token:?")],
                         ids=["no-revoked-or-expires", "no-name"])
def test_a_row_missing_optional_attributes_is_valid_not_an_error(tokens_mode, attributes, principal):
    """No `revoked` is not revoked, no `expires` never expires, no `name` is '?' (a row of the hash alone reads as
    no row: the projection leaves nothing)."""
    from tests.websocket.chain import dynamodb

    token = "mcpt_minimal_row_token"
    digest = hashlib.sha256(token.encode()).hexdigest()
    dynamodb(tokens_mode).put_item(TableName=TOKENS_TABLE, Item={"hash": {"S": digest}, **attributes})
    result = authorize(token)
    assert effect(result) == "Allow" and result["principalId"] == principal


def test_a_token_is_expired_from_its_expiry_second_on(tokens_mode, monkeypatch):
    from tests.websocket.chain import dynamodb

    token = "mcpt_expiring_token"
    dynamodb(tokens_mode).put_item(TableName=TOKENS_TABLE, Item={
        "hash": {"S": hashlib.sha256(token.encode()).hexdigest()}, "name": {"S": "hal"},
        "expires": {"N": "1900000000"}, "revoked": {"BOOL": False}})
    monkeypatch.setattr(authorizer.time, "time", lambda: 1_899_999_999.5)
    assert effect(authorize(token)) == "Allow"
    monkeypatch.setattr(authorizer.time, "time", lambda: 1_900_000_000.0)
    assert effect(authorize(token)) == "Deny"
