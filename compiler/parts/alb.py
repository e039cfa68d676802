"""The `alb` front door: an internet-facing Application Load Balancer in front of the tasks.

HTTPS with a certificate (HTTP redirected), or plain HTTP when the file opts in. Its security group admits
spec.auth.allowedCidrs (everyone when empty, over IPv4 and IPv6) and may only talk to the tasks, which admit
only it. It is dual-stack exactly when the allow-list admits IPv6 clients.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from troposphere import GetAtt, Ref, Template, ec2, ecs
from troposphere import elasticloadbalancingv2 as elb

from .. import naming
from ..model import AlbOptions
from . import server
from .alerts import AlarmSpec
from .network import Network, admit_to_tasks, to_tasks

HTTPS, HTTP = 443, 80
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
EVERYONE = ("0.0.0.0/0", "::/0")


@dataclass(frozen=True)
class FrontDoor:
    load_balancer: elb.LoadBalancer
    target_group: elb.TargetGroup
    listeners: list[elb.Listener]
    scheme: str  # of the URLs clients use: "https" or "http"


def admits_ipv6(allowed_cidrs: list[str]) -> bool:
    """Dual-stack only when IPv6 clients are admitted: with an IPv4-only allow-list, an AAAA record would send
    dual-stack clients to an address that drops them (some wait for a timeout before trying IPv4)."""
    sources = allowed_cidrs or EVERYONE
    return any(ipaddress.ip_network(source).version == 6 for source in sources)


def load_balancer(t: Template, network: Network, options: AlbOptions, allowed_cidrs: list[str],
                  task_security_group: ec2.SecurityGroup, deregistration_seconds: int) -> FrontDoor:
    """When `admits_ipv6(allowed_cidrs)`, the network must have IPv6 subnets (see network.public_vpc)."""
    https = options.certificate_arn is not None
    ports = {HTTPS: "HTTPS", HTTP: "HTTP redirected to HTTPS"} if https else {HTTP: "plain HTTP"}
    security_group = _security_group(t, network, ports, allowed_cidrs or list(EVERYONE), task_security_group)
    balancer = t.add_resource(elb.LoadBalancer(
        naming.LOAD_BALANCER,
        Type="application",
        Scheme="internet-facing",
        IpAddressType="dualstack" if admits_ipv6(allowed_cidrs) else "ipv4",
        Subnets=[Ref(subnet) for subnet in network.subnets],
        SecurityGroups=[GetAtt(security_group, "GroupId")],
        # An internet-facing load balancer fails to create ("VPC ... has no internet gateway") until the gateway
        # is attached; CloudFormation's DependsOn documentation names this case.
        DependsOn=list(network.internet_path),
        LoadBalancerAttributes=_attributes({
            "idle_timeout.timeout_seconds": options.idle_timeout_seconds,
            "routing.http.drop_invalid_header_fields.enabled": "true",
            "deletion_protection.enabled": "false",
        }, elb.LoadBalancerAttributes),
    ))
    targets = _target_group(t, network, deregistration_seconds)
    listeners = _https_listeners(t, balancer, targets, options.certificate_arn) if https else [
        _listener(t, naming.HTTP_LISTENER, balancer, HTTP, _forward(targets))]
    return FrontDoor(balancer, targets, listeners, "https" if https else "http")


def service_target(front: FrontDoor) -> ecs.LoadBalancer:
    """How the ECS service registers its tasks with the target group."""
    return ecs.LoadBalancer(ContainerName=server.CONTAINER_NAME, ContainerPort=server.PORT,
                            TargetGroupArn=Ref(front.target_group))


def _security_group(t: Template, network: Network, ports: dict[int, str], sources: list[str],
                    tasks: ec2.SecurityGroup) -> ec2.SecurityGroup:
    group = t.add_resource(ec2.SecurityGroup(
        naming.LOAD_BALANCER_SECURITY_GROUP,
        GroupDescription="MCP server load balancer",
        VpcId=Ref(network.vpc),
        SecurityGroupIngress=[_ingress(port, purpose, source) for port, purpose in ports.items() for source in sources],
        SecurityGroupEgress=[to_tasks(tasks, "To the MCP server tasks")],
    ))
    admit_to_tasks(t, naming.TASK_INGRESS_FROM_LOAD_BALANCER, tasks, group, "From the load balancer only")
    return group


def _ingress(port: int, purpose: str, source: str) -> ec2.SecurityGroupRule:
    rule = ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=port, ToPort=port, Description=f"{purpose} from {source}")
    if ipaddress.ip_network(source).version == 6:
        rule.CidrIpv6 = source
    else:
        rule.CidrIp = source
    return rule


def _target_group(t: Template, network: Network, deregistration_seconds: int) -> elb.TargetGroup:
    return t.add_resource(elb.TargetGroup(
        naming.TARGET_GROUP,
        TargetType="ip",
        Protocol="HTTP",
        Port=server.PORT,
        VpcId=Ref(network.vpc),
        HealthCheckProtocol="HTTP",
        HealthCheckPath=server.HEALTH_PATH,
        Matcher=elb.Matcher(HttpCode="200"),
        HealthCheckIntervalSeconds=15,
        HealthCheckTimeoutSeconds=5,
        HealthyThresholdCount=2,
        UnhealthyThresholdCount=3,
        # ECS waits this long after deregistering a task before stopping it: in-flight calls finish first.
        TargetGroupAttributes=_attributes(
            {"deregistration_delay.timeout_seconds": deregistration_seconds}, elb.TargetGroupAttribute),
    ))


def _https_listeners(t: Template, balancer: elb.LoadBalancer, targets: elb.TargetGroup,
                     certificate_arn: str) -> list[elb.Listener]:
    https = _listener(t, naming.HTTPS_LISTENER, balancer, HTTPS, _forward(targets),
                      Certificates=[elb.Certificate(CertificateArn=certificate_arn)], SslPolicy=TLS_POLICY)
    redirect = elb.Action(Type="redirect", RedirectConfig=elb.RedirectConfig(
        Protocol="HTTPS", Port=str(HTTPS), StatusCode="HTTP_301"))
    return [https, _listener(t, naming.HTTP_LISTENER, balancer, HTTP, redirect)]


def _listener(t: Template, logical_id: str, balancer: elb.LoadBalancer, port: int, action: elb.Action,
              **tls) -> elb.Listener:
    return t.add_resource(elb.Listener(
        logical_id, LoadBalancerArn=Ref(balancer), Port=port, Protocol="HTTPS" if port == HTTPS else "HTTP",
        DefaultActions=[action], **tls))


def _forward(targets: elb.TargetGroup) -> elb.Action:
    return elb.Action(Type="forward", TargetGroupArn=Ref(targets))


def _attributes(values: dict[str, object], kind: type) -> list:
    return [kind(Key=key, Value=str(value)) for key, value in values.items()]


def health_alarms(front: FrontDoor) -> list[AlarmSpec]:
    """Server errors and failing health checks, from the load balancer's own (free) metrics."""
    dimensions = {"LoadBalancer": GetAtt(front.load_balancer, "LoadBalancerFullName"),
                  "TargetGroup": GetAtt(front.target_group, "TargetGroupFullName")}
    return [
        AlarmSpec(naming.TARGET_5XX_ALARM, "The MCP server answered 5 or more 5xx responses in 5 minutes",
                  "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", dimensions, "Sum", 300, 1, 5),
        AlarmSpec(naming.UNHEALTHY_TARGETS_ALARM, "An MCP server task failed its health check for 3 minutes",
                  "AWS/ApplicationELB", "UnHealthyHostCount", dimensions, "Maximum", 60, 3, 1),
    ]
