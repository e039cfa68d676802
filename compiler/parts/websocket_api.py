"""The `websocket` front door: an API Gateway WebSocket API whose routes all go to the relay function.

`$connect` runs the REQUEST authorizer first (token in the query string), `$disconnect` lets the relay forget
the connection, `$default` carries every JSON-RPC message; its route response sends the relay's return value
back to the client, so the relay (in a VPC without NAT) never has to call the @connections API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from troposphere import GetAtt, Ref, Sub, Template, apigateway, apigatewayv2, awslambda, iam, logs

from .. import naming
from ..model import WebsocketOptions
from . import policies
from .alerts import AlarmSpec
from .lambdas import invocations_uri

STAGE = "mcp"
TOKEN_SOURCE = "route.request.querystring.token"
INTEGRATION_TIMEOUT_MS = 29000  # the WebSocket API maximum
ROUTES = {"$connect": naming.CONNECT_ROUTE, "$disconnect": naming.DISCONNECT_ROUTE,
          "$default": naming.DEFAULT_ROUTE}
# One JSON object per event; no query string (it holds the token) and no message bodies.
ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId", "connectionId": "$context.connectionId", "ip": "$context.identity.sourceIp",
    "time": "$context.requestTime", "eventType": "$context.eventType", "routeKey": "$context.routeKey",
    "status": "$context.status", "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage", "authorizerError": "$context.authorizer.error",
    "principal": "$context.authorizer.principalId",
}, separators=(",", ":"))
LOGGING_POLICY = "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"


@dataclass(frozen=True)
class FrontDoor:
    api: apigatewayv2.Api
    stage: apigatewayv2.Stage


def websocket_api(t: Template, deployment: str, *, authorizer: awslambda.Function, relay: awslambda.Function,
                  options: WebsocketOptions, access_logs: logs.LogGroup) -> FrontDoor:
    api = t.add_resource(apigatewayv2.Api(
        naming.WEBSOCKET_API, Name=deployment, ProtocolType="WEBSOCKET",
        # Messages are JSON-RPC objects without an "action": all of them take the $default route.
        RouteSelectionExpression="$request.body.action", Description="MCP server (JSON-RPC over WebSocket)"))
    integration = t.add_resource(apigatewayv2.Integration(
        naming.RELAY_INTEGRATION, ApiId=Ref(api), IntegrationType="AWS_PROXY", IntegrationUri=invocations_uri(relay),
        TimeoutInMillis=INTEGRATION_TIMEOUT_MS))
    token_check = t.add_resource(apigatewayv2.Authorizer(
        naming.WEBSOCKET_AUTHORIZER, ApiId=Ref(api), Name="token", AuthorizerType="REQUEST",
        IdentitySource=[TOKEN_SOURCE], AuthorizerUri=invocations_uri(authorizer)))
    routes = [t.add_resource(_route(key, api, integration, token_check)) for key in ROUTES]
    t.add_resource(apigatewayv2.RouteResponse(
        naming.DEFAULT_ROUTE_RESPONSE, ApiId=Ref(api), RouteId=Ref(routes[-1]), RouteResponseKey="$default"))
    _allow_invocation(t, naming.AUTHORIZER_PERMISSION, authorizer, api)
    _allow_invocation(t, naming.RELAY_PERMISSION, relay, api)
    # Access logs need the region's API Gateway account setting (logging_account), which the ImageRepository
    # stack holds: one per region, deployed before this stack.
    stage = t.add_resource(apigatewayv2.Stage(
        naming.WEBSOCKET_STAGE, ApiId=Ref(api), StageName=STAGE, AutoDeploy=True,
        Description="Throttled; one access log line per connect, message and disconnect",
        DefaultRouteSettings=apigatewayv2.RouteSettings(
            ThrottlingRateLimit=float(options.throttle_rate_per_second), ThrottlingBurstLimit=options.throttle_burst),
        AccessLogSettings=apigatewayv2.AccessLogSettings(
            DestinationArn=GetAtt(access_logs, "Arn"), Format=ACCESS_LOG_FORMAT),
        DependsOn=[route.title for route in routes]))
    return FrontDoor(api=api, stage=stage)


def endpoint() -> Sub:
    """The wss:// URL of the stage (the API's ApiEndpoint attribute plus the stage)."""
    return Sub(f"wss://${{{naming.WEBSOCKET_API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{STAGE}")


def _route(key: str, api: apigatewayv2.Api, integration: apigatewayv2.Integration,
           authorizer: apigatewayv2.Authorizer) -> apigatewayv2.Route:
    route = apigatewayv2.Route(ROUTES[key], ApiId=Ref(api), RouteKey=key,
                               Target=Sub("integrations/${Integration}", Integration=Ref(integration)))
    if key == "$connect":  # WebSocket APIs authorize only the connection; messages ride on it
        route.AuthorizationType = "CUSTOM"
        route.AuthorizerId = Ref(authorizer)
    if key == "$default":
        route.RouteResponseSelectionExpression = "$default"
    return route


def _allow_invocation(t: Template, logical_id: str, function: awslambda.Function, api: apigatewayv2.Api) -> None:
    t.add_resource(awslambda.Permission(
        logical_id, Action="lambda:InvokeFunction", FunctionName=GetAtt(function, "Arn"),
        Principal="apigateway.amazonaws.com",
        SourceArn=Sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*", Api=Ref(api))))


def logging_account(t: Template) -> apigateway.Account:
    """WebSocket (and REST) APIs write access logs only once the region's API Gateway account settings name a
    role for CloudWatch Logs. This sets it. The setting is a region-wide singleton: every stack holding an
    AWS::ApiGateway::Account overwrites it, so exactly one stack per region should (the ImageRepository's, see
    topologies/image_repository.py). Both are retained on stack deletion: other APIs may log through it."""
    role = t.add_resource(iam.Role(
        naming.API_GATEWAY_LOGGING_ROLE,
        AssumeRolePolicyDocument=policies.service_trust("apigateway.amazonaws.com"),
        ManagedPolicyArns=[Sub(LOGGING_POLICY)],
        DeletionPolicy="Retain", UpdateReplacePolicy="Retain"))
    return t.add_resource(apigateway.Account(
        naming.API_GATEWAY_ACCOUNT, CloudWatchRoleArn=GetAtt(role, "Arn"),
        DeletionPolicy="Retain", UpdateReplacePolicy="Retain"))


def health_alarms(relay: awslambda.Function) -> list[AlarmSpec]:
    """The relay failing (an exception, not a JSON-RPC error it returns on purpose), from free metrics."""
    return [AlarmSpec(naming.RELAY_ERRORS_ALARM, "The relay function failed 5 or more times in 5 minutes",
                      "AWS/Lambda", "Errors", {"FunctionName": Ref(relay)}, "Sum", 300, 1, 5)]
