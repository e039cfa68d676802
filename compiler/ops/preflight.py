"""What `deploy` checks before it changes anything: who and where, the image, the ElevenLabs key slot.

A deployment whose image tag is not in its ECR repository is refused with the exact commands that build and
push it (a missing image is the classic first-deploy hang: the service waits for tasks that never start).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from . import aws

ELEVENLABS_KEY = "ELEVENLABS_API_KEY"  # compiler/parts/server.py's key in the stack's secret


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    key_slots: dict[str, str] = field(default_factory=dict)   # deployment -> "set" | "empty" | why unknown


def run(stacks) -> Report:
    report = Report()
    for region in sorted({stack.region for stack in stacks}):
        with aws.reported(f"check the AWS credentials for {region} (configure them as for the AWS CLI)"):
            identity = aws.client("sts", region).get_caller_identity()
        report.lines.append(f"account {identity['Account']} as {identity['Arn']}, region {region}")
    deploying = {stack.name for stack in stacks}
    for stack in stacks:
        if not stack.is_deployment:
            continue
        refusal = _image(stack, stack.repository in deploying)
        if refusal:
            report.refusals.append(refusal)
        else:
            report.lines.append(f"{stack.name}: image {stack.repository}:{stack.model.spec.image.tag} is in ECR")
        slot = key_slot(stack.name, stack.region)
        report.key_slots[stack.name] = slot
        report.lines.append(f"{stack.name}: ElevenLabs key {slot}")
    return report


def _image(stack, repository_deployed_now: bool) -> str | None:
    from ..docs import image_push_commands

    tag = stack.model.spec.image.tag
    ecr = aws.client("ecr", stack.region)
    try:
        ecr.describe_images(repositoryName=stack.repository, imageIds=[{"imageTag": tag}])
        return None
    except Exception as exc:
        code = aws.error_code(exc)
        if code not in ("ImageNotFoundException", "RepositoryNotFoundException"):
            with aws.reported(f"look for image {stack.repository}:{tag}"):
                raise
    push = "\n".join(f"    {line}" for line in image_push_commands(stack.repository, stack.region, tag,
                                                                    stack.model.spec.task.architecture))
    if code == "RepositoryNotFoundException":
        first = (f"  1. create the repository: python -m compiler deploy {stack.repository}\n"
                 "  2. build and push the image:\n")
        return (f"{stack.name}: the ECR repository {stack.repository} does not exist yet, so image tag {tag} cannot "
                f"be in it; nothing was deployed.\n{first}{push}\n  3. deploy again: python -m compiler deploy "
                f"{stack.name}")
    return (f"{stack.name}: image tag {tag} is not in the ECR repository {stack.repository} "
            f"({stack.model.spec.task.architecture}); nothing was deployed. Build and push it, then deploy again:\n"
            f"{push}")


def key_slot(name: str, region: str) -> str:
    """'set' or 'empty' (never the key itself), or why it cannot be told."""
    from .changeset import existing_status

    if existing_status(name, region) in (None, "REVIEW_IN_PROGRESS"):
        return "empty (the stack creates the secret with an empty slot)"
    outputs = stack_outputs(name, region)
    if "SecretArn" not in outputs:
        return "unknown (the stack has no SecretArn output)"
    try:
        value = aws.client("secretsmanager", region).get_secret_value(SecretId=outputs["SecretArn"])["SecretString"]
        return "set" if json.loads(value).get(ELEVENLABS_KEY) else "empty"
    except Exception as exc:
        return f"unknown (cannot read the secret: {aws.error_code(exc) or type(exc).__name__})"


def stack_outputs(name: str, region: str) -> dict[str, str]:
    with aws.reported(f"read the outputs of {name}"):
        stack = aws.client("cloudformation", region).describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
