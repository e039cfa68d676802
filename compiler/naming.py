"""Names the generated templates promise to keep: logical IDs, export names, resource names and tags.

A logical ID is part of a deployed stack's identity: renaming one makes CloudFormation replace the
resource on the next update. So they live here, as constants, and nowhere else.
"""

from __future__ import annotations

from .model import Metadata

# --- logical IDs ---------------------------------------------------------------------------------------------
IMAGE_TAG = "ImageTag"  # the one parameter of a Deployment stack

REPOSITORY = "Repository"

VPC = "Vpc"
VPC_IPV6_BLOCK = "VpcIpv6CidrBlock"
INTERNET_GATEWAY = "InternetGateway"
GATEWAY_ATTACHMENT = "InternetGatewayAttachment"
PUBLIC_ROUTE_TABLE = "PublicRouteTable"
PUBLIC_ROUTE = "PublicDefaultRoute"
PUBLIC_ROUTE_IPV6 = "PublicDefaultRouteIpv6"
TASK_SECURITY_GROUP = "TaskSecurityGroup"

CLUSTER = "Cluster"
CLUSTER_CAPACITY_PROVIDERS = "ClusterCapacityProviders"
TASK_DEFINITION = "TaskDefinition"
SERVICE = "Service"
LOG_GROUP = "LogGroup"
SERVER_SECRET = "ServerSecret"
EXECUTION_ROLE = "ExecutionRole"
TASK_ROLE = "TaskRole"

SCALABLE_TARGET = "ScalableTarget"
CPU_SCALING_POLICY = "CpuScalingPolicy"

ALERT_TOPIC = "AlertTopic"
ALERT_SUBSCRIPTION = "AlertEmailSubscription"
BUDGET = "MonthlyBudget"

LOAD_BALANCER = "LoadBalancer"
LOAD_BALANCER_DNS_OUTPUT = "LoadBalancerDnsName"  # docs.py's DNS step reads these two outputs
LOAD_BALANCER_ZONE_OUTPUT = "LoadBalancerHostedZoneId"
LOAD_BALANCER_SECURITY_GROUP = "LoadBalancerSecurityGroup"
TASK_INGRESS_FROM_LOAD_BALANCER = "TaskIngressFromLoadBalancer"
TARGET_GROUP = "TargetGroup"
HTTPS_LISTENER = "HttpsListener"
HTTP_LISTENER = "HttpListener"
TARGET_5XX_ALARM = "Target5xxAlarm"
UNHEALTHY_TARGETS_ALARM = "UnhealthyTargetsAlarm"

PRIVATE_ROUTE_TABLE = "PrivateRouteTable"
PRIVATE_ROUTE = "PrivateDefaultRouteToNat"
NAT_SECURITY_GROUP = "NatSecurityGroup"
NAT_NETWORK_INTERFACE = "NatNetworkInterface"
NAT_ROLE = "NatInstanceRole"
NAT_INSTANCE_PROFILE = "NatInstanceProfile"
NAT_LAUNCH_TEMPLATE = "NatLaunchTemplate"
NAT_GROUP = "NatAutoScalingGroup"
NAT_SCALE_OUT = "NatScaleOutBeforeWindow"
NAT_SCALE_IN = "NatScaleInAfterWindow"

SERVICE_NAMESPACE = "ServiceNamespace"
DISCOVERY_SERVICE = "DiscoveryService"
HTTP_API = "HttpApi"
HTTP_API_STAGE = "HttpApiStage"
HTTP_API_ROUTE = "HttpApiDefaultRoute"
HTTP_API_INTEGRATION = "HttpApiIntegration"
HTTP_API_ACCESS_LOGS = "HttpApiAccessLogGroup"
VPC_LINK = "VpcLink"
VPC_LINK_SECURITY_GROUP = "VpcLinkSecurityGroup"
TASK_INGRESS_FROM_VPC_LINK = "TaskIngressFromVpcLink"
CIDR_AUTHORIZER = "CidrAuthorizer"
CIDR_AUTHORIZER_FUNCTION = "CidrAuthorizerFunction"
CIDR_AUTHORIZER_ROLE = "CidrAuthorizerRole"
CIDR_AUTHORIZER_LOGS = "CidrAuthorizerLogGroup"
CIDR_AUTHORIZER_PERMISSION = "CidrAuthorizerInvokePermission"
HTTP_API_5XX_ALARM = "HttpApi5xxAlarm"

WEBSOCKET_API = "WebSocketApi"
WEBSOCKET_STAGE = "WebSocketStage"
WEBSOCKET_AUTHORIZER = "WebSocketAuthorizer"
RELAY_INTEGRATION = "RelayIntegration"
CONNECT_ROUTE = "ConnectRoute"
DISCONNECT_ROUTE = "DisconnectRoute"
DEFAULT_ROUTE = "DefaultRoute"
DEFAULT_ROUTE_RESPONSE = "DefaultRouteResponse"
API_GATEWAY_ACCOUNT = "ApiGatewayAccount"
API_GATEWAY_LOGGING_ROLE = "ApiGatewayLoggingRole"
WEBSOCKET_ACCESS_LOGS = "WebSocketAccessLogGroup"
AUTHORIZER_FUNCTION = "AuthorizerFunction"
AUTHORIZER_ROLE = "AuthorizerRole"
AUTHORIZER_LOGS = "AuthorizerLogGroup"
AUTHORIZER_PERMISSION = "AuthorizerInvokePermission"
RELAY_FUNCTION = "RelayFunction"
RELAY_ROLE = "RelayRole"
RELAY_LOGS = "RelayLogGroup"
RELAY_PERMISSION = "RelayInvokePermission"
RELAY_SECURITY_GROUP = "RelaySecurityGroup"
TASK_INGRESS_FROM_RELAY = "TaskIngressFromRelay"
RELAY_ERRORS_ALARM = "RelayErrorsAlarm"
ON_DEMAND_FUNCTION = "OnDemandFunction"  # spec.onDemand: wakes the service and stops it when idle
ON_DEMAND_ROLE = "OnDemandRole"
ON_DEMAND_LOGS = "OnDemandLogGroup"
IDLE_CHECK_RULE = "IdleCheckRule"
IDLE_CHECK_PERMISSION = "IdleCheckInvokePermission"
CONNECTIONS_TABLE = "ConnectionsTable"
TOKENS_TABLE = "TokensTable"
DYNAMODB_ENDPOINT = "DynamoDbGatewayEndpoint"
OUTPUT_BUCKET = "OutputBucket"
OUTPUT_BUCKET_POLICY = "OutputBucketPolicy"
OUTPUT_BUCKET_EMPTIER = "OutputBucketEmptier"  # Custom::EmptyBucket, and the prefix of its function's resources
SIGNUP_CODE_SECRET = "SignupCodeSecret"  # the auth page's sign-up code (auth.authPage.signupCode)


def public_subnet(index: int) -> str:
    return f"PublicSubnet{index + 1}"


def public_subnet_route_association(index: int) -> str:
    return f"PublicSubnet{index + 1}RouteTableAssociation"


def private_subnet(index: int) -> str:
    return f"PrivateSubnet{index + 1}"


def private_subnet_route_association(index: int) -> str:
    return f"PrivateSubnet{index + 1}RouteTableAssociation"


# --- exports of the ImageRepository stack (imported by Deployment stacks in the same region) ----------------

def repository_uri_export(repository_stack: str) -> str:
    return f"{repository_stack}-RepositoryUri"


def repository_arn_export(repository_stack: str) -> str:
    return f"{repository_stack}-RepositoryArn"


# --- physical names ------------------------------------------------------------------------------------------
# Only where a person looks for them; everything else is named by CloudFormation (replaceable, no clashes).

def log_group_name(deployment: str) -> str:
    return f"/mcpdeploy/{deployment}"


def service_namespace_name(deployment: str) -> str:
    """The Cloud Map private DNS namespace (a Route 53 private hosted zone inside the VPC)."""
    return f"{deployment}.mcpdeploy.internal"


def access_log_group_name(deployment: str) -> str:
    return f"/mcpdeploy/{deployment}/http-api"


def authorizer_log_group_name(deployment: str) -> str:
    return f"/mcpdeploy/{deployment}/cidr-authorizer"


def websocket_log_group_name(deployment: str, part: str) -> str:
    """Log groups of the websocket front door: `access` (API Gateway), `relay`, `authorizer`, `on-demand`."""
    return f"/mcpdeploy/{deployment}/{part}"


def idle_rule_name(deployment: str) -> str:
    """The EventBridge rule of an on-demand deployment's idle check (64 characters at most: checks.py)."""
    return f"{deployment}-idle"


# --- tags ----------------------------------------------------------------------------------------------------
DEPLOYMENT_TAG = "mcpdeploy:deployment"


def stack_tags(metadata: Metadata) -> dict[str, str]:
    """The labels of a document plus the tag naming its stack, sorted for a stable template.

    Label keys cannot contain ':' (see model.Metadata), so a label never overrides the mcpdeploy tag.
    """
    tags = {**metadata.labels, DEPLOYMENT_TAG: metadata.name}
    return dict(sorted(tags.items()))
