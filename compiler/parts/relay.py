"""The two functions behind the WebSocket API and their contract with server/websocket/*.py (environment).

The authorizer runs outside the VPC; in mode tokens it reads the tokens table at DynamoDB's public endpoint. It
reads the server's key from the secret itself (SECRET_ARN, GetSecretValue on that secret only), at cold start
and every 5 minutes, and signs each allowed connection a relay ticket (server/websocket/authorizer.py).
The relay runs inside the VPC, in the public subnets but without a public address: it reaches the tasks over the
private network and DynamoDB through the gateway endpoint, and nothing else; it could not reach Secrets Manager
without a NAT or a paid interface endpoint (about $7 a month per zone), so it holds no key at all: it presents
the connection's ticket, kept in its connection row. No secret value, and no dynamic reference to one, is in
either function's environment (where lambda:GetFunctionConfiguration would show it).
"""

from __future__ import annotations

from troposphere import GetAtt, Ref, Sub, Template, awslambda, dynamodb, ec2, secretsmanager

from .. import naming
from ..model import CommonSpec, Schedule
from . import lambdas, on_demand, policies, server
from .dynamodb import relay_access
from .network import HTTPS, Network, admit_to_tasks, to_tasks
from .server import Value

# The relay answers within API Gateway's 29 s: its own call to the task gives up 2 s before.
RELAY_TIMEOUT_SECONDS = 29
UPSTREAM_TIMEOUT_SECONDS = 27


def authorizer_function(t: Template, deployment: str, spec: CommonSpec, secret: secretsmanager.Secret,
                        tokens_table: Value | None = None,
                        wake: awslambda.Function | None = None) -> awslambda.Function:
    """tokens_table (auth.mode tokens): the authorizer reads token rows (GetItem only). In both modes it reads the
    server's key (to check it in mode api-key, and to sign relay tickets). wake (spec.onDemand): the function it
    invokes, asynchronously, for each connection it admits."""
    log_group = lambdas.log_group(t, naming.AUTHORIZER_LOGS,
                                  naming.websocket_log_group_name(deployment, "authorizer"), spec.logs)
    credentials = {"SECRET_ARN": Ref(secret)}
    statements = [policies.allow(["secretsmanager:GetSecretValue"], Ref(secret))]
    if tokens_table is not None:
        credentials["TOKENS_TABLE"] = tokens_table
        statements.append(policies.allow(["dynamodb:GetItem"], GetAtt(naming.TOKENS_TABLE, "Arn")))
    if wake is not None:
        credentials["WAKE_FUNCTION"] = Ref(wake)
        statements.append(on_demand.wake_access(wake))
    return lambdas.function(t, lambdas.InlineFunction(
        naming.AUTHORIZER_FUNCTION, "websocket/authorizer.py", "Checks the token and source address on $connect",
        environment={"AUTH_MODE": spec.auth.mode, "ALLOWED_CIDRS": ",".join(spec.auth.allowed_cidrs), **credentials},
        timeout_seconds=5, memory_mb=128,
    ), role=lambdas.role(t, naming.AUTHORIZER_ROLE, log_group, statements), log_group=log_group)


def relay_function(t: Template, deployment: str, spec: CommonSpec, *, table: dynamodb.Table, network: Network, security_group: ec2.SecurityGroup,
                   task_host: str) -> awslambda.Function:
    log_group = lambdas.log_group(t, naming.RELAY_LOGS, naming.websocket_log_group_name(deployment, "relay"),
                                  spec.logs)
    role = lambdas.role(t, naming.RELAY_ROLE, log_group, [relay_access(table), lambdas.vpc_access()])
    return lambdas.function(t, lambdas.InlineFunction(
        naming.RELAY_FUNCTION, "websocket/relay.py", "Forwards WebSocket messages to the MCP server tasks",
        environment={"CONNECTIONS_TABLE": Ref(table), "TASK_HOST": task_host, "TASK_PORT": str(server.PORT),
                     "UPSTREAM_TIMEOUT": str(UPSTREAM_TIMEOUT_SECONDS),
                     "SCHEDULE_NOTE": schedule_note(spec.schedule, on_demand=spec.on_demand is not None),
                     **({"ON_DEMAND": "true"} if spec.on_demand is not None else {})},
        timeout_seconds=RELAY_TIMEOUT_SECONDS,
    ), role=role, log_group=log_group,
        network=lambdas.Network(subnets=network.subnets, security_group=security_group))


def security_group(t: Template, network: Network, tasks: ec2.SecurityGroup) -> ec2.SecurityGroup:
    """The relay may open connections to the tasks' port and to DynamoDB; the tasks admit only the relay."""
    group = t.add_resource(ec2.SecurityGroup(
        naming.RELAY_SECURITY_GROUP,
        GroupDescription="WebSocket relay function",
        VpcId=Ref(network.vpc),
        SecurityGroupEgress=[
            to_tasks(tasks, "To the tasks"),
            # Without a public address the only way out of the VPC is the DynamoDB gateway endpoint.
            ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=HTTPS, ToPort=HTTPS, CidrIp="0.0.0.0/0",
                                  Description="To DynamoDB through the gateway endpoint"),
        ],
    ))
    admit_to_tasks(t, naming.TASK_INGRESS_FROM_RELAY, tasks, group, "From the WebSocket relay only")
    return group


def schedule_note(schedule: Schedule | None, on_demand: bool = False) -> str:
    """What the relay tells a client when no task runs: when the schedule brings one back (on demand: that the
    connection started one; the relay answers -32004, on which the bridge retries)."""
    if on_demand:
        return "Starting one for this connection (about a minute); the bridge retries until it answers."
    if schedule is None:
        return "The service runs around the clock, so a task should be starting; try again in a minute."
    return (f"Tasks run {','.join(schedule.days)} {schedule.active_hours} ({schedule.timezone}) and are "
            "scaled to zero outside those hours; a task takes about a minute to start once the window opens.")
