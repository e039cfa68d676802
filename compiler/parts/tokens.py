"""Per-user tokens (auth.mode: tokens): a DynamoDB table of token hashes the server reads.

A row is keyed by the SHA-256 of a token (hex), never the token itself; `python -m compiler tokens` writes the
rows, and so does the auth page when there is one; otherwise the server only reads them. A user's own ElevenLabs
key, when stored, is protected at rest by the table's server-side encryption (KMS), as every attribute is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from troposphere import GetAtt, Output, Ref, Template, dynamodb

from .. import naming
from ..model import Auth
from . import policies
from .server import Value

KEY = "hash"  # hex SHA-256 of the token
# The auth page's shared attempt counts (server/authpage/core.py, shared_count): rows keyed so, deleted by TTL.
SHARED_COUNT_PREFIX = "attempts#"
SHARED_COUNT_PURGE = "purge_at"
OUTPUT = "TokensTable"  # the CLI finds the table through this stack output


@dataclass(frozen=True)
class TokenStore:
    """What the server's task needs for the auth mode: the table's name, and the right to read it (and to add rows,
    with the auth page)."""
    table_name: Value | None = None
    task_role_statements: list[dict] = field(default_factory=list)


def token_store(t: Template, auth: Auth, *, server_issues: bool = False) -> TokenStore:
    """The tokens table and its output when auth.mode is tokens; nothing otherwise. server_issues: the server
    serves the auth page and adds rows (alb, nat-instance; on websocket a Lambda does)."""
    if auth.mode != "tokens":
        return TokenStore()
    shared_counts = {}
    if auth.auth_page is not None:  # the page's attempt counts expire (server/authpage/core.py: shared_count)
        shared_counts["TimeToLiveSpecification"] = dynamodb.TimeToLiveSpecification(
            AttributeName=SHARED_COUNT_PURGE, Enabled=True)
    table = t.add_resource(dynamodb.Table(
        naming.TOKENS_TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[dynamodb.AttributeDefinition(AttributeName=KEY, AttributeType="S")],
        KeySchema=[dynamodb.KeySchema(AttributeName=KEY, KeyType="HASH")],
        SSESpecification=dynamodb.SSESpecification(SSEEnabled=True),
        # Point-in-time recovery undoes a bad write or delete (a revoke gone wrong) for $0.20 per GB-month of table:
        # a fraction of a cent for a table of tokens.
        PointInTimeRecoverySpecification=dynamodb.PointInTimeRecoverySpecification(
            PointInTimeRecoveryEnabled=True),
        # Every issued token and every user's stored ElevenLabs key: nothing the operator can recreate. Switching
        # auth.mode away (or deleting the stack) leaves the table behind; docs/updates.md says how to remove it.
        DeletionProtectionEnabled=True,
        DeletionPolicy="Retain", UpdateReplacePolicy="Retain",
        **shared_counts,
    ))
    t.add_output(Output(OUTPUT, Value=Ref(table), Description="Per-user tokens: python -m compiler tokens "
                        "issue|list|revoke <deployment>."))
    statements = [policies.allow(task_actions(server_issues), GetAtt(table, "Arn"))]
    if server_issues:
        statements.append(count_attempts(table))
    return TokenStore(table_name=Ref(table), task_role_statements=statements)


def count_attempts(table: dynamodb.Table) -> dict:
    """The auth page counts sign-up attempts in rows of the tokens table keyed `attempts#...`: UpdateItem on those
    rows only (dynamodb:LeadingKeys), never on a token's row (which would allow un-revoking it)."""
    return {**policies.allow(["dynamodb:UpdateItem"], GetAtt(table, "Arn")),
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{SHARED_COUNT_PREFIX}*"]}}}


def task_actions(server_issues: bool) -> list[str]:
    """The server reads rows; with the auth page it also adds them. IAM has no condition key for a request's
    ConditionExpression, so the role cannot be limited to creating rows: the server always sends
    attribute_not_exists(hash), and overwriting a row would need its key, the SHA-256 of a token."""
    return ["dynamodb:GetItem", "dynamodb:PutItem"] if server_issues else ["dynamodb:GetItem"]
