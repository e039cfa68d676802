"""The auth Lambda's function-URL side, in process against moto and the fake ElevenLabs API."""

from __future__ import annotations

import json
import re
import shlex
import time

import boto3

from server import bridge, token_rows
from server.authpage import aws_lambda, bridge_clients, core
from tests.authpage_lambda.conftest import BRIDGE_URL, PAGE_ORIGIN, SIGNUP_CODE, TABLE, Clock, url_event
from tests.fakes import FAKE_API_KEY

GOOD = {"elevenlabsKey": FAKE_API_KEY, "name": "Ada Lovelace", "signupCode": SIGNUP_CODE}


def _row(token: str) -> dict | None:
    return boto3.client("dynamodb").get_item(TableName=TABLE, Key={"hash": {"S": token_rows.token_hash(token)}},
                                             ConsistentRead=True).get("Item")


def _rows() -> list[dict]:
    """The token rows (not the attempt counts sharing the table)."""
    rows = boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
    return [row for row in rows if not row["hash"]["S"].startswith(core.SHARED_COUNT_PREFIX)]


def _json(response: dict) -> dict:
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"]["Cache-Control"] == "no-store"
    return json.loads(response["body"])


def test_a_good_sign_up_stores_the_row_by_hash_with_the_users_key_and_answers_bridge_configurations(make_api):
    before = int(time.time())
    response = make_api().signup(url_event(GOOD))

    assert response["statusCode"] == 200
    body = _json(response)
    token = body["token"]
    assert re.fullmatch(r"mcpt_[A-Za-z0-9_-]{43}", token)
    row = _row(token)
    assert row["name"] == {"S": "Ada Lovelace"} and row["revoked"] == {"BOOL": False}
    assert row["elevenlabs_key"] == {"S": FAKE_API_KEY}
    assert before <= int(row["created"]["N"]) <= int(time.time())
    assert int(row["expires"]["N"]) == int(row["created"]["N"]) + 30 * 86400
    assert token not in json.dumps(row)  # the hash only
    assert body["expires"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(row["expires"]["N"])))
    assert body["connectionUrl"] == f"{BRIDGE_URL}?key={token}"  # as `tokens issue` prints it
    assert [client["title"].split(" (")[0] for client in body["clients"]] == ["Claude Code", "Cursor",
                                                                              "Claude Desktop"]
    assert FAKE_API_KEY not in response["body"]  # never returned


def test_the_configurations_run_the_bridge_with_the_token_in_its_environment(make_api):
    body = _json(make_api().signup(url_event(GOOD)))
    token, (claude_code, cursor, desktop) = body["token"], body["clients"]

    assert shlex.split(claude_code["text"]) == ["claude", "mcp", "add", "voice-ws", "-e",
                                                f"{bridge.TOKEN_ENV}={token}", "--", "elevenlabs-mcp-bridge",
                                                BRIDGE_URL]
    for client in (cursor, desktop):
        assert client["kind"] == "json"
        assert json.loads(client["text"]) == {"mcpServers": {"voice-ws": {
            "command": "elevenlabs-mcp-bridge", "args": [BRIDGE_URL], "env": {"MCP_BRIDGE_TOKEN": token}}}}


def test_the_bridge_names_match_the_bridge_itself():
    assert bridge_clients.TOKEN_ENV == bridge.TOKEN_ENV
    import tomllib
    from pathlib import Path

    scripts = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts[bridge_clients.BRIDGE_COMMAND] == "server.bridge:main"


def test_a_base64_body_is_read_like_a_plain_one(make_api):
    response = make_api().signup(url_event(GOOD, base64_body=True))
    assert response["statusCode"] == 200 and _row(_json(response)["token"]) is not None


def test_a_wrong_sign_up_code_is_403_and_stores_nothing(make_api, fake):
    calls = len(fake.requests)
    response = make_api().signup(url_event({**GOOD, "signupCode": SIGNUP_CODE + "x"}))
    assert response["statusCode"] == 403
    assert _json(response)["error"] == "wrong_signup_code"
    assert _rows() == [] and len(fake.requests) == calls  # ElevenLabs not even asked


def test_without_a_sign_up_code_secret_no_code_is_asked(make_api):
    response = make_api(MCP_SIGNUP_CODE_SECRET="").signup(url_event({**GOOD, "signupCode": ""}))
    assert response["statusCode"] == 200


def test_a_key_elevenlabs_refuses_is_401_and_stores_nothing(make_api, fake):
    response = make_api().signup(url_event({**GOOD, "elevenlabsKey": "sk_not_a_real_key"}))
    assert response["statusCode"] == 401
    assert _json(response)["error"] == "elevenlabs_refused_key"
    assert _rows() == []
    assert fake.requests[-1].path == "/v1/user" and fake.requests[-1].headers["xi-api-key"] == "<invalid>"
    assert "sk_not_a_real_key" not in response["body"]


def test_elevenlabs_failing_is_502_and_slow_is_504(make_api, fake):
    api = make_api()
    fake.add_fault(r"^/v1/user$", status=500, times=1)
    assert _json(api.signup(url_event(GOOD)))["error"] == "elevenlabs_error"
    fake.add_fault(r"^/v1/user$", reset=True, times=1)
    assert _json(api.signup(url_event(GOOD)))["error"] == "elevenlabs_unreachable"
    assert _rows() == []


def test_elevenlabs_not_answering_in_time_is_504(make_api, fake, monkeypatch):
    monkeypatch.setattr(aws_lambda, "ELEVENLABS_TIMEOUT_SECONDS", 0.2)
    fake.add_fault(r"^/v1/user$", delay=2, times=1)
    response = make_api().signup(url_event(GOOD))
    assert response["statusCode"] == 504 and _json(response)["error"] == "elevenlabs_timeout"


def test_attempts_over_the_hourly_limit_are_429_with_retry_after(make_api):
    api = make_api(MCP_AUTH_PAGE_ATTEMPTS_PER_HOUR="2")
    wrong = url_event({**GOOD, "signupCode": "guess"})
    assert [api.signup(wrong)["statusCode"] for _ in range(2)] == [403, 403]

    refused = api.signup(url_event(GOOD))  # even the right code, from the same address
    assert refused["statusCode"] == 429 and _json(refused)["error"] == "too_many_attempts"
    assert 3500 <= int(refused["headers"]["Retry-After"]) <= 3600
    assert api.signup(url_event(GOOD, source_ip="203.0.113.8"))["statusCode"] == 200  # another address


def test_an_address_outside_allowed_cidrs_is_403_before_anything_else(make_api, fake):
    calls = len(fake.requests)
    for outside in ("198.51.100.1", "2001:db9::1", "", "not-an-address"):
        response = make_api().signup(url_event(GOOD, source_ip=outside))
        assert response["statusCode"] == 403 and _json(response)["error"] == "address_not_allowed"
    assert _rows() == [] and len(fake.requests) == calls
    assert make_api().signup(url_event(GOOD, source_ip="2001:db8::5"))["statusCode"] == 200


def test_without_allowed_cidrs_every_address_is_admitted(make_api):
    assert make_api(MCP_ALLOWED_CIDRS="").signup(url_event(GOOD, source_ip="198.51.100.1"))["statusCode"] == 200


def test_bad_bodies_are_400_with_a_message(make_api):
    api = make_api(MCP_AUTH_PAGE_ATTEMPTS_PER_HOUR="100")
    for body in ("not json", "[1]", {"name": "x", "signupCode": SIGNUP_CODE},
                 {**GOOD, "name": "<script>"}, {**GOOD, "signupCode": ""}):
        response = api.signup(url_event(body))
        assert response["statusCode"] == 400, body
        assert _json(response)["error"] == "bad_request" and _json(response)["message"]
    broken = url_event(GOOD, base64_body=True)
    broken["body"] = "%%%"
    assert api.signup(broken)["statusCode"] == 400
    assert api.signup(url_event("x" * 5000))["statusCode"] == 413
    assert _rows() == []


def test_only_post_is_served(make_api):
    response = make_api().signup(url_event(GOOD, method="GET"))
    assert response["statusCode"] == 405 and _json(response)["error"] == "method_not_allowed"


def test_an_unreadable_sign_up_code_secret_refuses_with_503_not_a_traceback(make_api):
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf"
    response = make_api(MCP_SIGNUP_CODE_SECRET=missing).signup(url_event(GOOD))
    assert response["statusCode"] == 503 and _json(response)["error"] == "unavailable"


def test_a_failed_put_is_502_storage_failed(make_api, monkeypatch):
    api = make_api()

    def failing_put(**_):
        raise RuntimeError("the table is gone")

    monkeypatch.setattr(api.dynamodb, "put_item", failing_put)
    response = api.signup(url_event(GOOD))
    assert response["statusCode"] == 502 and _json(response)["error"] == "storage_failed"


def test_nothing_secret_is_logged(make_api, caplog):
    caplog.set_level("INFO", logger="authpage")
    api = make_api()
    body = _json(api.signup(url_event(GOOD)))
    api.signup(url_event({**GOOD, "signupCode": "wrong"}))
    logged = caplog.text
    assert "token_issued" in logged and "signup_refused" in logged
    for secret in (FAKE_API_KEY, SIGNUP_CODE, body["token"]):
        assert secret not in logged


def test_the_module_handler_reads_its_settings_from_the_environment(aws, fake, monkeypatch):
    from tests.authpage_lambda.conftest import lambda_environment

    for name, value in lambda_environment(fake, aws["secret_arn"]).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(aws_lambda, "_api", None)
    response = aws_lambda.handler(url_event(GOOD), None)
    assert response["statusCode"] == 200 and _row(_json(response)["token"]) is not None


def test_a_missing_setting_is_a_503_and_a_log_line_not_a_traceback(aws, fake, monkeypatch, caplog):
    from tests.authpage_lambda.conftest import lambda_environment

    for name, value in lambda_environment(fake, aws["secret_arn"]).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MCP_TOKENS_TABLE")
    monkeypatch.setattr(aws_lambda, "_api", None)
    caplog.set_level("INFO", logger="authpage")
    response = aws_lambda.handler(url_event(GOOD), None)
    assert response["statusCode"] == 503 and _json(response)["error"] == "unavailable"
    assert '"misconfigured"' in caplog.text and "MCP_TOKENS_TABLE" in caplog.text
    assert aws_lambda._api is None  # tried again on the next request


def test_a_cross_site_simple_request_is_refused_before_anything_is_counted_or_spent(make_api, fake):
    """A form or fetch(..., {mode: "no-cors"}) on another site reaches the function without a CORS preflight:
    text/plain, or another Origin, must not issue a token."""
    api = make_api(MCP_AUTH_PAGE_ATTEMPTS_PER_HOUR="1")
    calls = len(fake.requests)
    for headers, status, error in (
            ({"content-type": "text/plain", "origin": "https://evil.example"}, 403, "origin_not_allowed"),
            ({"content-type": "application/json", "origin": "https://evil.example"}, 403, "origin_not_allowed"),
            ({"content-type": "application/json"}, 403, "origin_not_allowed"),
            ({"content-type": "text/plain;charset=UTF-8", "origin": PAGE_ORIGIN}, 415, "unsupported_media_type"),
            ({"origin": PAGE_ORIGIN}, 415, "unsupported_media_type")):
        response = api.signup(url_event(GOOD, headers=headers))
        assert (response["statusCode"], _json(response)["error"]) == (status, error), headers
    assert _rows() == [] and len(fake.requests) == calls
    admitted = api.signup(url_event(GOOD, headers={"content-type": "application/json; charset=utf-8",
                                                   "origin": PAGE_ORIGIN + "/"}))
    assert admitted["statusCode"] == 200  # the refusals above were not counted against the address


def test_a_rotated_sign_up_code_replaces_the_old_one_within_the_cache_bound_on_a_warm_instance(make_api, aws):
    """docs/auth.md's rotation: put-secret-value, then (websocket) nothing to restart: a warm instance reads the
    secret again once its copy is SIGNUP_CODE_CACHE_SECONDS old."""
    clock = Clock()
    api = make_api(clock=clock, MCP_AUTH_PAGE_ATTEMPTS_PER_HOUR="100")
    assert api.signup(url_event(GOOD))["statusCode"] == 200  # warm: the code is cached
    boto3.client("secretsmanager").put_secret_value(SecretId=aws["secret_arn"], SecretString="rotated-code-2027")
    clock.now += aws_lambda.SIGNUP_CODE_CACHE_SECONDS - 1
    assert api.signup(url_event(GOOD))["statusCode"] == 200  # still within the bound
    clock.now += 1
    old = api.signup(url_event(GOOD))
    assert old["statusCode"] == 403 and _json(old)["error"] == "wrong_signup_code"
    assert api.signup(url_event({**GOOD, "signupCode": "rotated-code-2027"}))["statusCode"] == 200
    assert aws_lambda.SIGNUP_CODE_CACHE_SECONDS <= 60


def test_attempts_are_counted_across_function_instances_in_the_tokens_table(make_api):
    """Lambda runs several instances at once: the per-instance limit alone would multiply the attempts."""
    first, second = (make_api(MCP_AUTH_PAGE_ATTEMPTS_PER_HOUR="2") for _ in range(2))
    wrong = url_event({**GOOD, "signupCode": "guess"}, source_ip="2001:db8::1")
    assert first.signup(wrong)["statusCode"] == 403
    assert second.signup(url_event({**GOOD, "signupCode": "guess"}, source_ip="2001:db8::2"))["statusCode"] == 403
    refused = first.signup(url_event(GOOD, source_ip="2001:db8::3"))  # the same /64, a third attempt
    assert refused["statusCode"] == 429 and _json(refused)["error"] == "too_many_attempts"
    assert 1 <= int(refused["headers"]["Retry-After"]) <= 3600
    assert first.signup(url_event(GOOD, source_ip="2001:db8:0:1::1"))["statusCode"] == 200  # another /64
    hour = int(time.time() // 3600)
    count = boto3.client("dynamodb").get_item(TableName=TABLE, Key={"hash": {"S": f"attempts#2001:db8::/64#{hour}"}})
    assert count["Item"]["attempts"] == {"N": "2"} and count["Item"]["purge_at"] == {"N": str((hour + 2) * 3600)}


def test_attempts_that_cannot_be_counted_are_refused_not_admitted(make_api):
    response = make_api(MCP_TOKENS_TABLE="no-such-table").signup(url_event(GOOD))
    assert response["statusCode"] == 503 and _json(response)["error"] == "unavailable"


def test_the_count_rows_match_the_tables_ttl_and_the_roles_condition():
    from compiler.parts import tokens

    assert (core.SHARED_COUNT_PREFIX, core.SHARED_COUNT_PURGE) == (tokens.SHARED_COUNT_PREFIX,
                                                                   tokens.SHARED_COUNT_PURGE)
