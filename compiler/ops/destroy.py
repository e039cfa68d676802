"""`destroy NAME...`: delete stacks with confirmation, deployments before the repository they use, saying
first what data goes with them (tables, buckets, log groups, secrets, images)."""

from __future__ import annotations

import sys
from pathlib import Path

from . import aws, changeset, events, plan
from .prompt import DECLINED, confirm


def run(args) -> int:
    everything = plan.stacks(args.file, Path(args.out))
    wanted = [s for s in plan.stacks(args.file, Path(args.out), args.names) if s.name in args.names]
    order = list(reversed(wanted))  # deployments first, then the repositories they import from
    present = [(s, changeset.existing_status(s.name, s.region)) for s in order]
    present = [(s, status) for s, status in present if status is not None]
    if not present:
        print(f"nothing to destroy: {', '.join(args.names)} not deployed")
        return 0
    doomed = {s.name for s, _ in present}
    for stack, _ in present:
        users = [d.name for d in everything if d.repository == stack.name and d.name not in doomed
                 and changeset.existing_status(d.name, d.region) is not None]
        if users:
            raise plan.PlanError(f"{stack.name} holds the image of {', '.join(users)}, still deployed: destroy "
                                 f"{'them' if len(users) > 1 else 'it'} first (or together)")
    for stack, status in present:
        print(f"{stack.name} ({stack.region}, {status}): deleting it deletes")
        for line in data_lost(stack):
            print(f"  - {line}")
    if not args.yes and not confirm(f"Type {' '.join(sorted(doomed))} to delete: ", " ".join(sorted(doomed))):
        return DECLINED
    for stack, _ in present:
        after = events.last_event_id(stack.name, stack.region)
        stack_id = _stack_id(stack)
        if not stack.is_deployment:
            empty_repository(stack)  # CloudFormation refuses to delete a repository that still holds images
        with aws.reported(f"delete {stack.name}"):
            aws.client("cloudformation", stack.region).delete_stack(StackName=stack.name)
        outcome = events.follow(stack.name, stack.region, after, total=len(stack.template["Resources"]),
                                stack_id=stack_id)
        if outcome.status != "DELETE_COMPLETE":
            print(events.explain_failure(stack.name, outcome), file=sys.stderr)
            return aws.AWS_PROBLEM
        print(f"{stack.name}: DELETE_COMPLETE")
    return 0


def data_lost(stack) -> list[str]:
    lines = []
    for logical_id, resource in sorted(stack.template["Resources"].items()):
        label = changeset.DATA_STORES.get(resource["Type"])
        if not label:
            continue
        kept = resource.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate", "Snapshot")
        properties = resource.get("Properties", {})
        held = {"TokensTable": " (every issued token)", "ConnectionsTable": " (open connections)",
                "ServerSecret": " (the server key and your ElevenLabs key)",
                "SignupCodeSecret": " (the sign-up code)", "Repository": " and every image in it"}.get(logical_id, "")
        shown = properties.get("LogGroupName") or properties.get("RepositoryName") or logical_id
        lines.append(f"{label} {shown}{held}" + (": KEPT (DeletionPolicy)" if kept else ""))
    return lines or ["no data stores"]


def empty_repository(stack) -> None:
    ecr = aws.client("ecr", stack.region)
    with aws.reported(f"delete the images of {stack.name}"):
        try:
            pages = ecr.get_paginator("list_images").paginate(repositoryName=stack.name)
            images = [image for page in pages for image in page["imageIds"]]
        except Exception as exc:
            if aws.error_code(exc) == "RepositoryNotFoundException":
                return
            raise
        for start in range(0, len(images), 100):
            ecr.batch_delete_image(repositoryName=stack.name, imageIds=images[start:start + 100])
    if images:
        print(f"{stack.name}: deleted {len(images)} image(s) from the repository")


def _stack_id(stack) -> str:
    with aws.reported(f"describe {stack.name}"):
        return aws.client("cloudformation", stack.region).describe_stacks(StackName=stack.name)["Stacks"][0]["StackId"]
