"""What every topology runs: the ECS cluster, the server's task definition, and what it needs to start (its
log group, its secret, the execution role). The front door and the network differ; this does not."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import Output, Ref, Template
from troposphere import ecs as ecs_resources
from troposphere import logs as logs_resources
from troposphere import secretsmanager

from ..model import CommonSpec
from . import ecs, iam, image, logs, secrets, server

AUTH_PAGE_OUTPUT = "AuthPageUrl"


@dataclass(frozen=True)
class ServerTask:
    cluster: ecs_resources.Cluster
    log_group: logs_resources.LogGroup
    secret: secretsmanager.Secret
    task: ecs_resources.TaskDefinition


def server_task(t: Template, name: str, spec: CommonSpec, *, repo_stack: str, tag: object,
                environment: dict[str, server.Value], task_role_statements: list[dict] = (),
                health_check: bool = False, signup_code: secretsmanager.Secret | None = None) -> ServerTask:
    """signup_code: the auth page's sign-up code, for a server that serves the page itself."""
    cluster = ecs.cluster(t, spot=spec.task.spot)
    log_group = logs.log_group(t, name, spec.logs)
    secret = secrets.server_secret(t, name)
    container_secrets = secrets.container_secrets(secret)
    if signup_code is not None:
        container_secrets[server.SIGNUP_CODE_KEY] = Ref(signup_code)  # the whole string
    execution_role = iam.execution_role(t, repository_arn=image.repository_arn(repo_stack), log_group=log_group,
                                        secrets=[secret] + ([signup_code] if signup_code is not None else []))
    container = server.container(
        image=image.uri(repo_stack, tag),
        environment=environment,
        secrets=container_secrets,
        logging=logs.awslogs(log_group, stream_prefix=server.CONTAINER_NAME),
        stop_timeout_seconds=spec.task.stop_timeout_seconds,
        health_check=health_check,
    )
    task = ecs.task_definition(t, spec.task, container, execution_role=execution_role,
                               task_role=iam.task_role(t, list(task_role_statements)))
    return ServerTask(cluster, log_group, secret, task)


def signup_code(t: Template, name: str, spec: CommonSpec) -> secretsmanager.Secret | None:
    """The sign-up code of an auth page the server serves itself, when the page asks for one."""
    page = spec.auth.auth_page
    return secrets.signup_code_secret(t, name) if page is not None and page.signup_code else None


def auth_page_output(url: server.Value, note: str = "") -> Output:
    return Output(AUTH_PAGE_OUTPUT, Value=url, Description="Where users exchange their ElevenLabs key for a personal "
                  "token (see the deployment's docs)." + note)
