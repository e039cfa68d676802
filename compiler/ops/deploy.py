"""`deploy [NAME...]`: preflight, then per stack in dependency order: change set, preview, confirmation,
execution with live progress, and after success the endpoint, the key step and a client snippet."""

from __future__ import annotations

import sys
from pathlib import Path

from . import aws, changeset, events, plan, preflight
from .prompt import DECLINED, confirm


def run(args) -> int:
    out_dir = Path(args.out)
    plan.check_fresh(args.file, out_dir)
    stacks = plan.stacks(args.file, out_dir, args.names)
    checks = preflight.run(stacks)
    print("preflight:")
    for line in checks.lines:
        print(f"  {line}")
    if checks.refusals:
        for refusal in checks.refusals:
            print(f"refused: {refusal}", file=sys.stderr)
        return aws.AWS_PROBLEM
    for stack in stacks:
        status = changeset.existing_status(stack.name, stack.region)
        change_set = changeset.create(stack, status)
        if change_set.empty:
            print(f"{stack.name}: no changes (the deployed stack matches {stack.template_path}); nothing executed")
            continue
        print(changeset.render(change_set))
        if not args.yes and not confirm(f"Deploy these changes to {stack.name}? [y/N] "):
            changeset.discard(change_set)
            print(f"{stack.name}: not deployed (change set deleted); stopping before the stacks after it")
            return DECLINED
        after = events.last_event_id(stack.name, stack.region)
        changeset.execute(change_set)
        outcome = events.follow(stack.name, stack.region, after, total=len(change_set.changes))
        if not outcome.ok:
            print(events.explain_failure(stack.name, outcome), file=sys.stderr)
            return aws.AWS_PROBLEM
        print(f"{stack.name}: {outcome.status}")
    for stack in stacks:
        if stack.is_deployment:
            print(after_success(stack))
    return 0


def after_success(stack) -> str:
    outputs = preflight.stack_outputs(stack.name, stack.region)
    name = stack.name
    lines = [f"{name}:", f"  endpoint: {outputs.get('EndpointUrl', '(no EndpointUrl output)')}"]
    slot = preflight.key_slot(name, stack.region)
    if slot != "set" and "SetElevenLabsKeyCommand" in outputs:
        lines += ["  the ElevenLabs key is not set: put it into the stack's secret (read from your shell, never "
                  "typed on the command line) and restart the tasks:",
                  "    read -rs ELEVENLABS_API_KEY && export ELEVENLABS_API_KEY",
                  f"    bash -o pipefail -c {_quote(outputs['SetElevenLabsKeyCommand'])}"]
    lines.append("  connect:")
    if "ClaudeCodeCommand" in outputs:
        lines.append(f"    {outputs['ClaudeCodeCommand']}")
    elif "EndpointUrl" in outputs:
        key = ("a token from `python -m compiler tokens issue " + name + " --name you`"
               if "TokensTable" in outputs else "MCP_SERVER_API_KEY from the secret " + outputs.get("SecretArn", ""))
        lines.append(f"    claude mcp add --transport http {name} {outputs['EndpointUrl']} "
                     "--header \"Authorization: Bearer $KEY\"   # KEY: " + key)
    lines.append(f"  every client (Cursor, Claude Desktop, Inspector): generated/{name}.md")
    return "\n".join(lines)


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)
