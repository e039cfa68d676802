"""`python -m compiler tokens issue|list|revoke` end to end: the real CLI (boto3) against a moto server holding a
stack with a TokensTable output."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.localaws import MotoServer, aws
from tests.tokens_stack import ENDPOINT_URL, create_tokens_stack, token_of, tokens_cli

STACK = "voice"


@pytest.fixture(scope="module")
def moto():
    with MotoServer() as server:
        yield server


@pytest.fixture
def stack(moto):
    moto.reset()
    return create_tokens_stack(moto.endpoint, STACK)


def rows(moto, table: str) -> list[dict]:
    return aws(moto.endpoint, "dynamodb", "scan", "--table-name", table).json["Items"]


def issue(moto, *args: str, env=None) -> str:
    result = tokens_cli(moto.endpoint, "issue", STACK, *args, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_issue_prints_the_connection_url_once_and_stores_only_the_hash(moto, stack):
    url = issue(moto, "--name", "alice", "--expires-days", "7", "--elevenlabs-key-env", "ALICE_KEY",
                env={"ALICE_KEY": "sk_alice_own_key_123"})
    assert url.startswith(f"{ENDPOINT_URL}?key=mcpt_")
    token = token_of(url)
    [row] = rows(moto, stack["TokensTable"])
    assert row["hash"]["S"] == hashlib.sha256(token.encode()).hexdigest()
    assert row["name"]["S"] == "alice" and row["revoked"]["BOOL"] is False
    assert int(row["expires"]["N"]) - int(row["created"]["N"]) == 7 * 86400
    assert row["elevenlabs_key"]["S"] == "sk_alice_own_key_123"
    assert token not in json.dumps(row), "the token itself must never be stored"


def test_issue_expires_in_90_days_unless_told_and_0_is_never(moto, stack):
    issue(moto, "--name", "default")
    issue(moto, "--name", "forever", "--expires-days", "0")
    by_name = {row["name"]["S"]: row for row in rows(moto, stack["TokensTable"])}
    default = by_name["default"]
    assert int(default["expires"]["N"]) - int(default["created"]["N"]) == 90 * 86400
    assert "expires" not in by_name["forever"]


def test_list_shows_names_and_hash_prefixes_never_tokens_or_keys(moto, stack):
    alice = token_of(issue(moto, "--name", "alice", "--expires-days", "0", "--elevenlabs-key-env", "K",
                           env={"K": "sk_secret_of_alice"}))
    issue(moto, "--name", "bob", "--expires-days", "1")
    result = tokens_cli(moto.endpoint, "list", STACK)
    assert result.returncode == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    assert header.split() == ["NAME", "CREATED", "EXPIRES", "REVOKED", "HASH"]
    by_name = {line.split()[0]: line for line in lines}
    assert sorted(by_name) == ["alice", "bob"]
    assert "never" in by_name["alice"]
    assert by_name["alice"].split()[-1] == hashlib.sha256(alice.encode()).hexdigest()[:12]
    assert "never" not in by_name["bob"] and by_name["bob"].split()[-2] == "no"
    assert alice not in result.stdout and "sk_secret_of_alice" not in result.stdout + result.stderr


def test_the_auth_pages_attempt_counts_in_the_table_are_not_tokens(moto, stack):
    issue(moto, "--name", "alice")
    aws(moto.endpoint, "dynamodb", "put-item", "--table-name", stack["TokensTable"], "--item",
        json.dumps({"hash": {"S": "attempts#203.0.113.7#499000"}, "attempts": {"N": "3"}, "purge_at": {"N": "1"}}))
    listed = tokens_cli(moto.endpoint, "list", STACK)
    assert listed.returncode == 0 and [line.split()[0] for line in listed.stdout.splitlines()[1:]] == ["alice"]
    refused = tokens_cli(moto.endpoint, "revoke", STACK, "--hash", "attempts#203")
    assert refused.returncode == 6 and "no token with a hash starting" in refused.stderr  # UNKNOWN_NAME


def test_revoke_by_name_and_by_hash_prefix(moto, stack):
    issue(moto, "--name", "alice")
    bob = token_of(issue(moto, "--name", "bob"))
    by_name = tokens_cli(moto.endpoint, "revoke", STACK, "alice")
    assert by_name.returncode == 0 and "revoked 'alice'" in by_name.stdout and "within 60 s" in by_name.stdout
    by_hash = tokens_cli(moto.endpoint, "revoke", STACK, hashlib.sha256(bob.encode()).hexdigest()[:8])
    assert by_hash.returncode == 0 and "revoked 'bob'" in by_hash.stdout
    assert all(row["revoked"]["BOOL"] for row in rows(moto, stack["TokensTable"]))


def test_revoke_refuses_ambiguous_and_unknown_targets(moto, stack):
    issue(moto, "--name", "shared")
    issue(moto, "--name", "shared")
    ambiguous = tokens_cli(moto.endpoint, "revoke", STACK, "shared")
    assert ambiguous.returncode == 2 and "matches 2 tokens" in ambiguous.stderr
    unknown = tokens_cli(moto.endpoint, "revoke", STACK, "nobody")
    assert unknown.returncode == 6 and "no token named 'nobody'" in unknown.stderr  # UNKNOWN_NAME
    assert not any(row["revoked"]["BOOL"] for row in rows(moto, stack["TokensTable"]))


def test_revoke_cannot_be_steered_to_a_decoy_named_after_a_hash_prefix(moto, stack):
    victim = token_of(issue(moto, "--name", "victim"))
    prefix = hashlib.sha256(victim.encode()).hexdigest()[:8]
    issue(moto, "--name", prefix)  # the auth page lets a user choose this name
    steered = tokens_cli(moto.endpoint, "revoke", STACK, prefix)
    assert steered.returncode == 2 and "both the name of 1 token(s) and a prefix of the hash of 1" in steered.stderr
    assert not any(row["revoked"]["BOOL"] for row in rows(moto, stack["TokensTable"]))
    by_hash = tokens_cli(moto.endpoint, "revoke", STACK, "--hash", prefix)
    assert by_hash.returncode == 0 and "revoked 'victim'" in by_hash.stdout
    revoked = {row["name"]["S"]: row["revoked"]["BOOL"] for row in rows(moto, stack["TokensTable"])}
    assert revoked == {"victim": True, prefix: False}
    by_name = tokens_cli(moto.endpoint, "revoke", STACK, "--name", prefix)
    assert by_name.returncode == 0 and f"revoked '{prefix}'" in by_name.stdout


@pytest.mark.parametrize("args, message, code", [
    (("issue", "absent", "--name", "x"), "no stack 'absent'", 6),  # UNKNOWN_NAME
    (("issue", STACK), "issue needs --name", 2),
    (("issue", STACK, "--name", "x", "--expires-days", "-1"), "--expires-days must be 0 (never expires) or more", 2),
    (("revoke", STACK), "revoke needs one of", 2),
    (("revoke", STACK, "alice", "--hash", "abcdef"), "revoke needs one of", 2),
    (("revoke", STACK, "--hash", "abc"), "--hash needs at least 6 characters", 2),
    (("issue", STACK, "--name", "x", "--elevenlabs-key-env", "UNSET_VAR_7"), "UNSET_VAR_7 is empty or not set", 2),
])
def test_bad_input_is_one_clear_line(moto, stack, args, message, code):
    result = tokens_cli(moto.endpoint, *args)
    assert result.returncode == code and message in result.stderr and "Traceback" not in result.stderr
    assert rows(moto, stack["TokensTable"]) == []


def test_a_stack_without_tokens_is_refused(moto, stack):
    aws(moto.endpoint, "cloudformation", "create-stack", "--stack-name", "apikey",
        "--template-body", json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}))
    result = tokens_cli(moto.endpoint, "list", "apikey")
    assert result.returncode == 2 and "has no TokensTable output: deploy it with auth.mode: tokens" in result.stderr
