"""The real Dockerfile, built with buildah and run: configuration, health, one MCP tool call, drain."""

import asyncio
import subprocess

import httpx

from tests.container.buildah import stop
from tests.load.harness import LOOPBACK, free_port, mcp_client, tail, wait_for_health

SECRET_WORDS = ("KEY", "SECRET", "TOKEN", "PASSWORD")
UPSTREAM_TOOL = "list_models"  # a tool that calls GET /v1/models upstream
# What Lambda functions built from this image run (through ImageConfig.Command).
LAMBDA_HANDLERS = ("server.websocket.authorizer.handler", "server.websocket.relay.handler",
                   "server.authpage.aws_lambda.handler")


def test_image_runs_unprivileged_with_an_overridable_command(buildah, app_image):
    config = buildah.image_config(app_image)
    assert config["User"] == "10001:10001"
    assert not config.get("Entrypoint")  # Lambda's ImageConfig.Command replaces Cmd alone
    assert config["Cmd"] == ["python", "-m", "server"]
    assert "8080/tcp" in config["ExposedPorts"]
    assert {"PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"} <= set(config["Env"])


def test_image_bakes_in_no_secrets(buildah, app_image):
    names = [entry.split("=", 1)[0] for entry in buildah.image_config(app_image)["Env"]]
    assert not [name for name in names if any(word in name for word in SECRET_WORDS)]


def test_code_is_precompiled_and_read_only_to_the_runtime_user(buildah, running_container):
    check = (
        "import os, server; "
        "print(os.path.exists(server.__cached__), os.access('/opt/venv/lib', os.W_OK))"
    )
    result = run_in_container(buildah, running_container, ["python", "-c", check])
    assert result.stdout.split() == ["True", "False"], result.stderr


def test_health_endpoint_answers(running_container):
    response = httpx.get(f"{running_container.base_url}/health", timeout=5)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_image_healthcheck_passes_when_healthy_and_fails_when_not(
        buildah, app_image, running_container):
    healthcheck = buildah.image_config(app_image)["Healthcheck"]["Test"]
    assert healthcheck[0] == "CMD"
    healthy = run_in_container(buildah, running_container, healthcheck[1:])
    assert healthy.returncode == 0, healthy.stderr
    nobody_there = {"MCP_PORT": str(free_port())}
    unhealthy = run_in_container(buildah, running_container, healthcheck[1:], nobody_there)
    assert unhealthy.returncode != 0


def test_tool_call_through_the_container_reaches_the_fake_upstream(running_container):
    async def call_tool():
        url = f"{running_container.base_url}/mcp"
        async with mcp_client(url, running_container.server_key) as client:
            tools = await client.list_tools()
            assert UPSTREAM_TOOL in [tool.name for tool in tools.tools]
            return await client.call_tool(UPSTREAM_TOOL, {})

    result = asyncio.run(call_tool())
    assert not result.is_error, result.content
    upstream_paths = [request[1] for request in running_container.fake.requests]
    assert "/v1/models" in upstream_paths


def test_server_in_the_container_drains_and_exits_cleanly_on_sigterm(
        buildah, app_image, running_container, tmp_path):
    """A second server in the same container (a new container would cost a full vfs copy)."""
    log_path = tmp_path / "server.log"
    port = free_port()
    env = {**running_container.env, "MCP_PORT": str(port)}
    command = buildah.image_config(app_image)["Cmd"]
    process = buildah.start(running_container.container, command, env, log_path)
    try:
        wait_for_health(f"http://{LOOPBACK}:{port}", process, log_path, timeout=90)
    finally:
        exit_status = stop(process)  # SIGTERM to the server, as ECS stops a task
    assert exit_status == 0, tail(log_path)


def test_lambda_handlers_load_in_the_image(buildah, running_container):
    for handler in LAMBDA_HANDLERS:
        module, function = handler.rsplit(".", 1)
        check = f"import importlib; assert callable(importlib.import_module({module!r}).{function})"
        result = run_in_container(buildah, running_container, ["python", "-c", check])
        assert result.returncode == 0, f"{handler}: {result.stderr[-2000:]}"


def run_in_container(buildah, server, command, extra_env=None) -> subprocess.CompletedProcess:
    env = {**server.env, **(extra_env or {})}
    return subprocess.run(
        buildah.run_args(server.container, command, env),
        capture_output=True, text=True, timeout=60,
    )
