"""The contract between the templates and the server image: port, paths, environment, secret keys.

The names mirror server/config.py; the server refuses to start on a value it does not accept.
"""

from __future__ import annotations

from troposphere import AWSHelperFn, ecs

from ..model import CommonSpec

CONTAINER_NAME = "server"
PORT = 8080
HEALTH_PATH = "/health"
MCP_PATH = "/mcp"
# Keys of the one Secrets Manager secret, each injected as an environment variable of the same name.
SERVER_KEY = "MCP_SERVER_API_KEY"
ELEVENLABS_KEY = "ELEVENLABS_API_KEY"
SECRET_KEYS = (SERVER_KEY, ELEVENLABS_KEY)
SIGNUP_CODE_KEY = "MCP_SIGNUP_CODE"  # the auth page's sign-up code: a whole secret of its own
AUTH_PAGE_PATH = "/auth"
# Seconds between the end of draining and SIGKILL, for the last responses and log lines to leave.
DRAIN_MARGIN_SECONDS = 5
# The Dockerfile's HEALTHCHECK: the image has python, not curl.
HEALTH_COMMAND = ["CMD", "python", "-c",
                  f"import urllib.request as u; u.urlopen('http://127.0.0.1:{PORT}{HEALTH_PATH}', timeout=4)"]

Value = str | AWSHelperFn


def environment(spec: CommonSpec, *, allowed_hosts: Value, trusted_proxy_cidrs: str,
                server_checks_cidrs: bool = True, tokens_table: Value | None = None,
                public_url: Value | None = None, deployment_name: str | None = None,
                client_ip_header: str | None = None, serves_auth_page: bool = True) -> dict[str, Value]:
    """Plain (non-secret) settings of the server; an empty allow-list is left out (the server then admits all),
    and so is one the front door enforces itself (server_checks_cidrs=False). tokens_table: auth.mode tokens.
    public_url: the origin clients use, for the connection URLs the auth page hands out; None = unknown (the
    server then derives it from the request). deployment_name: the name the page's client configurations give
    the server. client_ip_header: where the front door names the client, when not X-Forwarded-For.
    serves_auth_page=False: the page lives elsewhere (websocket: S3 and a function), so the server gets none of
    its settings, which nothing could reach."""
    env: dict[str, Value] = {
        "MCP_AUTH_MODE": spec.auth.mode,
        "MCP_ALLOWED_HOSTS": allowed_hosts,
        "MCP_TRUSTED_PROXY_CIDRS": trusted_proxy_cidrs,
        "MCP_PORT": str(PORT),
        "MCP_DRAIN_SECONDS": str(spec.task.stop_timeout_seconds - DRAIN_MARGIN_SECONDS),
        "MCP_LOG_LEVEL": "INFO",
        "MCP_MEMORY_MIB": str(spec.task.memory),  # sizes the server's input memory budget (server/call_budget.py)
    }
    tools = spec.tools
    if tools.allow is not None:
        env["MCP_TOOLS_ALLOW"] = ",".join(tools.allow)
    if tools.deny:
        env["MCP_TOOLS_DENY"] = ",".join(tools.deny)
    if tools.reach_third_parties:
        env["MCP_TOOLS_REACH_THIRD_PARTIES"] = "true"
    if client_ip_header is not None:
        env["MCP_CLIENT_IP_HEADER"] = client_ip_header
    if spec.auth.allowed_cidrs and server_checks_cidrs:
        env["MCP_ALLOWED_CIDRS"] = ",".join(spec.auth.allowed_cidrs)
    if tokens_table is not None:
        env["MCP_TOKENS_TABLE"] = tokens_table
    page = spec.auth.auth_page
    if page is not None and serves_auth_page:
        env["MCP_AUTH_PAGE"] = "true"
        env["MCP_AUTH_PAGE_TOKEN_DAYS"] = str(page.token_days)
        env["MCP_AUTH_PAGE_ATTEMPTS_PER_HOUR"] = str(page.attempts_per_hour)
        if public_url is not None:
            env["MCP_PUBLIC_URL"] = public_url
        if deployment_name is not None:
            env["MCP_DEPLOYMENT_NAME"] = deployment_name
    return dict(sorted(env.items()))


def container(*, image: Value, environment: dict[str, Value], secrets: dict[str, Value],
              logging: ecs.LogConfiguration, stop_timeout_seconds: int,
              health_check: bool = False) -> ecs.ContainerDefinition:
    """The one container of a task: read-only root file system, nothing mounted (the server writes nothing).

    health_check: ECS probes /health itself (the image's HEALTHCHECK, which ECS ignores), for front doors
    without a load balancer: ECS then reports the result to Cloud Map and replaces an unhealthy task.
    """
    definition = ecs.ContainerDefinition(
        Name=CONTAINER_NAME,
        Image=image,
        Essential=True,
        PortMappings=[ecs.PortMapping(ContainerPort=PORT, Protocol="tcp")],
        Environment=[ecs.Environment(Name=name, Value=value) for name, value in environment.items()],
        Secrets=[ecs.Secret(Name=name, ValueFrom=source) for name, source in secrets.items()],
        LogConfiguration=logging,
        ReadonlyRootFilesystem=True,
        StopTimeout=stop_timeout_seconds,
    )
    if health_check:
        definition.HealthCheck = ecs.HealthCheck(Command=HEALTH_COMMAND, Interval=30, Timeout=5, Retries=3,
                                                 StartPeriod=15)
    return definition
