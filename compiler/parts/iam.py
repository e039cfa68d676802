"""Roles of the tasks: least privilege, no role names (so CAPABILITY_IAM is enough)."""

from __future__ import annotations

from troposphere import AWSHelperFn, GetAtt, Ref, Template, iam, logs, secretsmanager

from .. import naming
from . import policies


def execution_role(t: Template, *, repository_arn: AWSHelperFn, log_group: logs.LogGroup,
                   secrets: list[secretsmanager.Secret]) -> iam.Role:
    """What ECS itself needs to start a task: pull the image, write its logs, read its secrets. Nothing more
    (the managed AmazonECSTaskExecutionRolePolicy would allow every repository and log group)."""
    secret_arns = [Ref(secret) for secret in secrets]
    statements = [
        # GetAuthorizationToken is account-wide by design: it has no resource to scope to.
        policies.allow(["ecr:GetAuthorizationToken"], "*"),
        policies.allow(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], repository_arn),
        # The log group's Arn attribute ends in ":*", which covers its streams.
        policies.allow(["logs:CreateLogStream", "logs:PutLogEvents"], GetAtt(log_group, "Arn")),
        # One secret stays a plain Ref, as in every stack deployed before the auth page's second secret.
        policies.allow(["secretsmanager:GetSecretValue"], secret_arns[0] if len(secret_arns) == 1 else secret_arns),
    ]
    return t.add_resource(iam.Role(
        naming.EXECUTION_ROLE,
        AssumeRolePolicyDocument=policies.service_trust("ecs-tasks.amazonaws.com"),
        Policies=[iam.Policy(PolicyName="start-task", PolicyDocument=policies.document(statements))],
    ))


def task_role(t: Template, statements: list[dict] = ()) -> iam.Role:
    """The server's own identity: no policy unless it calls AWS APIs (e.g. S3 for audio outputs)."""
    role = iam.Role(naming.TASK_ROLE, AssumeRolePolicyDocument=policies.service_trust("ecs-tasks.amazonaws.com"))
    if statements:
        role.Policies = [iam.Policy(PolicyName="server", PolicyDocument=policies.document(statements))]
    return t.add_resource(role)
