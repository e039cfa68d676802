"""Cloud Map: the registry the ECS service writes its tasks into and the HTTP API's VPC link reads from.

The HTTP API needs an address and a port for each task, so the service has SRV records (ECS then registers
AWS_INSTANCE_IPV4 and AWS_INSTANCE_PORT). A private DNS namespace is a Route 53 private hosted zone.
"""

from __future__ import annotations

from troposphere import Ref, Sub, Template, ecs
from troposphere import servicediscovery as sd

from .. import naming
from . import server
from .network import Network

SERVICE_NAME = "mcp"
RECORD_TTL_SECONDS = 10  # tasks come and go with the schedule; stale answers should not outlive them long


def discovery_service(t: Template, network: Network, deployment: str, *, record_type: str = "SRV",
                      reader: str = "the HTTP API") -> sd.Service:
    """record_type "A" (addresses only) suits a reader that knows the port, such as the websocket relay."""
    namespace = t.add_resource(sd.PrivateDnsNamespace(
        naming.SERVICE_NAMESPACE, Name=naming.service_namespace_name(deployment), Vpc=Ref(network.vpc),
        Description=f"Where the MCP server tasks register for {reader}"))
    return t.add_resource(sd.Service(
        naming.DISCOVERY_SERVICE,
        Name=SERVICE_NAME,
        Description="MCP server tasks (address and port)" if record_type == "SRV" else "MCP server tasks (addresses)",
        DnsConfig=sd.DnsConfig(
            NamespaceId=Ref(namespace), RoutingPolicy="MULTIVALUE",
            DnsRecords=[sd.DnsRecord(Type=record_type, TTL=RECORD_TTL_SECONDS)]),
        # ECS reports task health (its container health check) to Cloud Map.
        HealthCheckCustomConfig=sd.HealthCheckCustomConfig(FailureThreshold=1),
    ))


def service_arn(service: sd.Service) -> Sub:
    # Built from the Ref (the service ID) rather than GetAtt Arn: the same value, and local stand-ins that do not
    # implement Cloud Map (moto) can still deploy the stack.
    return Sub("arn:${AWS::Partition}:servicediscovery:${AWS::Region}:${AWS::AccountId}:service/${Service}",
               Service=Ref(service))


def service_registry(service: sd.Service, with_port: bool = True) -> ecs.ServiceRegistry:
    """with_port=False for A records: the task's address is all they hold."""
    if not with_port:
        return ecs.ServiceRegistry(RegistryArn=service_arn(service))
    return ecs.ServiceRegistry(RegistryArn=service_arn(service), ContainerName=server.CONTAINER_NAME,
                               ContainerPort=server.PORT)


def host_name(deployment: str) -> str:
    """The DNS name under which the tasks' A records are found inside the VPC."""
    return f"{SERVICE_NAME}.{naming.service_namespace_name(deployment)}"
