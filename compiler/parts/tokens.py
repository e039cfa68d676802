"""Per-user tokens (auth.mode: tokens): a DynamoDB table of token hashes the server reads.

A row is keyed by the SHA-256 of a token (hex), never the token itself; `python -m compiler tokens` writes the
rows, the server only reads them. A user's own ElevenLabs key, when stored, is protected at rest by the table's
server-side encryption (KMS), as every attribute is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from troposphere import GetAtt, Output, Ref, Template, dynamodb

from .. import naming
from ..model import Auth
from .server import Value

KEY = "hash"  # hex SHA-256 of the token
OUTPUT = "TokensTable"  # the CLI finds the table through this stack output


@dataclass(frozen=True)
class TokenStore:
    """What the server's task needs for the auth mode: the table's name, and the right to read it."""
    table_name: Value | None = None
    task_role_statements: list[dict] = field(default_factory=list)


def token_store(t: Template, auth: Auth) -> TokenStore:
    """The tokens table and its output when auth.mode is tokens; nothing otherwise."""
    if auth.mode != "tokens":
        return TokenStore()
    table = t.add_resource(dynamodb.Table(
        naming.TOKENS_TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[dynamodb.AttributeDefinition(AttributeName=KEY, AttributeType="S")],
        KeySchema=[dynamodb.KeySchema(AttributeName=KEY, KeyType="HASH")],
        SSESpecification=dynamodb.SSESpecification(SSEEnabled=True),
        # Tokens can be issued again; point-in-time recovery would cost more than the table.
        PointInTimeRecoverySpecification=dynamodb.PointInTimeRecoverySpecification(
            PointInTimeRecoveryEnabled=False),
        DeletionPolicy="Delete", UpdateReplacePolicy="Delete",
    ))
    t.add_output(Output(OUTPUT, Value=Ref(table), Description="Per-user tokens: python -m compiler tokens "
                        "issue|list|revoke <deployment>."))
    read_only = {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": GetAtt(table, "Arn")}
    return TokenStore(table_name=Ref(table), task_role_statements=[read_only])
