"""The `websocket` topology: API Gateway WebSocket API -> relay Lambda (in the VPC) -> Fargate tasks with
public IPs for egress only. No NAT gateway, no load balancer: the cheapest way to run the server remotely.

Clients reach it through the stdio bridge (`python -m server.bridge`), since no MCP client speaks WebSocket.
The authorizer checks the token on $connect and signs the connection a relay ticket, the relay's only
credential toward the tasks (MCP_TRUST_RELAY; no key is in either function's environment); in auth mode tokens
the relay also names the user by the token's hash, which the ticket covers and the server checks again on every
request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from troposphere import Output, Ref, Sub, Template

from .. import naming
from ..model import Deployment, ImageRepository
from ..parts.server import Value
from ..parts import (alerts, auth_api, cloudmap, dynamodb, ecs, image, lambdas, network, on_demand, output_bucket,
                     outputs, relay, schedule, server, server_task, tagging, tokens, websocket_api)

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
    store = tokens.token_store(t, spec.auth)
    dynamodb.gateway_endpoint(t, net, table, task_statements=store.task_role_statements)
    bucket = output_bucket.bucket(t)
    emptier = output_bucket.emptied_on_delete(t, name, bucket, spec.logs)

    environment = {
        # The auth page is a static site and a function here (parts/auth_api.py), never the server's /auth.
        **server.environment(spec, allowed_hosts=cloudmap.host_name(name), trusted_proxy_cidrs=net.cidr,
                             tokens_table=store.table_name, serves_auth_page=False),
        "MCP_OUTPUT_BUCKET": Ref(bucket), "MCP_MAX_INLINE_AUDIO_BYTES": str(MAX_INLINE_AUDIO_BYTES),
    }
    # The relay authenticates with the tickets the authorizer signs (and, in mode tokens, names the user by hash).
    environment["MCP_TRUST_RELAY"] = "true"
    run = server_task.server_task(t, name, spec, repo_stack=repo.metadata.name, tag=tag,
                                  environment=dict(sorted(environment.items())),
                                  task_role_statements=[output_bucket.server_access(bucket),
                                                        *store.task_role_statements])
    service = ecs.service(t, run.cluster, run.task, spot=spec.task.spot, subnets=net.subnets, security_group=task_sg,
                          service_registries=[cloudmap.service_registry(discovery, with_port=False)],
                          # tasks pull their image over their public address; they are gone before the bucket is
                          # emptied on deletion
                          depends_on=[*net.internet_path, emptier.title])
    schedule.scaling(t, spec.task, spec.schedule, run.cluster, service, on_demand=spec.on_demand is not None)
    waker = None if spec.on_demand is None else on_demand.on_demand(
        t, name, spec, repo_stack=repo.metadata.name, tag=tag, cluster=run.cluster, service=service, table=table)

    authorizer = relay.authorizer_function(t, name, spec, run.secret, tokens_table=store.table_name, wake=waker)
    relay_fn = relay.relay_function(t, name, spec, table=table, network=net,
                                    security_group=relay_sg, task_host=cloudmap.host_name(name))
    access_logs = lambdas.log_group(t, naming.WEBSOCKET_ACCESS_LOGS, naming.websocket_log_group_name(name, "access"),
                                    spec.logs)
    websocket_api.websocket_api(t, name, authorizer=authorizer, relay=relay_fn, options=spec.websocket,
                                access_logs=access_logs)

    topic = alerts.email_topic(t, spec.alerts)
    alerts.alarms(t, websocket_api.health_alarms(relay_fn), topic)
    alerts.budget(t, spec.alerts)

    _client_outputs(t, name, _issued_token_source(name) if store.table_name is not None
                    else _server_key_source(name, run.secret))
    if spec.auth.auth_page is not None:
        auth_api.websocket_auth_page(t, name, spec, repo_stack=repo.metadata.name, tag=tag,
                                     tokens_table=t.resources[naming.TOKENS_TABLE],
                                     bridge_url=websocket_api.endpoint())
    outputs.operations(t, run.cluster, service, run.secret, run.log_group)
    tagging.tag_everything(t, naming.stack_tags(deployment.metadata))
    return t


@dataclass(frozen=True)
class TokenSource:
    """Where a user's bridge token comes from, and how each client's configuration passes it to the bridge."""
    command: Value  # the TokenCommand output
    command_description: str
    claude_code: Value  # the ClaudeCodeCommand output
    claude_code_needs: str
    bridge_args: list[str]  # "${Url}" stands for the endpoint
    bridge_env: dict[str, str]


def _server_key_source(name: str, secret) -> TokenSource:
    """auth.mode api-key: everyone uses the server's key, read from the secret."""
    command = (f"aws secretsmanager get-secret-value --region ${{AWS::Region}} --secret-id ${{Secret}} "
               f"--query SecretString --output text | jq -r .{server.SERVER_KEY}")
    return TokenSource(
        command=Sub(command, Secret=Ref(secret)),
        command_description="Prints the token the bridge needs (needs the AWS CLI and jq).",
        claude_code=Sub(f'claude mcp add {name} -e {TOKEN_ENV}="$({command})" -- {BRIDGE} ${{Url}}',
                        Secret=Ref(secret), Url=websocket_api.endpoint()),
        claude_code_needs=", the AWS CLI and jq",
        bridge_args=["${Url}"], bridge_env={TOKEN_ENV: "<output of TokenCommand>"})


def _issued_token_source(name: str) -> TokenSource:
    """auth.mode tokens: `tokens issue` prints the endpoint URL with the user's token, which the bridge takes as is."""
    printed = "<URL printed by TokenCommand>"
    return TokenSource(
        command=Sub(f"python -m compiler tokens issue {name} --region ${{AWS::Region}} --name <who>"),
        command_description="Issues a user's token (run in the mcpdeploy repository) and prints, once, the "
                            "URL with it for the bridge.",
        claude_code=f"claude mcp add {name} -- {BRIDGE} '{printed}'", claude_code_needs="",
        bridge_args=[printed], bridge_env={})


def _client_outputs(t: Template, name: str, token: TokenSource) -> None:
    """The endpoint, how to get a token, and each client's configuration for the bridge."""
    url = websocket_api.endpoint()
    stdio = {"command": BRIDGE, "args": token.bridge_args, **({"env": token.bridge_env} if token.bridge_env else {})}
    config = json.dumps({"mcpServers": {name: stdio}})
    config_value = Sub(config, Url=url) if "${Url}" in config else config
    t.add_output([
        Output("EndpointUrl", Value=url, Description="WebSocket endpoint; MCP clients use it through the bridge."),
        Output("TokenCommand", Description=token.command_description, Value=token.command),
        Output("ClaudeCodeCommand", Description=f"Adds the server to Claude Code; needs {BRIDGE} on PATH "
               f"(`pip install .` in this repository){token.claude_code_needs}.", Value=token.claude_code),
        Output("CursorConfig", Description="Merge into ~/.cursor/mcp.json (or .cursor/mcp.json of a project).",
               Value=config_value),
        Output("ClaudeDesktopConfig", Description="Merge into claude_desktop_config.json (Claude Desktop takes "
               "remote servers only as connectors without headers, so it runs the bridge as a local command).",
               Value=config_value),
    ])
