"""The `nat-instance` front door: an API Gateway HTTP API with a VPC link to the tasks' Cloud Map service.

HTTPS comes with the execute-api endpoint (no certificate, no load balancer). The stage throttles, writes
JSON access logs, and, when spec.auth.allowedCidrs is set, a Lambda authorizer admits only those source
addresses, judged on the address API Gateway saw (not on a header), before any request enters the VPC.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from troposphere import GetAtt, Ref, Sub, Template, awslambda, ec2
from troposphere import apigatewayv2 as api
from troposphere import servicediscovery as sd

from .. import naming
from ..model import Logs, NatInstanceOptions
from . import cloudmap, lambdas
from .alerts import AlarmSpec
from .network import Network, admit_to_tasks, to_tasks

AUTHORIZER_CODE = Path(__file__).resolve().parent.parent / "assets" / "cidr_authorizer.py"
AUTHORIZER_RUNTIME = "python3.13"
AUTHORIZER_CACHE_SECONDS = 300  # results are cached per source address
INTEGRATION_TIMEOUT_MS = 30000  # the HTTP API maximum
# The client's address as API Gateway saw the connection, in a header of our own: parameter mapping may not touch
# X-Forwarded-For or Forwarded (reserved), and what the HTTP API writes there for private integrations is not
# documented precisely enough to build on. `overwrite` replaces whatever a client sent under this name.
CLIENT_IP_HEADER = "x-mcp-client-ip"
# One JSON object per request; no header values, so no key can end up in the log.
ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId", "ip": "$context.identity.sourceIp", "time": "$context.requestTime",
    "method": "$context.httpMethod", "path": "$context.path", "status": "$context.status",
    "protocol": "$context.protocol", "responseLength": "$context.responseLength",
    "integrationStatus": "$context.integrationStatus", "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage", "authorizerError": "$context.authorizer.error",
}, separators=(",", ":"))


@dataclass(frozen=True)
class FrontDoor:
    api: api.Api
    stage: api.Stage


def http_api(t: Template, deployment: str, network: Network, subnets: list[ec2.Subnet],
             task_security_group: ec2.SecurityGroup, discovery: sd.Service, options: NatInstanceOptions,
             allowed_cidrs: list[str], log_settings: Logs) -> FrontDoor:
    link = _vpc_link(t, network, subnets, task_security_group)
    api_ = t.add_resource(api.Api(naming.HTTP_API, Name=deployment, ProtocolType="HTTP",
                                  Description="MCP server (streamable HTTP at /mcp)"))
    integration = t.add_resource(api.Integration(
        naming.HTTP_API_INTEGRATION, ApiId=Ref(api_), IntegrationType="HTTP_PROXY", ConnectionType="VPC_LINK",
        ConnectionId=Ref(link), IntegrationMethod="ANY", IntegrationUri=cloudmap.service_arn(discovery),
        PayloadFormatVersion="1.0", TimeoutInMillis=INTEGRATION_TIMEOUT_MS,
        RequestParameters={f"overwrite:header.{CLIENT_IP_HEADER}": "$context.identity.sourceIp"}))
    route = api.Route(naming.HTTP_API_ROUTE, ApiId=Ref(api_), RouteKey="$default",
                      Target=Sub("integrations/${Integration}", Integration=Ref(integration)))
    if allowed_cidrs:
        route.AuthorizationType = "CUSTOM"
        route.AuthorizerId = Ref(_cidr_authorizer(t, deployment, api_, allowed_cidrs, log_settings))
    t.add_resource(route)
    access_logs = lambdas.log_group(t, naming.HTTP_API_ACCESS_LOGS, naming.access_log_group_name(deployment),
                                    log_settings)
    stage = t.add_resource(api.Stage(
        naming.HTTP_API_STAGE, ApiId=Ref(api_), StageName="$default", AutoDeploy=True,
        DefaultRouteSettings=api.RouteSettings(ThrottlingRateLimit=float(options.throttle_rate_per_second),
                                               ThrottlingBurstLimit=options.throttle_burst),
        AccessLogSettings=api.AccessLogSettings(DestinationArn=GetAtt(access_logs, "Arn"),
                                                Format=ACCESS_LOG_FORMAT)))
    return FrontDoor(api=api_, stage=stage)


def endpoint(path: str) -> Sub:
    """The URL of the API's default endpoint (what its ApiEndpoint attribute holds) plus a path."""
    return Sub(f"https://${{{naming.HTTP_API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}{path}")


def _vpc_link(t: Template, network: Network, subnets: list[ec2.Subnet],
              tasks: ec2.SecurityGroup) -> api.VpcLink:
    group = t.add_resource(ec2.SecurityGroup(
        naming.VPC_LINK_SECURITY_GROUP,
        GroupDescription="HTTP API VPC link",
        VpcId=Ref(network.vpc),
        SecurityGroupEgress=[to_tasks(tasks, "To the MCP server tasks")],
    ))
    admit_to_tasks(t, naming.TASK_INGRESS_FROM_VPC_LINK, tasks, group, "From the HTTP API VPC link only")
    return t.add_resource(api.VpcLink(
        naming.VPC_LINK, Name=Sub("${AWS::StackName}"), SubnetIds=[Ref(subnet) for subnet in subnets],
        SecurityGroupIds=[GetAtt(group, "GroupId")]))


def _cidr_authorizer(t: Template, deployment: str, api_: api.Api, allowed_cidrs: list[str],
                     log_settings: Logs) -> api.Authorizer:
    log_group = lambdas.log_group(t, naming.CIDR_AUTHORIZER_LOGS, naming.authorizer_log_group_name(deployment),
                                  log_settings)
    role = lambdas.role(t, naming.CIDR_AUTHORIZER_ROLE, log_group)
    function = t.add_resource(awslambda.Function(
        naming.CIDR_AUTHORIZER_FUNCTION,
        Description="Admits only requests from spec.auth.allowedCidrs",
        Runtime=AUTHORIZER_RUNTIME, Architectures=["arm64"], Handler="index.handler", MemorySize=128, Timeout=3,
        Code=awslambda.Code(ZipFile=AUTHORIZER_CODE.read_text(encoding="utf-8")),
        Environment=awslambda.Environment(Variables={"ALLOWED_CIDRS": ",".join(allowed_cidrs)}),
        LoggingConfig=awslambda.LoggingConfig(LogGroup=Ref(log_group)),
        Role=GetAtt(role, "Arn"),
    ))
    authorizer = t.add_resource(api.Authorizer(
        naming.CIDR_AUTHORIZER, ApiId=Ref(api_), Name="source-cidrs", AuthorizerType="REQUEST",
        AuthorizerPayloadFormatVersion="2.0", EnableSimpleResponses=True,
        IdentitySource=["$context.identity.sourceIp"], AuthorizerResultTtlInSeconds=AUTHORIZER_CACHE_SECONDS,
        AuthorizerUri=lambdas.invocations_uri(function),
    ))
    t.add_resource(awslambda.Permission(
        naming.CIDR_AUTHORIZER_PERMISSION, Action="lambda:InvokeFunction", FunctionName=GetAtt(function, "Arn"),
        Principal="apigateway.amazonaws.com",
        SourceArn=Sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/authorizers/"
                      "${Authorizer}", Api=Ref(api_), Authorizer=Ref(authorizer))))
    return authorizer


def health_alarms(front: FrontDoor) -> list[AlarmSpec]:
    """Server errors seen by the front door (a task or NAT that is down shows as 503/504), from free metrics."""
    return [AlarmSpec(naming.HTTP_API_5XX_ALARM, "The HTTP API answered 5 or more 5xx responses in 5 minutes",
                      "AWS/ApiGateway", "5xx", {"ApiId": Ref(front.api)}, "Sum", 300, 1, 5)]
