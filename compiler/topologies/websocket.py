"""The `websocket` topology: API Gateway WebSocket API -> relay Lambda (in the VPC) -> Fargate tasks with
public IPs for egress only. No NAT gateway, no load balancer: the cheapest way to run the server remotely.

Clients reach it through the stdio bridge (`python -m server.bridge`), since no MCP client speaks WebSocket.
"""

from __future__ import annotations

import json

from troposphere import Output, Ref, Sub, Template

from .. import naming
from ..model import Deployment, ImageRepository
from ..parts import (alerts, auth_api, cloudmap, dynamodb, ecs, image, lambdas, network, output_bucket, outputs, relay,
                     schedule, server, server_task, tagging, websocket_api)

# Inline audio is base64 in a JSON-RPC reply that must stay under 128 KB; larger audio goes to the bucket.
MAX_INLINE_AUDIO_BYTES = 64 * 1024
BRIDGE = "elevenlabs-mcp-bridge"
TOKEN_ENV = "MCP_BRIDGE_TOKEN"


def build(deployment: Deployment, repo: ImageRepository) -> Template:
    name, spec = deployment.metadata.name, deployment.spec
    t = Template(Description=f"mcpdeploy Deployment {name}: ElevenLabs MCP server behind an API Gateway "
                             "WebSocket API and a relay function")

    tag = image.tag_parameter(t, spec.image.tag)
    net = network.public_vpc(t, az_count=2)
    task_sg = network.task_security_group(t, net)
    relay_sg = relay.security_group(t, net, task_sg)
    discovery = cloudmap.discovery_service(t, net, name, record_type="A", reader="the WebSocket relay")
    table = dynamodb.connections_table(t)
    dynamodb.gateway_endpoint(t, net, table)
    bucket = output_bucket.bucket(t)

    environment = {
        **server.environment(spec, allowed_hosts=cloudmap.host_name(name), trusted_proxy_cidrs=net.cidr),
        "MCP_OUTPUT_BUCKET": Ref(bucket), "MCP_MAX_INLINE_AUDIO_BYTES": str(MAX_INLINE_AUDIO_BYTES),
    }
    run = server_task.server_task(t, name, spec, repo_stack=repo.metadata.name, tag=tag,
                                  environment=dict(sorted(environment.items())),
                                  task_role_statements=[output_bucket.server_access(bucket)])
    service = ecs.service(t, run.cluster, run.task, spot=spec.task.spot, subnets=net.subnets, security_group=task_sg,
                          service_registries=[cloudmap.service_registry(discovery, with_port=False)])
    schedule.scaling(t, spec.task, spec.schedule, run.cluster, service)

    authorizer = relay.authorizer_function(t, name, spec, run.secret)
    relay_fn = relay.relay_function(t, name, spec, secret=run.secret, table=table, network=net,
                                    security_group=relay_sg, task_host=cloudmap.host_name(name))
    access_logs = lambdas.log_group(t, naming.WEBSOCKET_ACCESS_LOGS, naming.websocket_log_group_name(name, "access"),
                                    spec.logs)
    websocket_api.websocket_api(t, name, authorizer=authorizer, relay=relay_fn, options=spec.websocket,
                                access_logs=access_logs)

    topic = alerts.email_topic(t, spec.alerts)
    alerts.alarms(t, websocket_api.health_alarms(relay_fn), topic)
    alerts.budget(t, spec.alerts, name)

    _client_outputs(t, name, run.secret)
    if spec.auth.auth_page is not None:
        auth_api.websocket_auth_page(t, name, spec, repo_stack=repo.metadata.name, tag=tag,
                                     tokens_table=t.resources[naming.TOKENS_TABLE],
                                     bridge_url=websocket_api.endpoint())
    outputs.operations(t, run.cluster, service, run.secret, run.log_group)
    tagging.tag_everything(t, naming.stack_tags(deployment.metadata))
    return t


def _client_outputs(t: Template, name: str, secret) -> None:
    """The endpoint, how to read the token, and each client's configuration for the bridge."""
    url = websocket_api.endpoint()
    token_command = (f"aws secretsmanager get-secret-value --region ${{AWS::Region}} --secret-id ${{Secret}} "
                     f"--query SecretString --output text | jq -r .{server.SERVER_KEY}")
    stdio = {"command": BRIDGE, "args": ["${Url}"], "env": {TOKEN_ENV: "<output of TokenCommand>"}}
    config = json.dumps({"mcpServers": {name: stdio}})
    t.add_output([
        Output("EndpointUrl", Value=url, Description="WebSocket endpoint; MCP clients use it through the bridge."),
        Output("TokenCommand", Description="Prints the token the bridge needs (needs the AWS CLI and jq).",
               Value=Sub(token_command, Secret=Ref(secret))),
        Output("ClaudeCodeCommand", Description=f"Adds the server to Claude Code; needs {BRIDGE} on PATH "
               "(`pip install .` in this repository), the AWS CLI and jq.",
               Value=Sub(f'claude mcp add {name} -e {TOKEN_ENV}="$({token_command})" -- {BRIDGE} ${{Url}}',
                         Secret=Ref(secret), Url=url)),
        Output("CursorConfig", Description="Merge into ~/.cursor/mcp.json (or .cursor/mcp.json of a project).",
               Value=Sub(config, Url=url)),
        Output("ClaudeDesktopConfig", Description="Merge into claude_desktop_config.json (Claude Desktop takes "
               "remote servers only as connectors without headers, so it runs the bridge as a local command).",
               Value=Sub(config, Url=url)),
    ])
