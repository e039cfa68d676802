"""spec.onDemand (websocket): the function that starts the service when a client connects and stops it when idle.

It runs server/websocket/on_demand.py from the shared server image, as the auth page's API does (the relay's
inline code is at Lambda's 4,096-character limit, and the image has boto3 and the runtime client already). The
$connect authorizer invokes it asynchronously to wake the service; an EventBridge rule (`<deployment>-idle`)
every 5 minutes to check for idleness; the function switches that rule off while nothing runs.

Least privilege: it may read and set the desired count of this deployment's service only, switch its own rule
only, and read and write the activity row of the connections table; reading the scalable target (is a schedule's
window holding the tasks up?) is the one action on "*", since DescribeScalableTargets takes no resource.
"""

from __future__ import annotations

import json

from troposphere import GetAtt, Ref, Sub, Template, awslambda, dynamodb, ecs, events

from .. import naming
from ..model import WebsocketSpec
from . import image, lambdas, policies
from .ecs import Cluster

HANDLER = "server.websocket.on_demand.handler"
TIMEOUT_SECONDS = 30
MEMORY_MB = 256
CHECK_EVERY = "rate(5 minutes)"


def on_demand(t: Template, deployment: str, spec: WebsocketSpec, *, repo_stack: str, tag, cluster: Cluster,
              service: ecs.Service, table: dynamodb.Table) -> awslambda.Function:
    """The function, its role, log group and idle-check rule; the authorizer invokes the function to wake."""
    rule_name = naming.idle_rule_name(deployment)
    rule_arn = Sub(f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{rule_name}")
    statements = [
        policies.allow(["ecs:DescribeServices", "ecs:UpdateService"], Ref(service)),
        policies.allow(["events:EnableRule", "events:DisableRule"], rule_arn),
        policies.allow(["dynamodb:GetItem", "dynamodb:PutItem"], GetAtt(table, "Arn")),
        policies.allow(["application-autoscaling:DescribeScalableTargets"], "*"),
    ]
    log_group = lambdas.log_group(t, naming.ON_DEMAND_LOGS, naming.websocket_log_group_name(deployment, "on-demand"),
                                  spec.logs)
    environment = {"CLUSTER": Ref(cluster.cluster), "SERVICE": GetAtt(service, "Name"),
                   "MIN_COUNT": str(spec.task.min_count), "IDLE_SECONDS": str(spec.on_demand.idle_minutes * 60),
                   "IDLE_RULE": rule_name, "CONNECTIONS_TABLE": Ref(table)}
    function = lambdas.image_function(t, lambdas.ImageFunction(
        naming.ON_DEMAND_FUNCTION, HANDLER, image.uri(repo_stack, tag), spec.task.architecture, environment,
        timeout_seconds=TIMEOUT_SECONDS, memory_mb=MEMORY_MB,
        description="Starts the service when a client connects; stops it when idle",
    ), role=lambdas.role(t, naming.ON_DEMAND_ROLE, log_group, statements), log_group=log_group)
    rule = t.add_resource(events.Rule(
        naming.IDLE_CHECK_RULE, Name=rule_name, ScheduleExpression=CHECK_EVERY, State="ENABLED",
        Description=f"Stops the service after {spec.on_demand.idle_minutes} minutes without messages",
        Targets=[events.Target(Id="idle-check", Arn=GetAtt(function, "Arn"), Input=json.dumps({"check": True}))],
    ))
    t.add_resource(awslambda.Permission(
        naming.IDLE_CHECK_PERMISSION, Action="lambda:InvokeFunction", FunctionName=GetAtt(function, "Arn"),
        Principal="events.amazonaws.com", SourceArn=GetAtt(rule, "Arn")))
    return function


def wake_access(function: awslambda.Function) -> dict:
    """The authorizer's one extra permission: invoking this function."""
    return policies.allow(["lambda:InvokeFunction"], GetAtt(function, "Arn"))
