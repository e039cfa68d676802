"""The log group of a deployment and the awslogs driver configuration pointing at it."""

from __future__ import annotations

from troposphere import Ref, Template, ecs, logs

from .. import naming
from ..model import Logs


def log_group(t: Template, deployment: str, spec: Logs) -> logs.LogGroup:
    return t.add_resource(logs.LogGroup(
        naming.LOG_GROUP, LogGroupName=naming.log_group_name(deployment), RetentionInDays=spec.retention_days,
        # Logs are kept for days only and belong to the deployment: they go with it.
        DeletionPolicy="Delete", UpdateReplacePolicy="Delete"))


def awslogs(group: logs.LogGroup, stream_prefix: str) -> ecs.LogConfiguration:
    return ecs.LogConfiguration(LogDriver="awslogs", Options={
        "awslogs-group": Ref(group),
        "awslogs-region": Ref("AWS::Region"),
        "awslogs-stream-prefix": stream_prefix,
    })
