"""The `nat-instance` topology: HTTP API -> VPC link -> Fargate tasks in a private subnet, egress through a
scheduled NAT instance (an Auto Scaling group of one behind a static network interface)."""

from __future__ import annotations

from troposphere import Output, Template

from .. import naming
from ..model import Deployment, ImageRepository
from ..parts import (alerts, cloudmap, ecs, httpapi, image, nat, network, outputs, schedule, server, server_task,
                     tagging, tokens)


def build(deployment: Deployment, repo: ImageRepository) -> Template:
    name, spec = deployment.metadata.name, deployment.spec
    repo_stack = repo.metadata.name
    tags = naming.stack_tags(deployment.metadata)
    t = Template(Description=f"mcpdeploy Deployment {name}: ElevenLabs MCP server behind an HTTP API, private "
                             "Fargate tasks, scheduled NAT instance")

    tag = image.tag_parameter(t, spec.image.tag)
    net = network.public_vpc(t, az_count=1)
    egress = nat.nat_instance(t, net, spec.nat_instance, spec.schedule, tags)
    private_subnets = network.private_subnets(t, net, egress.interface)
    task_sg = network.task_security_group(t, net)
    discovery = cloudmap.discovery_service(t, net, name)
    front = httpapi.http_api(t, name, net, private_subnets, task_sg, discovery, spec.nat_instance,
                             spec.auth.allowed_cidrs, spec.logs)

    store = tokens.token_store(t, spec.auth, server_issues=spec.auth.auth_page is not None)
    run = server_task.server_task(
        t, name, spec, repo_stack=repo_stack, tag=tag,
        # API Gateway sets the Host header of private integrations itself, so the server cannot check it; the
        # API key protects the endpoint. The allow-list is the authorizer's: see parts/httpapi.py.
        environment=server.environment(spec, allowed_hosts="*", trusted_proxy_cidrs=net.cidr,
                                       server_checks_cidrs=False, tokens_table=store.table_name,
                                       public_url=httpapi.endpoint(""), deployment_name=name,
                                       client_ip_header=httpapi.CLIENT_IP_HEADER),
        task_role_statements=store.task_role_statements, health_check=True,
        signup_code=server_task.signup_code(t, name, spec))
    service = ecs.service(
        t, run.cluster, run.task, spot=spec.task.spot, subnets=private_subnets, security_group=task_sg, public_ip=False,
        service_registries=[cloudmap.service_registry(discovery)],
        # Tasks pull their image through the NAT: its route must exist and the NAT must work (it signals).
        depends_on=[naming.PRIVATE_ROUTE, naming.private_subnet_route_association(0), naming.NAT_GROUP])
    schedule.scaling(t, spec.task, spec.schedule, run.cluster, service)

    topic = alerts.email_topic(t, spec.alerts)
    alerts.alarms(t, httpapi.health_alarms(front), topic)
    alerts.budget(t, spec.alerts)

    t.add_output([
        Output("EndpointUrl", Value=httpapi.endpoint(server.MCP_PATH), Description="MCP endpoint (streamable HTTP)."),
        Output("HealthUrl", Value=httpapi.endpoint(server.HEALTH_PATH)),
        Output("NatAutoScalingGroupName", Value=egress.group.ref(),
               Description="The NAT instance's group (one instance during active hours)."),
    ])
    if spec.auth.auth_page is not None:
        t.add_output(server_task.auth_page_output(httpapi.endpoint(server.AUTH_PAGE_PATH)))
    outputs.operations(t, run.cluster, service, run.secret, run.log_group)
    tagging.tag_everything(t, tags)
    return t
