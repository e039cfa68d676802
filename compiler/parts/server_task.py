"""What every topology runs: the ECS cluster, the server's task definition, and what it needs to start (its
log group, its secret, the execution role). The front door and the network differ; this does not."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import Template
from troposphere import ecs as ecs_resources
from troposphere import logs as logs_resources
from troposphere import secretsmanager

from ..model import CommonSpec
from . import ecs, iam, image, logs, secrets, server


@dataclass(frozen=True)
class ServerTask:
    cluster: ecs_resources.Cluster
    log_group: logs_resources.LogGroup
    secret: secretsmanager.Secret
    task: ecs_resources.TaskDefinition


def server_task(t: Template, name: str, spec: CommonSpec, *, repo_stack: str, tag: object,
                environment: dict[str, server.Value], task_role_statements: list[dict] = (),
                health_check: bool = False) -> ServerTask:
    cluster = ecs.cluster(t, spot=spec.task.spot)
    log_group = logs.log_group(t, name, spec.logs)
    secret = secrets.server_secret(t, name)
    execution_role = iam.execution_role(t, repository_arn=image.repository_arn(repo_stack), log_group=log_group,
                                        secret=secret)
    container = server.container(
        image=image.uri(repo_stack, tag),
        environment=environment,
        secrets=secrets.container_secrets(secret),
        logging=logs.awslogs(log_group, stream_prefix=server.CONTAINER_NAME),
        stop_timeout_seconds=spec.task.stop_timeout_seconds,
        health_check=health_check,
    )
    task = ecs.task_definition(t, spec.task, container, execution_role=execution_role,
                               task_role=iam.task_role(t, list(task_role_statements)))
    return ServerTask(cluster, log_group, secret, task)
