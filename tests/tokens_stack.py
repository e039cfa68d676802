"""A stand-in for a deployed `auth.mode: tokens` stack in moto, and the real tokens CLI run against it.

The stack is the smallest template with what the CLI reads: a TokensTable shaped like compiler/parts/tokens.py
builds it, a TokensTable output naming it and an EndpointUrl output.
"""

from __future__ import annotations

import json
import subprocess
import sys

from compiler.parts import tokens as tokens_part
from tests.localaws import aws, aws_env

ENDPOINT_URL = "https://mcp.example.com/mcp"  # only printed, never contacted
TEMPLATE = {
    "Resources": {"TokensTable": {"Type": "AWS::DynamoDB::Table", "Properties": {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": tokens_part.KEY, "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": tokens_part.KEY, "KeyType": "HASH"}],
        "SSESpecification": {"SSEEnabled": True}}}},
    "Outputs": {tokens_part.OUTPUT: {"Value": {"Ref": "TokensTable"}}, "EndpointUrl": {"Value": ENDPOINT_URL}},
}


def create_tokens_stack(endpoint: str, name: str) -> dict[str, str]:
    """Create the stack (create-stack keeps outputs in moto; deploy would drop them); return its outputs."""
    aws(endpoint, "cloudformation", "create-stack", "--stack-name", name, "--template-body", json.dumps(TEMPLATE))
    stack = aws(endpoint, "cloudformation", "describe-stacks", "--stack-name", name).json["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def tokens_cli(endpoint: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m compiler tokens ...` as a real process against `endpoint`."""
    return subprocess.run([sys.executable, "-m", "compiler", "tokens", *args],
                          env={**aws_env(endpoint, "us-east-1"), **(env or {})},
                          capture_output=True, text=True, timeout=120)


def token_of(url: str) -> str:
    """The token in a connection URL printed by `tokens issue`."""
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(url).query)["key"][0]
