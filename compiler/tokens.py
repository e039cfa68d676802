"""`python -m compiler tokens issue|list|revoke <deployment>`: per-user tokens of a deployed stack.

The stack's TokensTable output names the table, its EndpointUrl output the MCP endpoint. Rows hold the SHA-256
of each token (the key), never the token: `issue` prints the connection URL once and it cannot be shown again.
The row format is the one server/tokens.py reads.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from urllib.parse import quote


from . import aws_errors
from .diagnostics import CommandError, ExitCode

MIN_HASH_PREFIX = 6  # shorter prefixes than this are not accepted by revoke
SHOWN_HASH_CHARS = 12
DEFAULT_EXPIRES_DAYS = 90  # as the auth page's tokenDays; 0 = never


class TokensError(CommandError):
    """A problem to report in one line: a wrong argument (exit 2) or an unknown stack or token (exit 6)."""


def add_parser(commands) -> None:
    tokens = commands.add_parser("tokens", help="issue, list or revoke per-user tokens of a deployed stack "
                                 "(auth.mode: tokens)")
    tokens.add_argument("action", choices=["issue", "list", "revoke"])
    tokens.add_argument("deployment", help="metadata.name of the deployment (its stack's name)")
    tokens.add_argument("target", nargs="?", help="revoke: the token's name or hash prefix (as list shows); "
                        "refused when it is both")
    tokens.add_argument("--name", help="issue: who the token is for (shown by list); revoke: the token with "
                        "this name, never a hash prefix")
    tokens.add_argument("--hash", dest="hash_prefix", metavar="PREFIX",
                        help=f"revoke: the token whose hash starts so (at least {MIN_HASH_PREFIX} characters)")
    tokens.add_argument("--expires-days", type=int, default=DEFAULT_EXPIRES_DAYS,
                        help=f"issue: days until the token stops working (default {DEFAULT_EXPIRES_DAYS}; "
                        "0 = never)")
    tokens.add_argument("--elevenlabs-key-env", metavar="VAR",
                        help="issue: environment variable holding this user's own ElevenLabs key")
    tokens.add_argument("--region", help="the stack's region (default: the AWS CLI's configured region)")
    tokens.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        session = boto3.session.Session(region_name=args.region)
        outputs = _stack_outputs(session, args.deployment)
        table = session.resource("dynamodb").Table(outputs["TokensTable"])
        if args.action == "issue":
            print(_issue(table, outputs.get("EndpointUrl", ""), args))
        elif args.action == "list":
            print(_list(table))
        else:
            print(_revoke(table, _revoke_target(args)))
    except (BotoCoreError, ClientError) as exc:
        raise aws_errors.command_error(exc, args.region) from None
    return ExitCode.OK


def _stack_outputs(session, stack: str) -> dict[str, str]:
    from botocore.exceptions import ClientError

    try:
        found = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    except ClientError as exc:
        if aws_errors.command_error(exc).code != ExitCode.UNKNOWN_NAME:
            raise
        raise TokensError(f"no stack {stack!r} in {session.region_name}: {exc.response['Error']['Message']}",
                          ExitCode.UNKNOWN_NAME) from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}
    if "TokensTable" not in outputs:
        raise TokensError(f"stack {stack!r} has no TokensTable output: deploy it with auth.mode: tokens")
    return outputs


def _issue(table, endpoint: str, args: argparse.Namespace) -> str:
    if not args.name:
        raise TokensError("issue needs --name (who the token is for)")
    if args.expires_days < 0:
        raise TokensError("--expires-days must be 0 (never expires) or more")
    key = None
    if args.elevenlabs_key_env:
        key = os.environ.get(args.elevenlabs_key_env, "").strip()
        if not key:
            raise TokensError(f"environment variable {args.elevenlabs_key_env} is empty or not set")
    from server.token_rows import new_token  # the server's modules load only when a tokens command runs

    token, item = new_token(args.name, expires_days=args.expires_days or None, elevenlabs_key=key)
    table.put_item(Item=item, ConditionExpression="attribute_not_exists(#h)", ExpressionAttributeNames={"#h": "hash"})
    print(f"issued token {args.name!r} (hash {item['hash'][:SHOWN_HASH_CHARS]}); the URL below is shown only "
          "once, it cannot be recovered:", file=sys.stderr)
    return f"{endpoint}?key={quote(token, safe='')}"


def _list(table) -> str:
    rows = sorted(_scan(table), key=lambda row: (int(row["created"]), row["name"], row["hash"]))
    lines = [f"{'NAME':<24} {'CREATED':<17} {'EXPIRES':<17} {'REVOKED':<8} HASH"]
    for row in rows:
        expires = _date(row["expires"]) if "expires" in row else "never"
        lines.append(f"{row['name']:<24} {_date(row['created']):<17} {expires:<17} "
                     f"{'yes' if row.get('revoked') else 'no':<8} {row['hash'][:SHOWN_HASH_CHARS]}")
    return "\n".join(lines)


def _revoke_target(args: argparse.Namespace) -> tuple[str, str]:
    """(how, what): how is "name", "hash" or "either" (the positional target)."""
    given = [(how, what) for how, what in (("either", args.target), ("name", args.name), ("hash", args.hash_prefix))
             if what]
    if len(given) != 1:
        raise TokensError("revoke needs one of: the token's name or hash prefix, --name NAME, --hash PREFIX")
    return given[0]


def _revoke(table, target: tuple[str, str]) -> str:
    how, what = target
    if how == "hash" and len(what) < MIN_HASH_PREFIX:
        raise TokensError(f"--hash needs at least {MIN_HASH_PREFIX} characters")
    rows = _scan(table)
    by_name = [r for r in rows if r["name"] == what] if how != "hash" else []
    by_hash = ([r for r in rows if r["hash"].startswith(what.lower())]
               if how != "name" and len(what) >= MIN_HASH_PREFIX else [])
    if by_name and by_hash and {r["hash"] for r in by_name} != {r["hash"] for r in by_hash}:
        # Users choose their names on the auth page: a name can be made to look like someone's hash prefix.
        raise TokensError(f"{what!r} is both the name of {len(by_name)} token(s) and a prefix of the hash of "
                          f"{len(by_hash)}; say which with --name or --hash")
    matches = by_name or by_hash
    if not matches:
        kinds = {"name": "no token named {!r}", "hash": "no token with a hash starting {!r}",
                 "either": "no token named {!r} nor with a hash starting so"}
        raise TokensError(kinds[how].format(what) + (f" (a hash prefix needs at least {MIN_HASH_PREFIX} "
                                                     "characters)" if how != "name" else ""),
                          ExitCode.UNKNOWN_NAME)
    if len(matches) > 1:
        prefixes = ", ".join(r["hash"][:SHOWN_HASH_CHARS] for r in matches)
        raise TokensError(f"{what!r} matches {len(matches)} tokens; revoke one with --hash: {prefixes}")
    from server.config import DEFAULT_TOKENS_CACHE_SECONDS

    table.update_item(Key={"hash": matches[0]["hash"]}, UpdateExpression="SET revoked = :yes",
                      ExpressionAttributeValues={":yes": True})
    return f"revoked {matches[0]['name']!r} (hash {matches[0]['hash'][:SHOWN_HASH_CHARS]}); servers refuse it " \
        f"within {DEFAULT_TOKENS_CACHE_SECONDS:.0f} s (their cache)"


def _scan(table) -> list[dict]:
    # The user's ElevenLabs key is never read back.
    options = {"ProjectionExpression": "#h, #n, created, expires, revoked",
               "ExpressionAttributeNames": {"#h": "hash", "#n": "name"}}
    rows, page = [], table.scan(**options)
    rows += page["Items"]
    while "LastEvaluatedKey" in page:
        page = table.scan(ExclusiveStartKey=page["LastEvaluatedKey"], **options)
        rows += page["Items"]
    # The auth page's attempt counts share the table (compiler/parts/tokens.py): not tokens. Imported here: every
    # command line loads this module, and parts/ brings troposphere, which an unchanged rebuild must not import.
    from .parts.tokens import SHARED_COUNT_PREFIX

    return [row for row in rows if not row["hash"].startswith(SHARED_COUNT_PREFIX)]


def _date(epoch) -> str:
    return datetime.fromtimestamp(int(epoch), timezone.utc).strftime("%Y-%m-%d %H:%M")
