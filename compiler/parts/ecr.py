"""The ECR repository of the server image and the exports Deployment stacks import."""

from __future__ import annotations

import json

from troposphere import Export, GetAtt, Output, Sub, Template, ecr

from .. import naming
from ..model import ImageRepositorySpec
from . import policies


def repository(t: Template, name: str, spec: ImageRepositorySpec) -> ecr.Repository:
    return t.add_resource(ecr.Repository(
        naming.REPOSITORY,
        RepositoryName=name,
        ImageScanningConfiguration=ecr.ImageScanningConfiguration(ScanOnPush=spec.scan_on_push),
        ImageTagMutability="IMMUTABLE" if spec.immutable_tags else "MUTABLE",
        EncryptionConfiguration=ecr.EncryptionConfiguration(EncryptionType="AES256"),
        LifecyclePolicy=ecr.LifecyclePolicy(LifecyclePolicyText=_keep_newest(spec.keep_images)),
        RepositoryPolicyText=_lambda_pulls(),
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


def _keep_newest(count: int) -> str:
    rule = {
        "rulePriority": 1,
        "description": f"Keep the {count} newest images",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": count},
        "action": {"type": "expire"},
    }
    return json.dumps({"rules": [rule]}, separators=(",", ":"))


def exports(t: Template, repo: ecr.Repository, stack: str) -> None:
    t.add_output(Output("RepositoryUri", Value=GetAtt(repo, "RepositoryUri"),
                        Description="Push the server image here.",
                        Export=Export(naming.repository_uri_export(stack))))
    t.add_output(Output("RepositoryArn", Value=GetAtt(repo, "Arn"),
                        Export=Export(naming.repository_arn_export(stack))))
