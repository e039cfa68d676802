"""The `alb` topology: ALB (two AZs) -> Fargate tasks in public subnets with public IPs; no NAT gateway."""

from __future__ import annotations

from troposphere import GetAtt, Join, Output, Sub, Template

from .. import naming
from ..model import AlbOptions, Auth, Deployment, ImageRepository
from ..parts import alb, alerts, ecs, image, network, outputs, schedule, server, server_task, tagging, tokens


def build(deployment: Deployment, repo: ImageRepository) -> Template:
    name, spec = deployment.metadata.name, deployment.spec
    repo_stack = repo.metadata.name
    t = Template(Description=f"mcpdeploy Deployment {name}: ElevenLabs MCP server behind an Application Load Balancer")

    tag = image.tag_parameter(t, spec.image.tag)
    net = network.public_vpc(t, az_count=2, ipv6=alb.admits_ipv6(spec.auth.allowed_cidrs))
    task_sg = network.task_security_group(t, net)
    front = alb.load_balancer(t, net, spec.alb, spec.auth.allowed_cidrs, task_sg,
                              deregistration_seconds=spec.task.stop_timeout_seconds)

    store = tokens.token_store(t, spec.auth, server_issues=spec.auth.auth_page is not None)
    run = server_task.server_task(
        t, name, spec, repo_stack=repo_stack, tag=tag,
        environment=server.environment(spec, allowed_hosts=_allowed_hosts(front, spec.alb),
                                       trusted_proxy_cidrs=net.cidr, tokens_table=store.table_name,
                                       public_url=_public_origin(front, spec.alb.domain_name), deployment_name=name),
        task_role_statements=store.task_role_statements, signup_code=server_task.signup_code(t, name, spec))
    service = ecs.service(
        t, run.cluster, run.task, spot=spec.task.spot, subnets=net.subnets, security_group=task_sg,
        load_balancers=[alb.service_target(front)],
        depends_on=[*(listener.title for listener in front.listeners), *net.internet_path])
    schedule.scaling(t, spec.task, spec.schedule, run.cluster, service)

    topic = alerts.email_topic(t, spec.alerts)
    alerts.alarms(t, alb.health_alarms(front), topic)
    alerts.budget(t, spec.alerts)

    _endpoint_outputs(t, front, spec.alb.domain_name, spec.auth)
    outputs.operations(t, run.cluster, service, run.secret, run.log_group)
    tagging.tag_everything(t, naming.stack_tags(deployment.metadata))
    return t


def _allowed_hosts(front: alb.FrontDoor, options: AlbOptions):
    """Host headers the server accepts: the domain clients use and the ALB's own name. With a certificate but no
    domainName the domain is unknown, so the check is off ('*'): the API key, not the Host header, is what
    protects a public endpoint."""
    dns_name = GetAtt(front.load_balancer, "DNSName")
    if options.domain_name:
        return Join(",", [options.domain_name, dns_name])
    return "*" if options.certificate_arn else dns_name


def _url(front: alb.FrontDoor, domain_name: str | None, path: str = ""):
    if domain_name:
        return f"{front.scheme}://{domain_name}{path}"
    return Sub(f"{front.scheme}://${{{naming.LOAD_BALANCER}.DNSName}}{path}")


def _public_origin(front: alb.FrontDoor, domain_name: str | None):
    """The origin in the connection URLs the auth page hands out. With a certificate but no domainName the
    load balancer's name would fail the certificate check, so None: the server takes the request's Host."""
    if front.scheme == "https" and not domain_name:
        return None
    return _url(front, domain_name)


def _endpoint_outputs(t: Template, front: alb.FrontDoor, domain_name: str | None, auth: Auth) -> None:
    note = " Use the certificate's domain (a CNAME to the load balancer) in place of its name; set " \
        "spec.alb.domainName to show it here." if front.scheme == "https" and not domain_name else ""
    t.add_output([
        Output("EndpointUrl", Value=_url(front, domain_name, server.MCP_PATH),
               Description="MCP endpoint (streamable HTTP)." + note),
        Output("HealthUrl", Value=_url(front, domain_name, server.HEALTH_PATH)),
        Output(naming.LOAD_BALANCER_DNS_OUTPUT, Value=GetAtt(front.load_balancer, "DNSName"),
               Description="The load balancer's DNS name: the target of the CNAME (or Route 53 alias) record of "
               "your domain."),
        Output(naming.LOAD_BALANCER_ZONE_OUTPUT, Value=GetAtt(front.load_balancer, "CanonicalHostedZoneID"),
               Description="The load balancer's hosted zone: the HostedZoneId of a Route 53 alias record."),
    ])
    if auth.auth_page is not None:
        t.add_output(server_task.auth_page_output(_url(front, domain_name, server.AUTH_PAGE_PATH), note))
