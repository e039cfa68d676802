"""The ECR repository of the server image and the exports Deployment stacks import."""

from __future__ import annotations

import json

from troposphere import Export, GetAtt, Output, Sub, Template, ecr

from .. import naming
from ..model import ImageRepositorySpec
from . import policies


def repository(t: Template, name: str, spec: ImageRepositorySpec, tags_in_use: list[str]) -> ecr.Repository:
    """tags_in_use: the image tags the file's deployments run, which the lifecycle policy never expires."""
    return t.add_resource(ecr.Repository(
        naming.REPOSITORY,
        RepositoryName=name,
        ImageScanningConfiguration=ecr.ImageScanningConfiguration(ScanOnPush=spec.scan_on_push),
        ImageTagMutability="IMMUTABLE" if spec.immutable_tags else "MUTABLE",
        EncryptionConfiguration=ecr.EncryptionConfiguration(EncryptionType="AES256"),
        LifecyclePolicy=ecr.LifecyclePolicy(LifecyclePolicyText=lifecycle_policy(spec.keep_images, tags_in_use)),
        RepositoryPolicyText=_lambda_pulls(),
        # ECR refuses to delete a repository that holds images: with emptyOnDelete the stack's deletion deletes
        # them too; without it (the default) the stack leaves the repository and its images behind (Retain), so
        # deleting the stack never fails on them and never takes images a user did not choose to lose.
        EmptyOnDelete=spec.empty_on_delete,
        **({} if spec.empty_on_delete else {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}),
    ))


def _lambda_pulls() -> dict:
    """Lambda pulls a function's image with its own service principal, not the function's role: functions of
    this account and region may run the image (the websocket auth page's API does)."""
    return policies.document([{
        "Sid": "LambdaPullsImages", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        "Condition": {"StringLike": {"aws:sourceArn": Sub(
            "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:*")}},
    }])


def lifecycle_policy(keep: int, tags_in_use: list[str]) -> str:
    """ECR applies rules by priority, and an image a rule selects by its tags cannot be expired by a later rule:

    1. untagged images (a re-pushed tag's predecessor, an aborted push) beyond the `keep` newest expire, so they
       never count against the tagged ones;
    2. each tag a deployment in the file runs is selected by a rule of its own that never fires (one image per
       tag, "more than 1"), which shields it from rule 3 however old it is;
    3. tagged images beyond the `keep` newest expire.
    """
    rules = [_rule("Untagged images: keep the {keep} newest", {"tagStatus": "untagged"}, keep)]
    for tag in sorted(set(tags_in_use)):
        rules.append(_rule(f"Never expire {tag}: a deployment runs it", {
            "tagStatus": "tagged", "tagPatternList": [tag]}, 1))
    rules.append(_rule("Tagged images: keep the {keep} newest, and every tag in use", {
        "tagStatus": "tagged", "tagPatternList": ["*"]}, keep))
    for priority, rule in enumerate(rules, start=1):
        rule["rulePriority"] = priority
        rule["description"] = rule["description"].format(keep=keep)
    return json.dumps({"rules": rules}, separators=(",", ":"))


def _rule(description: str, selection: dict, count: int) -> dict:
    return {"description": description,
            "selection": {**selection, "countType": "imageCountMoreThan", "countNumber": count},
            "action": {"type": "expire"}}


def exports(t: Template, repo: ecr.Repository, stack: str) -> None:
    t.add_output(Output("RepositoryUri", Value=GetAtt(repo, "RepositoryUri"),
                        Description="Push the server image here.",
                        Export=Export(naming.repository_uri_export(stack))))
    t.add_output(Output("RepositoryArn", Value=GetAtt(repo, "Arn"),
                        Export=Export(naming.repository_arn_export(stack))))
